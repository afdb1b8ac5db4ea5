/**
 * What the shell shows around the pages: the module catalog, the booked modules' menu entries
 * and their loaded front ends. `refresh()` after a booking makes a new menu entry appear.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { api, unwrap } from '@/core/api/client'
import type { components } from '@/core/api/schema'
import { useAuthStore } from '@/core/auth/store'
import { moduleRegistry } from '@/core/modules/instance'
import { bookedMenu, sharedMenu } from '@/core/modules/registry'
import { usePreferences } from '@/core/preferences'

export type CatalogModule = components['schemas']['ModuleRead']

export const useWorkspace = defineStore('workspace', () => {
  const auth = useAuthStore()
  const catalog = shallowRef<CatalogModule[]>([])
  const catalogLoaded = ref(false)
  const catalogError = ref(false)

  const menu = computed(() => bookedMenu(catalog.value, auth.bookedModules))
  /** The shared components (contacts, tasks …) open with any booking; shown in their own section. */
  const sharedEntries = computed(() => sharedMenu(catalog.value, auth.bookedModules, moduleRegistry.hasCode))
  const mountable = () => [...menu.value, ...sharedEntries.value]

  async function loadCatalog(): Promise<void> {
    try {
      catalog.value = await unwrap(api.GET('/api/modules'))
      catalogError.value = false
    } catch {
      catalogError.value = true
    }
    catalogLoaded.value = true
  }

  /** Before a page shows: catalog loaded once, module routes in step with the bookings. */
  async function ensure(): Promise<boolean> {
    if (!catalogLoaded.value) await loadCatalog()
    return moduleRegistry.sync(mountable())
  }

  /** Reload /api/me and the catalog (after booking or cancelling) and re-mount the module routes. */
  async function refresh(): Promise<boolean> {
    await Promise.all([auth.loadMe(), loadCatalog()])
    return moduleRegistry.sync(mountable())
  }

  function reset(): void {
    usePreferences().reset()
    catalog.value = []
    catalogLoaded.value = false
    void moduleRegistry.sync([])
  }

  return { catalog, catalogLoaded, catalogError, menu, sharedEntries, ensure, refresh, reset, registry: moduleRegistry }
})

/**
 * The app's module registry: the globs of src/modules/* and src/shared/* (shared components have
 * the same contract; slugs are unique over both), mounted below the shell route.
 */
import { moduleLoaders } from '@/modules'
import { sharedLoaders } from '@/shared'
import { i18n } from '@/core/i18n'
import { router } from '@/core/router'
import { APP_ROUTE } from '@/core/router/names'
import ModulePlaceholder from '@/core/pages/ModulePlaceholder.vue'
import { createModuleRegistry, type RouteHost } from './registry'

// Looked up at call time: the router module and this one import each other (router → shell → workspace → here).
const host: RouteHost = {
  addRoute: (parent, route) => router.addRoute(parent, route),
  removeRoute: (name) => router.removeRoute(name),
  hasRoute: (name) => router.hasRoute(name),
}

export const moduleRegistry = createModuleRegistry({ ...moduleLoaders, ...sharedLoaders }, host, {
  parent: APP_ROUTE,
  placeholder: ModulePlaceholder,
  onMessages: (slug, messages) => {
    for (const [locale, tree] of Object.entries(messages)) {
      if (tree) i18n.global.mergeLocaleMessage(locale as 'de', { mod: { [slug]: tree } } as never)
    }
  },
})

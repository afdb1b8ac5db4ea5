/**
 * Module front ends: which ones the company has booked, their menu entries, and loading their code.
 * Only booked modules are loaded (each is its own lazy chunk); cancelling one removes its routes.
 */
import { shallowReactive, type Component } from 'vue'
import type { RouteRecordRaw } from 'vue-router'
import type { DashboardWidgetDef, LocalizedText, ModuleFrontend, ModuleLoader } from './types'

/** The fields of a catalog entry (GET /api/modules) the shell needs. */
export interface CatalogModule {
  slug: string
  name: string
  icon: string
  color: string
  kind: string
  sort_order?: number
  ui?: { [key: string]: unknown } | null
}

export interface MenuEntry {
  slug: string
  name: string
  path: string
  label: LocalizedText
  icon: string
  color: string
  /** "write" or "read" (a suspended booking is read-only). */
  access: string
  /** A shared component (src/shared/<slug>), not a bookable module. */
  shared?: boolean
  /** The label came from the manifest's `ui` (otherwise the front end's `menu.label` may replace it). */
  labelFromUi?: boolean
}

export interface RouteHost {
  addRoute(parentName: string, route: RouteRecordRaw): unknown
  removeRoute(name: string): void
  hasRoute(name: string): boolean
}

function uiPath(ui: CatalogModule['ui'], slug: string): string | null {
  if (!ui) return null
  const raw = typeof ui.path === 'string' && ui.path ? ui.path : `/${slug}`
  return raw.startsWith('/') ? raw : `/${raw}`
}

function uiLabel(ui: CatalogModule['ui'], fallback: string): LocalizedText {
  const label = (ui?.label ?? {}) as Record<string, unknown>
  const de = typeof label.de === 'string' ? label.de : fallback
  const en = typeof label.en === 'string' ? label.en : de
  return { de, en }
}

/**
 * Menu entries for the booked modules that have a web interface, in catalog (manifest) order.
 * `booked` is /api/me's tenant.modules: slug → access.
 */
export function bookedMenu(catalog: readonly CatalogModule[], booked: Readonly<Record<string, string>>): MenuEntry[] {
  const out: MenuEntry[] = []
  for (const module of catalog) {
    if (module.kind === 'shared') continue // see sharedMenu
    const access = booked[module.slug]
    const path = uiPath(module.ui, module.slug)
    if (!access || !path) continue
    out.push({
      slug: module.slug,
      name: module.name,
      path,
      label: uiLabel(module.ui, module.name),
      icon: module.icon,
      color: module.color,
      access,
    })
  }
  return out
}

/**
 * The access a company has to the shared components (contacts, tasks, notes …): they open with the
 * first booked module, writable while any booking is writable (the backend's module_gate rule).
 */
export function sharedAccess(booked: Readonly<Record<string, string>>): string | null {
  const levels = Object.values(booked)
  if (levels.includes('write')) return 'write'
  return levels.length ? 'read' : null
}

/**
 * Menu entries for the shared components, in catalog (manifest) order: those with a front end in
 * this build (`hasCode(slug)`) or a `ui` entry in the manifest. Path and label come from the
 * manifest's `ui` when it has one, else `/<slug>` and the catalog name (the loaded front end's
 * `menu.label` replaces that in the sidebar).
 */
export function sharedMenu(
  catalog: readonly CatalogModule[],
  booked: Readonly<Record<string, string>>,
  hasCode: (slug: string) => boolean,
): MenuEntry[] {
  const access = sharedAccess(booked)
  if (!access) return []
  const out: MenuEntry[] = []
  for (const module of catalog) {
    if (module.kind !== 'shared' || (!module.ui && !hasCode(module.slug))) continue
    out.push({
      slug: module.slug,
      name: module.name,
      path: uiPath(module.ui ?? {}, module.slug) ?? `/${module.slug}`,
      label: uiLabel(module.ui, module.name),
      icon: module.icon,
      color: module.color,
      access,
      shared: true,
      labelFromUi: Boolean(module.ui),
    })
  }
  return out
}

/** './example/index.ts' → 'example' for the loaders of import.meta.glob. */
export function loadersBySlug(globbed: Record<string, () => Promise<unknown>>): Record<string, ModuleLoader> {
  const out: Record<string, ModuleLoader> = {}
  for (const [file, load] of Object.entries(globbed)) {
    const match = /([^/]+)\/index\.ts$/.exec(file)
    if (match) out[match[1]] = load as ModuleLoader
  }
  return out
}

export interface RegistryOptions {
  /** Name of the route the module routes go below (the shell). */
  parent: string
  /** Shown for a booked module whose web interface is not part of this build. */
  placeholder: Component
  /** Called with a loaded module's messages so they can be merged into i18n. */
  onMessages?: (slug: string, messages: NonNullable<ModuleFrontend['messages']>) => void
}

export function routeName(slug: string): string {
  return `module:${slug}`
}

export function createModuleRegistry(loaders: Record<string, ModuleLoader>, host: RouteHost, options: RegistryOptions) {
  /** slug → loaded definition (only booked modules with code). */
  const loaded = shallowReactive(new Map<string, ModuleFrontend>())
  /** slug → the path its routes are mounted at. */
  const mounted = new Map<string, string>()
  const failures = shallowReactive(new Map<string, string>())
  let queue: Promise<unknown> = Promise.resolve()

  async function mount(entry: MenuEntry): Promise<void> {
    const load = loaders[entry.slug]
    let definition: ModuleFrontend | null = null
    if (load) {
      try {
        definition = (await load()).default
        failures.delete(entry.slug)
      } catch (err) {
        failures.set(entry.slug, err instanceof Error ? err.message : String(err))
      }
    }
    const name = routeName(entry.slug)
    if (host.hasRoute(name)) host.removeRoute(name)
    if (definition) {
      if (definition.messages) options.onMessages?.(entry.slug, definition.messages)
      host.addRoute(options.parent, {
        path: entry.path,
        name,
        meta: { module: entry.slug },
        children: definition.routes,
      } as RouteRecordRaw)
      loaded.set(entry.slug, definition)
    } else {
      host.addRoute(options.parent, {
        path: `${entry.path}/:rest(.*)*`,
        name,
        meta: { module: entry.slug },
        component: options.placeholder,
        props: { slug: entry.slug },
      })
    }
    mounted.set(entry.slug, entry.path)
  }

  function unmount(slug: string): void {
    const name = routeName(slug)
    if (host.hasRoute(name)) host.removeRoute(name)
    mounted.delete(slug)
    loaded.delete(slug)
  }

  /**
   * Make the mounted modules match the menu: load and mount new ones, unmount cancelled ones.
   * Resolves true when routes changed. Calls run one after another.
   */
  function sync(entries: readonly MenuEntry[]): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      const wanted = new Map(entries.map((e) => [e.slug, e]))
      let changed = false
      for (const slug of [...mounted.keys()]) {
        const entry = wanted.get(slug)
        if (!entry || entry.path !== mounted.get(slug)) {
          unmount(slug)
          changed = true
        }
      }
      const fresh = entries.filter((e) => !mounted.has(e.slug))
      await Promise.all(fresh.map(mount))
      return changed || fresh.length > 0
    }
    const next = queue.then(run, run)
    queue = next.catch(() => undefined)
    return next
  }

  function widgets(): DashboardWidgetDef[] {
    return [...loaded.values()].flatMap((m) => m.widgets ?? [])
  }

  return {
    sync,
    widgets,
    loaded,
    failures,
    isMounted: (slug: string) => mounted.has(slug),
    hasCode: (slug: string) => slug in loaders,
  }
}

export type ModuleRegistry = ReturnType<typeof createModuleRegistry>

import { describe, expect, it, vi } from 'vitest'
import { defineComponent } from 'vue'
import type { RouteRecordRaw } from 'vue-router'
import { bookedMenu, createModuleRegistry, loadersBySlug, routeName, sharedAccess, sharedMenu, type CatalogModule, type RouteHost } from './registry'
import { defineModule, type ModuleLoader } from './types'

const Page = defineComponent({ render: () => null })
const Placeholder = defineComponent({ render: () => null })

const CATALOG: CatalogModule[] = [
  { slug: 'crm', name: 'CRM', icon: 'handshake', color: '#16a34a', kind: 'module', ui: { path: '/crm', label: { de: 'Vertrieb', en: 'Sales' } } },
  { slug: 'contacts', name: 'Contacts', icon: 'contact', color: '#0ea5e9', kind: 'shared', ui: null },
  { slug: 'example', name: 'Example', icon: 'flask-conical', color: '#0ea5e9', kind: 'module', ui: { path: '/example', label: { de: 'Beispiel', en: 'Example' } } },
  { slug: 'billing', name: 'Billing', icon: 'receipt', color: '#f59e0b', kind: 'module', ui: { path: 'billing', label: { de: 'Rechnungen' } } },
]

function fakeRouter() {
  const routes = new Map<string, RouteRecordRaw>()
  const host: RouteHost & { routes: typeof routes } = {
    routes,
    addRoute: vi.fn((_parent: string, route: RouteRecordRaw) => {
      routes.set(String(route.name), route)
    }),
    removeRoute: vi.fn((name: string) => {
      routes.delete(name)
    }),
    hasRoute: (name: string) => routes.has(name),
  }
  return host
}

function loader(slug: string): ModuleLoader & ReturnType<typeof vi.fn> {
  return vi.fn(async () => ({
    default: defineModule({
      slug,
      routes: [{ path: '', name: `${slug}.home`, component: Page }],
      widgets: [{ id: `${slug}.widget`, title: { de: slug, en: slug }, component: async () => Page }],
      messages: { de: { title: slug } },
    }),
  }))
}

describe('bookedMenu', () => {
  it('lists only booked modules with a web interface, in catalog order', () => {
    const menu = bookedMenu(CATALOG, { example: 'write', crm: 'read', contacts: 'write' })
    expect(menu.map((m) => m.slug)).toEqual(['crm', 'example'])
    expect(menu[0]).toMatchObject({ path: '/crm', label: { de: 'Vertrieb', en: 'Sales' }, access: 'read' })
  })

  it('normalises paths and fills missing labels', () => {
    const [billing] = bookedMenu(CATALOG, { billing: 'write' })
    expect(billing.path).toBe('/billing')
    expect(billing.label).toEqual({ de: 'Rechnungen', en: 'Rechnungen' })
  })

  it('is empty when nothing is booked', () => {
    expect(bookedMenu(CATALOG, {})).toEqual([])
  })
})

describe('module registry', () => {
  it('loads the code of booked modules only and mounts their routes', async () => {
    const host = fakeRouter()
    const loaders = { crm: loader('crm'), example: loader('example'), billing: loader('billing') }
    const onMessages = vi.fn()
    const registry = createModuleRegistry(loaders, host, { parent: 'app', placeholder: Placeholder, onMessages })

    const changed = await registry.sync(bookedMenu(CATALOG, { example: 'write' }))

    expect(changed).toBe(true)
    expect(loaders.example).toHaveBeenCalledOnce()
    expect(loaders.crm).not.toHaveBeenCalled()
    expect(loaders.billing).not.toHaveBeenCalled()
    expect(host.addRoute).toHaveBeenCalledWith('app', expect.objectContaining({ path: '/example', name: routeName('example') }))
    expect([...host.routes.keys()]).toEqual([routeName('example')])
    expect(registry.widgets().map((w) => w.id)).toEqual(['example.widget'])
    expect(onMessages).toHaveBeenCalledWith('example', { de: { title: 'example' } })
  })

  it('does nothing (and loads nothing again) when the bookings did not change', async () => {
    const host = fakeRouter()
    const loaders = { example: loader('example') }
    const registry = createModuleRegistry(loaders, host, { parent: 'app', placeholder: Placeholder })
    const menu = bookedMenu(CATALOG, { example: 'write' })
    await registry.sync(menu)
    expect(await registry.sync(menu)).toBe(false)
    expect(loaders.example).toHaveBeenCalledOnce()
  })

  it('mounts a newly booked module and unmounts a cancelled one', async () => {
    const host = fakeRouter()
    const loaders = { crm: loader('crm'), example: loader('example') }
    const registry = createModuleRegistry(loaders, host, { parent: 'app', placeholder: Placeholder })
    await registry.sync(bookedMenu(CATALOG, { example: 'write' }))

    await registry.sync(bookedMenu(CATALOG, { example: 'write', crm: 'write' }))
    expect(loaders.crm).toHaveBeenCalledOnce()
    expect(registry.isMounted('crm')).toBe(true)

    await registry.sync(bookedMenu(CATALOG, { crm: 'write' }))
    expect(registry.isMounted('example')).toBe(false)
    expect(host.removeRoute).toHaveBeenCalledWith(routeName('example'))
    expect(registry.widgets().map((w) => w.id)).toEqual(['crm.widget'])
  })

  it('gives a booked module without code a placeholder page', async () => {
    const host = fakeRouter()
    const registry = createModuleRegistry({}, host, { parent: 'app', placeholder: Placeholder })
    await registry.sync(bookedMenu(CATALOG, { billing: 'write' }))
    const route = host.routes.get(routeName('billing')) as RouteRecordRaw & { component: unknown; props: unknown }
    expect(route.path).toBe('/billing/:rest(.*)*')
    expect(route.component).toBe(Placeholder)
    expect(route.props).toEqual({ slug: 'billing' })
  })

  it('keeps going when one module fails to load', async () => {
    const host = fakeRouter()
    const broken = vi.fn(async () => {
      throw new Error('chunk missing')
    })
    const registry = createModuleRegistry({ crm: broken, example: loader('example') }, host, { parent: 'app', placeholder: Placeholder })
    await registry.sync(bookedMenu(CATALOG, { crm: 'write', example: 'write' }))
    expect(registry.failures.get('crm')).toBe('chunk missing')
    expect(registry.isMounted('example')).toBe(true)
    expect(host.routes.get(routeName('crm'))).toMatchObject({ component: Placeholder })
  })
})

describe('sharedMenu', () => {
  const catalog: CatalogModule[] = [
    ...CATALOG,
    { slug: 'tasks', name: 'Aufgaben', icon: 'check-square', color: '#22c55e', kind: 'shared', ui: { path: '/tasks', label: { de: 'Aufgaben', en: 'Tasks' } } },
    { slug: 'activities', name: 'Aktivitäten', icon: 'activity', color: '#64748b', kind: 'shared', ui: null },
  ]
  const hasCode = (slug: string) => slug === 'contacts'

  it('opens the shared components with the first booking, in catalog order, only those with a front end', () => {
    expect(sharedMenu(catalog, {}, hasCode)).toEqual([])
    const menu = sharedMenu(catalog, { crm: 'read', example: 'write' }, hasCode)
    expect(menu.map((m) => m.slug)).toEqual(['contacts', 'tasks'])
    expect(menu[0]).toMatchObject({ path: '/contacts', access: 'write', shared: true, labelFromUi: false })
    expect(menu[1]).toMatchObject({ path: '/tasks', label: { de: 'Aufgaben', en: 'Tasks' }, labelFromUi: true })
  })

  it('is read-only while no booking is writable', () => {
    expect(sharedAccess({ crm: 'read' })).toBe('read')
    expect(sharedMenu(catalog, { crm: 'read' }, hasCode)[0].access).toBe('read')
  })

  it('keeps shared components out of the module menu', () => {
    expect(bookedMenu(catalog, { tasks: 'write', example: 'write' }).map((m) => m.slug)).toEqual(['example'])
  })

  it('mounts shared front ends with the module registry, messages and widgets included', async () => {
    const host = fakeRouter()
    const loaders = { example: loader('example'), contacts: loader('contacts') }
    const onMessages = vi.fn()
    const registry = createModuleRegistry(loaders, host, { parent: 'app', placeholder: Placeholder, onMessages })
    const booked = { example: 'write' }
    await registry.sync([...bookedMenu(catalog, booked), ...sharedMenu(catalog, booked, (slug) => slug in loaders)])
    expect(host.addRoute).toHaveBeenCalledWith('app', expect.objectContaining({ path: '/contacts', name: routeName('contacts') }))
    expect(registry.widgets().map((w) => w.id)).toEqual(['example.widget', 'contacts.widget'])
    expect(onMessages).toHaveBeenCalledWith('contacts', { de: { title: 'contacts' } })
    // The last booking ends: the shared components close too.
    await registry.sync([...bookedMenu(catalog, {}), ...sharedMenu(catalog, {}, (slug) => slug in loaders)])
    expect(registry.isMounted('contacts')).toBe(false)
  })
})

describe('loadersBySlug', () => {
  it('names loaders after their folder', () => {
    const load = async () => ({})
    expect(Object.keys(loadersBySlug({ './crm/index.ts': load, './example/index.ts': load, './README.md': load }))).toEqual(['crm', 'example'])
  })
})

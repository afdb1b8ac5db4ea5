/** The navigation the sidebar and the command palette share, filtered by permissions. */
import { BadgeCheck, Blocks, Building2, Inbox, LayoutDashboard, Package, ScrollText, Settings, ShieldCheck, UsersRound, Users } from '@lucide/vue'
import { computed, type Component } from 'vue'
import { useI18n } from 'vue-i18n'
import { useAuthStore } from '@/core/auth/store'
import { pickLabel } from '@/core/i18n'
import { useRouter } from 'vue-router'
import { useWorkspace } from './workspace'

export interface NavItem {
  id: string
  label: string
  to: string
  icon?: Component
  moduleIcon?: { icon: string; color: string }
  readOnly?: boolean
}

export interface NavSection {
  id: string
  label: string | null
  items: NavItem[]
}

const ADMIN_ROUTES: { name: string; label: string; icon: Component }[] = [
  { name: 'admin.modules', label: 'nav.modules', icon: Blocks },
  { name: 'admin.users', label: 'nav.users', icon: Users },
  { name: 'admin.teams', label: 'nav.teams', icon: UsersRound },
  { name: 'admin.roles', label: 'nav.roles', icon: ShieldCheck },
  { name: 'admin.settings', label: 'nav.settings', icon: Settings },
  { name: 'admin.outbox', label: 'nav.outbox', icon: Inbox },
  { name: 'admin.audit', label: 'nav.audit', icon: ScrollText },
]

const CONSOLE_ROUTES: { name: string; label: string; icon: Component; roles?: string[] }[] = [
  { name: 'console.customers', label: 'nav.customers', icon: Building2 },
  { name: 'console.catalog', label: 'nav.catalog', icon: Package },
  { name: 'console.outbox', label: 'nav.outbox', icon: Inbox, roles: ['owner', 'admin'] },
  { name: 'console.license', label: 'nav.license', icon: BadgeCheck, roles: ['owner', 'admin'] },
  { name: 'console.audit', label: 'nav.platformAudit', icon: ScrollText, roles: ['owner', 'admin'] },
]

export function useNavigation() {
  const { t, locale } = useI18n()
  const auth = useAuthStore()
  const workspace = useWorkspace()
  const router = useRouter()

  return computed<NavSection[]>(() => {
    void locale.value // re-evaluate labels when the language changes
    const sections: NavSection[] = [
      { id: 'main', label: null, items: [{ id: 'dashboard', label: t('nav.dashboard'), to: '/', icon: LayoutDashboard }] },
    ]
    if (auth.isPlatform) {
      sections.push({
        id: 'console',
        label: t('nav.console'),
        items: CONSOLE_ROUTES.filter((item) => !item.roles || item.roles.includes(auth.me?.role ?? '')).map((item) => ({
          id: item.name,
          label: t(item.label),
          to: router.getRoutes().find((r) => r.name === item.name)?.path ?? '/',
          icon: item.icon,
        })),
      })
      return sections
    }
    const modules = workspace.menu.map<NavItem>((entry) => ({
      id: `module.${entry.slug}`,
      label: pickLabel(entry.label, entry.name),
      to: entry.path,
      moduleIcon: { icon: entry.icon, color: entry.color },
      readOnly: entry.access !== 'write',
    }))
    // Shared components (contacts, tasks, notes …): open with any booking, in manifest order.
    const shared = workspace.sharedEntries.map<NavItem>((entry) => ({
      id: `shared.${entry.slug}`,
      label: entry.labelFromUi
        ? pickLabel(entry.label, entry.name)
        : pickLabel(workspace.registry.loaded.get(entry.slug)?.menu?.label ?? entry.label, entry.name),
      to: entry.path,
      moduleIcon: { icon: entry.icon, color: entry.color },
      readOnly: entry.access !== 'write',
    }))
    if (shared.length) sections.push({ id: 'shared', label: t('nav.sharedSection'), items: shared })
    sections.push({ id: 'modules', label: t('nav.modulesSection'), items: modules })
    const admin: NavItem[] = []
    for (const item of ADMIN_ROUTES) {
      const route = router.getRoutes().find((r) => r.name === item.name)
      if (!route || !auth.canAny(route.meta.permissions ?? [])) continue
      admin.push({ id: item.name, label: t(item.label), to: route.path, icon: item.icon })
    }
    if (admin.length) sections.push({ id: 'admin', label: t('nav.admin'), items: admin })
    return sections
  })
}

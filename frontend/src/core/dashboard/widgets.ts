/** The dashboard's widgets: the built-in ones plus those of the loaded (booked) modules. */
import { computed } from 'vue'
import { useAuthStore } from '@/core/auth/store'
import { moduleRegistry } from '@/core/modules/instance'
import type { DashboardWidgetDef } from '@/core/modules/types'

export const BUILTIN_WIDGETS: DashboardWidgetDef[] = [
  {
    id: 'core.modules',
    title: { de: 'Ihre Module', en: 'Your modules' },
    description: { de: 'Gebuchte Module der Firma', en: "Your company's booked modules" },
    component: () => import('./widgets/ModulesWidget.vue'),
    size: 1,
  },
  {
    id: 'core.team',
    title: { de: 'Team', en: 'Team' },
    description: { de: 'Benutzer und Teams in Zahlen', en: 'Users and teams in numbers' },
    component: () => import('./widgets/TeamWidget.vue'),
    size: 1,
    permissions: ['users:read'],
  },
  {
    id: 'core.audit-activity',
    title: { de: 'Aktivität pro Tag', en: 'Activity per day' },
    description: { de: 'Protokolleinträge der letzten 14 Tage', en: 'Audit log entries of the last 14 days' },
    component: () => import('./widgets/AuditActivityWidget.vue'),
    size: 2,
    permissions: ['audit:read'],
  },
  {
    id: 'platform.customers',
    title: { de: 'Kunden', en: 'Customers' },
    component: () => import('./widgets/CustomersWidget.vue'),
    size: 1,
    audience: 'platform',
  },
]

/** Every widget this user may see, built-ins first, then modules in menu order. */
export function useAvailableWidgets() {
  const auth = useAuthStore()
  return computed(() =>
    [...BUILTIN_WIDGETS, ...moduleRegistry.widgets()].filter(
      (w) =>
        (w.audience ?? 'tenant') === (auth.isPlatform ? 'platform' : 'tenant') &&
        (!w.permissions || auth.canAny(w.permissions)),
    ),
  )
}

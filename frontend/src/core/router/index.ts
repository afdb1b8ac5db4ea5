/** The routes of the core and the platform screens; module routes are added at run time. */
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import AppShell from '@/core/shell/AppShell.vue'
import DashboardPage from '@/core/pages/DashboardPage.vue'

declare module 'vue-router' {
  interface RouteMeta {
    /** No login needed. */
    public?: boolean
    /** i18n key of the page title (document.title, palette). */
    title?: string
    /** The user needs at least one of these permissions; otherwise the 403 page shows. */
    permissions?: string[]
    /** Only for company users (not platform staff), or only for platform staff. */
    audience?: 'tenant' | 'platform'
    /** Set on module routes: the module's slug. */
    module?: string
  }
}

import { APP_ROUTE } from './names'

export { APP_ROUTE }

export const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/core/pages/LoginPage.vue'),
    meta: { public: true, title: 'login.title' },
  },
  {
    path: '/',
    name: APP_ROUTE,
    component: AppShell,
    children: [
      { path: '', name: 'dashboard', component: DashboardPage, meta: { title: 'nav.dashboard' } },
      {
        path: 'admin/modules',
        name: 'admin.modules',
        component: () => import('@/platform/admin/ModulesPage.vue'),
        meta: { title: 'nav.modules', permissions: ['subscriptions:read'], audience: 'tenant' },
      },
      {
        path: 'admin/users',
        name: 'admin.users',
        component: () => import('@/platform/admin/UsersPage.vue'),
        meta: { title: 'nav.users', permissions: ['users:create', 'users:update'], audience: 'tenant' },
      },
      {
        path: 'admin/audit',
        name: 'admin.audit',
        component: () => import('@/platform/admin/AuditPage.vue'),
        meta: { title: 'nav.audit', permissions: ['audit:read'], audience: 'tenant' },
      },
      {
        path: 'console/customers',
        name: 'console.customers',
        component: () => import('@/platform/console/CustomersPage.vue'),
        meta: { title: 'nav.customers', audience: 'platform' },
      },
      {
        path: ':pathMatch(.*)*',
        name: 'not-found',
        component: () => import('@/core/pages/NotFoundPage.vue'),
        meta: { title: 'notFound.title' },
      },
    ],
  },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

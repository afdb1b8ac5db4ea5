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
    path: '/forgot-password',
    name: 'forgot-password',
    component: () => import('@/core/pages/ForgotPasswordPage.vue'),
    meta: { public: true, title: 'reset.forgotTitle' },
  },
  {
    path: '/reset-password',
    name: 'reset-password',
    component: () => import('@/core/pages/SetPasswordPage.vue'),
    props: { mode: 'reset' },
    meta: { public: true, title: 'reset.title' },
  },
  {
    path: '/accept-invite',
    name: 'accept-invite',
    component: () => import('@/core/pages/SetPasswordPage.vue'),
    props: { mode: 'invite' },
    meta: { public: true, title: 'invite.title' },
  },
  {
    path: '/signup',
    name: 'signup',
    component: () => import('@/core/pages/SignupPage.vue'),
    meta: { public: true, title: 'signup.title' },
  },
  {
    path: '/welcome',
    name: 'welcome',
    component: () => import('@/core/pages/WelcomePage.vue'),
    meta: { public: true, title: 'welcome.pageTitle' },
  },
  {
    path: '/setup',
    name: 'setup',
    component: () => import('@/core/pages/SetupPage.vue'),
    meta: { public: true, title: 'setup.pageTitle' },
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
        path: 'admin/teams',
        name: 'admin.teams',
        component: () => import('@/platform/admin/TeamsPage.vue'),
        meta: { title: 'nav.teams', permissions: ['teams:read'], audience: 'tenant' },
      },
      {
        path: 'admin/roles',
        name: 'admin.roles',
        component: () => import('@/platform/admin/RolesPage.vue'),
        meta: { title: 'nav.roles', permissions: ['roles:read'], audience: 'tenant' },
      },
      {
        path: 'admin/settings',
        name: 'admin.settings',
        component: () => import('@/platform/admin/SettingsPage.vue'),
        meta: { title: 'nav.settings', permissions: ['settings:read'], audience: 'tenant' },
      },
      {
        path: 'admin/outbox',
        name: 'admin.outbox',
        component: () => import('@/platform/admin/OutboxPage.vue'),
        meta: { title: 'nav.outbox', permissions: ['mail_outbox:read'], audience: 'tenant' },
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
        path: 'console/catalog',
        name: 'console.catalog',
        component: () => import('@/platform/console/CatalogPage.vue'),
        meta: { title: 'nav.catalog', audience: 'platform' },
      },
      {
        path: 'console/outbox',
        name: 'console.outbox',
        component: () => import('@/platform/admin/OutboxPage.vue'),
        props: { platform: true },
        meta: { title: 'nav.outbox', audience: 'platform' },
      },
      {
        path: 'console/license',
        name: 'console.license',
        component: () => import('@/platform/console/LicensePage.vue'),
        meta: { title: 'nav.license', audience: 'platform' },
      },
      {
        path: 'console/audit',
        name: 'console.audit',
        component: () => import('@/platform/admin/AuditPage.vue'),
        props: { platform: true },
        meta: { title: 'nav.platformAudit', audience: 'platform' },
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

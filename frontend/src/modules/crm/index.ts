/**
 * Front end of the CRM module: board, deals, leads (sales/), pipeline, scoring, routing and web-form
 * settings (settings/), the sales dashboard with its reports (reports/). Loaded only for companies
 * that booked crm, so the menu entry exists only for them.
 */
import { defineModule } from '@/core/modules/types'
import de from './locales/de'
import en from './locales/en'

const read = (permission: string) => ({ permissions: [permission] })

export default defineModule({
  slug: 'crm',
  routes: [
    { path: '', redirect: { name: 'crm.board' } },
    {
      path: 'board/:pipelineId?',
      name: 'crm.board',
      component: () => import('./sales/BoardPage.vue'),
      meta: { title: 'mod.crm.nav.board', ...read('crm.deal:read') },
    },
    {
      path: 'deals',
      name: 'crm.deals',
      component: () => import('./sales/DealsListPage.vue'),
      meta: { title: 'mod.crm.nav.deals', ...read('crm.deal:read') },
    },
    {
      path: 'deals/:dealId',
      name: 'crm.deal',
      component: () => import('./sales/DealPage.vue'),
      meta: { title: 'mod.crm.nav.deals', ...read('crm.deal:read') },
    },
    {
      path: 'leads',
      name: 'crm.leads',
      component: () => import('./sales/LeadsListPage.vue'),
      meta: { title: 'mod.crm.nav.leads', ...read('crm.lead:read') },
    },
    {
      path: 'leads/:leadId',
      name: 'crm.lead',
      component: () => import('./sales/LeadPage.vue'),
      meta: { title: 'mod.crm.nav.leads', ...read('crm.lead:read') },
    },
    {
      path: 'dashboard',
      name: 'crm.dashboard',
      component: () => import('./reports/SalesDashboardPage.vue'),
      meta: { title: 'mod.crm.nav.dashboard', ...read('crm.deal:read') },
    },
    {
      path: 'settings/pipelines',
      name: 'crm.settings.pipelines',
      component: () => import('./settings/PipelinesSettingsPage.vue'),
      meta: { title: 'mod.crm.nav.pipelines', ...read('crm.pipeline:read') },
    },
    {
      path: 'settings/scoring',
      name: 'crm.settings.scoring',
      component: () => import('./settings/ScoringSettingsPage.vue'),
      meta: { title: 'mod.crm.nav.scoring', ...read('crm.lead_config:read') },
    },
    {
      path: 'settings/routing',
      name: 'crm.settings.routing',
      component: () => import('./settings/RoutingSettingsPage.vue'),
      meta: { title: 'mod.crm.nav.routing', ...read('crm.lead_config:read') },
    },
    {
      path: 'settings/forms',
      name: 'crm.settings.forms',
      component: () => import('./settings/FormsSettingsPage.vue'),
      meta: { title: 'mod.crm.nav.forms', ...read('crm.lead_config:read') },
    },
  ],
  widgets: [
    {
      id: 'crm.pipeline_value',
      title: { de: 'Pipeline-Wert', en: 'Pipeline value' },
      description: { de: 'Offene Deals je Phase', en: 'Open deals per stage' },
      component: () => import('./reports/PipelineValueWidget.vue'),
      size: 1,
      permissions: ['crm.deal:read'],
    },
  ],
  messages: { de, en },
})

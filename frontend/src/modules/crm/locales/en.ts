/** English messages of the CRM module, one file per area so the areas grow independently. */
import reports from './reports.en'
import sales from './sales.en'
import settings from './settings.en'

export default {
  title: 'CRM',
  nav: {
    board: 'Board',
    deals: 'Deals',
    leads: 'Leads',
    dashboard: 'Dashboard',
    settings: 'Settings',
    pipelines: 'Pipelines',
    scoring: 'Lead scoring',
    routing: 'Lead routing',
    forms: 'Web forms',
  },
  sales,
  settings,
  reports,
}

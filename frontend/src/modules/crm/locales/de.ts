/** German messages of the CRM module, one file per area so the areas grow independently. */
import reports from './reports.de'
import sales from './sales.de'
import settings from './settings.de'

export default {
  title: 'CRM',
  nav: {
    board: 'Board',
    deals: 'Deals',
    leads: 'Leads',
    dashboard: 'Dashboard',
    settings: 'Einstellungen',
    pipelines: 'Pipelines',
    scoring: 'Lead-Scoring',
    routing: 'Lead-Verteilung',
    forms: 'Web-Formulare',
  },
  sales,
  settings,
  reports,
}

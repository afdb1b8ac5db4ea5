/**
 * The dashboard's charts on top of the shared tree-shaken ECharts setup (bar chart, grid, legend,
 * tooltip, SVG renderer): adds the funnel, line (forecast trend) and pie (won/lost) charts. Only
 * the lazily loaded dashboard page imports this, so none of it lands in the main bundle.
 */
import { FunnelChart, LineChart, PieChart } from 'echarts/charts'
import { echarts } from '@/core/dashboard/charts/echarts'

echarts.use([FunnelChart, LineChart, PieChart])

export { echarts }
export type { ECharts } from '@/core/dashboard/charts/echarts'

/** A CSS custom property of the theme (colours follow light/dark mode). */
export function token(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888'
}

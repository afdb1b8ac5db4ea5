/**
 * ECharts, tree-shaken: only the bar chart, the pieces it needs and the SVG renderer. Imported only
 * by chart widgets, which are lazy chunks themselves, so none of this is in the main bundle.
 */
import { BarChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import * as echarts from 'echarts/core'
import { SVGRenderer } from 'echarts/renderers'

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer])

export { echarts }
export type { ECharts } from 'echarts/core'

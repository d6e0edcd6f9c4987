/** ECharts with only what the workbench draws (keeps the bundle small). Import VChart from here. */
import { use } from 'echarts/core'
import { BarChart, LineChart } from 'echarts/charts'
import { DataZoomComponent, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TitleComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'
import VChart from 'vue-echarts'

use([BarChart, LineChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, MarkLineComponent, MarkAreaComponent, TitleComponent, CanvasRenderer])

export { VChart }

/** Colours per stage / series, readable on white. */
export const PALETTE = ['#3b6fd8', '#e07b39', '#2a9d8f', '#c0392b', '#8e44ad', '#7f8c8d', '#d4a017', '#16a085']

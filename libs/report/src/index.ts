// @rapo/report: the pieces of rapo's HTML reports (the training run's report.html, the
// evaluator's run and comparison pages, the study's and the hack check's pages): escaping,
// number formats, the page shell, tables, inline SVG line and bar charts. Self-contained output:
// no scripts, no network, the same input always gives the same string.
export { escapeHtml, formatFixed, formatNumber, formatSigned } from './format.js';
export { barChart, type BarRange, type BarScale } from './bars.js';
export { htmlPage, type PageOptions } from './page.js';
export { htmlTable, type Cell, type TableOptions } from './table.js';
export { lineChart, niceTicks, PALETTE, stackedBarChart } from './svg.js';
export type { BandSeries, LineChartOptions, LineSeries, StackedBarOptions, StackPart, Value } from './svg.js';

// The HTML report of a training run: renderReport, its input types and the SVG chart helpers.
export { escapeHtml, formatNumber, formatSigned } from './format.js';
export { renderSample, renderSamples, SCORE_COLORS, scoreColor, scoreLegend } from './heatmap.js';
export { phaseRows, renderReport } from './report.js';
export { lineChart, niceTicks, PALETTE, stackedBarChart } from './svg.js';
export type { BandSeries, LineChartOptions, LineSeries, StackedBarOptions, StackPart, Value } from './svg.js';
export type { MetricRow, ReportInput, SampleRow } from './types.js';

// The HTML report of a training run: renderReport and its input types. Its page shell, tables
// and charts come from @rapo/report.
export { renderSample, renderSamples, SCORE_COLORS, scoreColor, scoreLegend } from './heatmap.js';
export { phaseRows, renderReport } from './report.js';
export type { MetricRow, ReportInput, SampleRow } from './types.js';

// Inline SVG charts for the reports (the training run's, the study's, the hack check's): a line
// chart with named series, shaded bands and a legend, a stacked bar chart, and "nice" axis
// ticks. The markup is meant to sit inside an HTML page (no xmlns, no scripts, no ids), is
// deterministic, and never holds a NaN or Infinity: a missing value (null/undefined) breaks a
// line into a gap, a NaN or infinite one is skipped.
import { escapeHtml, formatNumber } from './format.js';

/** Tableau 10: distinct on white and readable for most colour-vision deficiencies. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bab0ac'] as const;

export type Value = number | null | undefined;

export interface LineSeries {
  name: string;
  /** [x, y] pairs; y null/undefined leaves a gap, a non-finite x or y is skipped. */
  points: ReadonlyArray<readonly [x: number, y: Value]>;
  color?: string;
  dashed?: boolean;
}

/** A shaded area between two curves, e.g. mean ± std. */
export interface BandSeries {
  name: string;
  points: ReadonlyArray<readonly [x: number, low: Value, high: Value]>;
  color?: string;
}

export interface LineChartOptions {
  title: string;
  series: readonly LineSeries[];
  bands?: readonly BandSeries[];
  xLabel?: string;
  /** Values the y axis must cover besides the data, e.g. [0]. */
  yInclude?: readonly number[];
  /** Integer x ticks (training steps); default true. */
  integerX?: boolean;
  width?: number;
  height?: number;
}

export interface StackPart {
  name: string;
  /** One value per entry of `x`; missing, negative or non-finite values count as 0. */
  values: ReadonlyArray<Value>;
  color?: string;
}

export interface StackedBarOptions {
  title: string;
  x: readonly number[];
  parts: readonly StackPart[];
  /** Appended to values in the tooltips, e.g. "s". */
  unit?: string;
  xLabel?: string;
  /** More columns than this are averaged in groups of consecutive x; default 120. */
  maxBars?: number;
  width?: number;
  height?: number;
}

/** 1, 2 or 5 times a power of ten, the one nearest to `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude;
}

/**
 * About `count` evenly spaced round ticks (a step of 1, 2 or 5 × 10^k) whose first is ≤ min and
 * whose last is ≥ max. Equal bounds are widened so the result always has at least two ticks.
 */
export function niceTicks(min: number, max: number, count = 5, integer = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  let step = niceStep((hi - lo) / Math.max(1, count - 1));
  if (integer) step = Math.max(1, step);
  let first = Math.floor(lo / step);
  let last = Math.ceil(hi / step);
  const at = (i: number) => Number((i * step).toPrecision(12)) || 0;
  while (at(first) > lo) first--;
  while (at(last) < hi) last++;
  if (!(last - first <= 100)) return [lo, hi];
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(at(i));
  // Values far larger than their spread lose the step to rounding: fall back to the bounds.
  return ticks.every((t, i) => i === 0 || t > ticks[i - 1]!) && ticks.length >= 2 ? ticks : [lo, hi];
}

/** A tick label with enough digits to tell neighbours `step` apart. */
function tickLabel(value: number, step: number): string {
  if (value === 0 || !(step > 0)) return formatNumber(value);
  const digits = Math.floor(Math.log10(Math.abs(value))) - Math.floor(Math.log10(step)) + 1;
  return formatNumber(value, Math.min(15, Math.max(3, digits)));
}

/** A coordinate with one decimal, never "-0". */
const c = (v: number): string => String(Math.round(v * 10) / 10 || 0);

const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
const CHAR_WIDTH = 6.2; // rough width of one 11px character, for layout

interface LegendItem {
  name: string;
  color: string;
  kind: 'line' | 'dashed' | 'area' | 'bar';
}

/** Legend items laid out in rows that wrap at `maxWidth`, starting at (x0, y0). */
function legend(items: readonly LegendItem[], x0: number, y0: number, maxWidth: number): { svg: string; height: number } {
  if (items.length < 2) return { svg: '', height: 0 };
  let x = 0;
  let row = 0;
  const parts: string[] = [];
  for (const item of items) {
    const w = 22 + item.name.length * CHAR_WIDTH + 14;
    if (x > 0 && x + w > maxWidth) {
      x = 0;
      row++;
    }
    const px = x0 + x;
    const py = y0 + row * 16;
    const swatch =
      item.kind === 'area' || item.kind === 'bar'
        ? `<rect x="${c(px)}" y="${c(py - 5)}" width="16" height="10" fill="${item.color}"${item.kind === 'area' ? ' fill-opacity="0.25"' : ''}/>`
        : `<line x1="${c(px)}" y1="${c(py)}" x2="${c(px + 16)}" y2="${c(py)}" stroke="${item.color}" stroke-width="2"${item.kind === 'dashed' ? ' stroke-dasharray="4 3"' : ''}/>`;
    parts.push(`${swatch}<text x="${c(px + 22)}" y="${c(py)}" dy="0.35em" fill="#374151">${escapeHtml(item.name)}</text>`);
    x += w;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: (row + 1) * 16 };
}

interface Frame {
  width: number;
  height: number;
  left: number;
  top: number;
  right: number;
  bottom: number;
  sx: (x: number) => number;
  sy: (y: number) => number;
}

/** The chart's outer markup: title, legend, grid with y labels, x ticks and the plot content. */
function chartShell(
  opts: { title: string; width: number; height: number; xLabel?: string | undefined },
  legendItems: readonly LegendItem[],
  xTicks: readonly number[],
  xDomain: readonly [number, number],
  yTicks: readonly number[],
  plot: (frame: Frame) => string,
): string {
  const { title, width, height } = opts;
  const yStep = (yTicks[1] ?? 1) - (yTicks[0] ?? 0);
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  const yLabels = yTicks.map((t) => tickLabel(t, yStep));
  const left = 14 + Math.max(3, ...yLabels.map((l) => l.length)) * CHAR_WIDTH;
  const right = 16;
  const leg = legend(legendItems, left, 38, width - left - right);
  const top = 30 + leg.height + 8;
  const bottom = opts.xLabel ? 38 : 24;
  const [x0, x1] = xDomain;
  const y0 = yTicks[0] ?? 0;
  const y1 = yTicks[yTicks.length - 1] ?? 1;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const frame: Frame = {
    width,
    height,
    left,
    top,
    right,
    bottom,
    sx: (x) => left + ((x - x0) / (x1 - x0)) * pw,
    sy: (y) => top + ph - ((y - y0) / (y1 - y0)) * ph,
  };
  const grid = yTicks
    .map((t, i) => {
      const y = c(frame.sy(t));
      // The lowest tick sits on the x axis line, drawn below; a zero line inside the plot is darker.
      return (
        (i === 0 ? '' : `<line x1="${c(left)}" y1="${y}" x2="${c(width - right)}" y2="${y}" stroke="${t === 0 ? '#9ca3af' : '#e5e7eb'}"/>`) +
        `<text x="${c(left - 6)}" y="${y}" dy="0.32em" text-anchor="end" fill="#6b7280">${escapeHtml(yLabels[i])}</text>`
      );
    })
    .join('');
  const base = c(top + ph);
  const xAxis = xTicks
    .map((t) => {
      const x = c(frame.sx(t));
      return (
        `<line x1="${x}" y1="${base}" x2="${x}" y2="${c(top + ph + 4)}" stroke="#9ca3af"/>` +
        `<text x="${x}" y="${c(top + ph + 16)}" text-anchor="middle" fill="#6b7280">${escapeHtml(tickLabel(t, xStep))}</text>`
      );
    })
    .join('');
  const xLabel = opts.xLabel ? `<text x="${c(left + pw / 2)}" y="${c(height - 6)}" text-anchor="middle" fill="#6b7280">${escapeHtml(opts.xLabel)}</text>` : '';
  return (
    // Drawn at its own size in CSS pixels: it may shrink to fit a narrow column, never grow past
    // `width` (inline, so a page's "width:100%" cannot stretch it and scale its text up).
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" style="width:100%;max-width:${width}px;height:auto" role="img" aria-label="${escapeHtml(title)}" font-family="${FONT}" font-size="11">` +
    `<title>${escapeHtml(title)}</title>` +
    `<text x="${c(left)}" y="18" font-size="13" font-weight="600" fill="#111827">${escapeHtml(title)}</text>` +
    leg.svg +
    grid +
    `<line x1="${c(left)}" y1="${base}" x2="${c(width - right)}" y2="${base}" stroke="#9ca3af"/>` +
    xAxis +
    xLabel +
    plot(frame) +
    '</svg>'
  );
}

/** Splits points into runs: a 'gap' point ends the current run, a 'skip' point is dropped. */
function runs<P>(points: readonly P[], kind: (p: P) => 'ok' | 'gap' | 'skip'): P[][] {
  const out: P[][] = [];
  let run: P[] = [];
  for (const p of points) {
    const k = kind(p);
    if (k === 'ok') run.push(p);
    else if (k === 'gap' && run.length) {
      out.push(run);
      run = [];
    }
  }
  if (run.length) out.push(run);
  return out;
}

const byX = <P extends readonly [number, ...unknown[]]>(points: readonly P[]): P[] => points.filter((p) => Number.isFinite(p[0])).sort((a, b) => a[0] - b[0]);

const finite = (v: Value): v is number => typeof v === 'number' && Number.isFinite(v);

/** [min, max] of a non-empty array, without spreading it into arguments (long runs). */
function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A line chart of several named series against a shared numeric x axis. */
export function lineChart(opts: LineChartOptions): string {
  const { width = 560, height = 260, integerX = true } = opts;
  const lines = opts.series.map((s, i) => ({
    ...s,
    color: s.color ?? PALETTE[i % PALETTE.length]!,
    runs: runs(byX(s.points), ([, y]) => (y == null ? 'gap' : finite(y) ? 'ok' : 'skip')) as [number, number][][],
  }));
  const bands = (opts.bands ?? []).map((b, i) => ({
    ...b,
    color: b.color ?? PALETTE[(lines.length + i) % PALETTE.length]!,
    runs: runs(byX(b.points), ([, lo, hi]) => (lo == null || hi == null ? 'gap' : finite(lo) && finite(hi) ? 'ok' : 'skip')) as [number, number, number][][],
  }));
  const xs: number[] = [];
  const ys: number[] = [...(opts.yInclude ?? []).filter(finite)];
  for (const l of lines) {
    for (const run of l.runs) {
      for (const [x, y] of run) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  for (const b of bands) {
    for (const run of b.runs) {
      for (const [x, lo, hi] of run) {
        xs.push(x);
        ys.push(lo, hi);
      }
    }
  }
  const empty = xs.length === 0;
  const xTicks = empty ? [0, 1] : niceTicks(...extent(xs), 6, integerX);
  const yTicks = ys.length ? niceTicks(...extent(ys), 5) : [0, 1];
  const items: LegendItem[] = [
    ...lines.map((l): LegendItem => ({ name: l.name, color: l.color, kind: l.dashed ? 'dashed' : 'line' })),
    ...bands.map((b): LegendItem => ({ name: b.name, color: b.color, kind: 'area' })),
  ];
  const domain = [xTicks[0]!, xTicks[xTicks.length - 1]!] as const;
  return chartShell({ ...opts, width, height }, items, xTicks, domain, yTicks, ({ sx, sy, left, top, width: w, height: h, right, bottom }) => {
    if (empty) return `<text x="${c((left + w - right) / 2)}" y="${c((top + h - bottom) / 2)}" text-anchor="middle" fill="#9ca3af">no data</text>`;
    const out: string[] = [];
    for (const b of bands) {
      for (const run of b.runs) {
        if (run.length < 2) continue;
        const upper = run.map(([x, , hi]) => `${c(sx(x))},${c(sy(hi))}`);
        const lower = run.map(([x, lo]) => `${c(sx(x))},${c(sy(lo))}`).reverse();
        out.push(`<path class="band" d="M${upper.join('L')}L${lower.join('L')}Z" fill="${b.color}" fill-opacity="0.18"/>`);
      }
    }
    for (const l of lines) {
      const dash = l.dashed ? ' stroke-dasharray="4 3"' : '';
      const total = l.runs.reduce((n, r) => n + r.length, 0);
      for (const run of l.runs) {
        if (run.length > 1) {
          const d = run.map(([x, y]) => `${c(sx(x))},${c(sy(y))}`).join('L');
          out.push(`<path class="line" d="M${d}" fill="none" stroke="${l.color}" stroke-width="1.8" stroke-linejoin="round"${dash}/>`);
        }
        // Points are marked when a run has one point (it would be invisible) or the series is short.
        if (run.length === 1 || total <= 20) {
          for (const [x, y] of run) out.push(`<circle cx="${c(sx(x))}" cy="${c(sy(y))}" r="2.5" fill="${l.color}"/>`);
        }
      }
    }
    return out.join('');
  });
}

/** Bars of stacked parts (e.g. seconds per phase of each step), with a tooltip per bar. */
export function stackedBarChart(opts: StackedBarOptions): string {
  const { width = 560, height = 260, maxBars = 120, unit = '' } = opts;
  const parts = opts.parts.map((p, i) => ({ name: p.name, color: p.color ?? PALETTE[i % PALETTE.length]! }));
  const clean = (v: Value) => (finite(v) && v > 0 ? v : 0);
  const columns = opts.x
    .map((x, i) => ({ x, from: x, to: x, values: opts.parts.map((p) => clean(p.values[i])) }))
    .filter((col) => Number.isFinite(col.x))
    .sort((a, b) => a.x - b.x);
  // Too many columns for the width: average groups of consecutive ones.
  const group = Math.max(1, Math.ceil(columns.length / Math.max(1, maxBars)));
  const bars: { x: number; from: number; to: number; values: number[]; total: number }[] = [];
  for (let i = 0; i < columns.length; i += group) {
    const chunk = columns.slice(i, i + group);
    const from = chunk[0]!.x;
    const to = chunk[chunk.length - 1]!.x;
    const values = parts.map((_, j) => chunk.reduce((sum, col) => sum + col.values[j]!, 0) / chunk.length);
    bars.push({ x: (from + to) / 2, from, to, values, total: values.reduce((a, b) => a + b, 0) });
  }
  let spacing = Infinity;
  for (let i = 1; i < bars.length; i++) spacing = Math.min(spacing, bars[i]!.x - bars[i - 1]!.x);
  if (!(spacing > 0 && Number.isFinite(spacing))) spacing = group;
  const xMin = bars.length ? bars[0]!.x - spacing / 2 : 0;
  const xMax = bars.length ? bars[bars.length - 1]!.x + spacing / 2 : 1;
  const xTicks = bars.length ? niceTicks(bars[0]!.x, bars[bars.length - 1]!.x, 6, true).filter((t) => t >= xMin && t <= xMax) : [0, 1];
  const maxTotal = bars.length ? extent(bars.map((b) => b.total))[1] : 0;
  const yTicks = niceTicks(0, maxTotal > 0 ? maxTotal : 1, 5);
  const items = parts.map((p): LegendItem => ({ ...p, kind: 'bar' }));
  const fmt = (v: number) => `${formatNumber(v)}${unit ? ` ${unit}` : ''}`;
  return chartShell({ ...opts, width, height }, items, xTicks, [xMin, xMax], yTicks, ({ sx, sy }) => {
    const barWidth = Math.max(1, (sx(spacing) - sx(0)) * 0.8);
    return bars
      .map((bar) => {
        const label = bar.from === bar.to ? `step ${formatNumber(bar.from, 6)}` : `steps ${formatNumber(bar.from, 6)}–${formatNumber(bar.to, 6)} (mean)`;
        const detail = parts.map((p, j) => `${p.name} ${fmt(bar.values[j]!)}`).join(', ');
        let base = 0;
        const rects = parts
          .map((p, j) => {
            const v = bar.values[j]!;
            if (v <= 0) return '';
            const yTop = sy(base + v);
            const yBottom = sy(base);
            base += v;
            return `<rect class="bar" x="${c(sx(bar.x) - barWidth / 2)}" y="${c(yTop)}" width="${c(barWidth)}" height="${c(yBottom - yTop)}" fill="${p.color}"/>`;
          })
          .join('');
        return `<g><title>${escapeHtml(`${label}: ${detail}; total ${fmt(bar.total)}`)}</title>${rects}</g>`;
      })
      .join('');
  });
}

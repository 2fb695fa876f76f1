// Horizontal bars, one per named number, for the evaluator's pages (a run's scores and
// breakdowns, several runs side by side). Labels are escaped; the markup is inline SVG.
import { escapeHtml, formatFixed, formatNumber } from './format.js';

/** The scale a number is read on, [lowest, highest]: a 0-10 judge score, a 1-5 rubric, a 0-1 share. */
export type BarRange = readonly [lo: number, hi: number];

/**
 * How bars are scaled: a number is the value of a full bar (as [0, max]); a range is the scale of
 * every value; a record gives the scale of each key (keys it lacks scale to the largest of them).
 */
export type BarScale = number | BarRange | Readonly<Record<string, BarRange>>;

function checkRange(range: BarRange, what: string): BarRange {
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
    throw new RangeError(`barChart: the range of ${what} must be two finite numbers [lo, hi] with hi > lo, but it is [${String(lo)}, ${String(hi)}]`);
  }
  return range;
}

/**
 * One bar per finite value; '' when none. A value with a known range is drawn on it (empty at lo,
 * full at hi, clamped) over a light track of the whole range, with the range after its number, so
 * a 3 on a 0-10 scale fills 30% whatever else is shown. Values without one scale to the largest
 * absolute value among them.
 */
export function barChart(values: Record<string, number>, scale?: BarScale): string {
  const entries = Object.entries(values).filter(([, v]) => Number.isFinite(v));
  if (!entries.length) return '';
  const rangeOf = (key: string): BarRange | undefined => {
    if (scale === undefined) return undefined;
    if (typeof scale === 'number') return checkRange([0, scale], 'every bar');
    if (Array.isArray(scale)) return checkRange(scale as BarRange, 'every bar');
    const r = Object.hasOwn(scale, key) ? (scale as Readonly<Record<string, BarRange>>)[key] : undefined;
    return r === undefined ? undefined : checkRange(r, `"${key}"`);
  };
  const unranged = entries.filter(([k]) => rangeOf(k) === undefined).map(([, v]) => Math.abs(v));
  const top = Math.max(...unranged, 1e-9);
  const row = 22;
  const labelW = 220;
  const barW = 360;
  const rows = entries.map(([k, v], i) => {
    const range = rangeOf(k);
    const share = range ? (v - range[0]) / (range[1] - range[0]) : Math.abs(v) / top;
    const w = Math.max(0, Math.min(1, share)) * barW;
    const y = i * row;
    const track = range ? `<rect x="${labelW}" y="${y + 3}" width="${barW}" height="${row - 6}" fill="#e8edf6"/>` : '';
    const text = range
      ? `<text x="${labelW + barW + 6}" y="${y + 15}">${formatFixed(v)}<tspan fill="#6b7280"> (${formatNumber(range[0])}–${formatNumber(range[1])})</tspan></text>`
      : `<text x="${labelW + w + 6}" y="${y + 15}">${formatFixed(v)}</text>`;
    return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${escapeHtml(k)}</text>${track}<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="#4b7bd1"/>${text}`;
  });
  return `<svg class="bars" width="${labelW + barW + 120}" height="${entries.length * row}" font-size="12" font-family="sans-serif">${rows.join('')}</svg>`;
}

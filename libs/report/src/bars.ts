// Horizontal bars, one per named number, for the evaluator's pages (a run's scores and
// breakdowns, several runs side by side). Labels are escaped; the markup is inline SVG.
import { escapeHtml, formatFixed } from './format.js';

/** One bar per finite value, scaled to the largest absolute value (or to `max`); '' when none. */
export function barChart(values: Record<string, number>, max?: number): string {
  const entries = Object.entries(values).filter(([, v]) => Number.isFinite(v));
  if (!entries.length) return '';
  const top = max ?? Math.max(...entries.map(([, v]) => Math.abs(v)), 1e-9);
  const row = 22;
  const labelW = 220;
  const barW = 360;
  const rows = entries.map(([k, v], i) => {
    const w = Math.max(0, Math.min(1, Math.abs(v) / top)) * barW;
    const y = i * row;
    return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${escapeHtml(k)}</text><rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="#4b7bd1"/><text x="${labelW + w + 6}" y="${y + 15}">${formatFixed(v)}</text>`;
  });
  return `<svg class="bars" width="${labelW + barW + 80}" height="${entries.length * row}" font-size="12" font-family="sans-serif">${rows.join('')}</svg>`;
}

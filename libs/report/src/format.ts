// Text for the reports: HTML escaping for everything a page did not write itself, compact number
// formatting (3 significant digits, k/M/G/T suffixes, exponents for tiny or huge values), and
// fixed decimals by size for tables of scores.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for use in HTML element content and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const SUFFIXES = ['', 'k', 'M', 'G', 'T'] as const;

/** `digits` significant digits, trailing zeros dropped: 0.000123, 12.3, 1.23k, 4.5M, 1.2e-7. */
export function formatNumber(value: number, digits = 3): string {
  if (Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-4 || abs >= 1e15)
    return value
      .toExponential(digits - 1)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
  for (let tier = 0; ; tier++) {
    const rounded = Number((value / 1000 ** tier).toPrecision(digits));
    if (Math.abs(rounded) < 1000 || tier === SUFFIXES.length - 1) return `${rounded}${SUFFIXES[tier]}`;
  }
}

/** Like formatNumber, with an explicit + on positive values (advantages, correlations). */
export function formatSigned(value: number, digits = 3): string {
  return value > 0 ? `+${formatNumber(value, digits)}` : formatNumber(value, digits);
}

/** A score with decimals by size: 1 from 100 up, 2 from 1 up, else 3 (123.4, 12.35, 0.123). */
export function formatFixed(value: number): string {
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(1) : abs >= 1 ? value.toFixed(2) : value.toFixed(3);
}

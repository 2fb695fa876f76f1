// The page shell, tables, bars and fixed-decimal scores: escaped where text goes in, well-formed,
// and the same string for the same input.
import { describe, expect, it } from 'vitest';
import { barChart, formatFixed, htmlPage, htmlTable } from './index.js';

describe('htmlPage', () => {
  it('wraps a body in a self-contained document with an escaped title and inline CSS', () => {
    const page = htmlPage({ title: 'a <b> & "c"', css: '\nbody{margin:0}\n', body: '<p>hi</p>' });
    expect(page.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(page).toContain('<meta charset="utf-8">');
    expect(page).toContain('<title>a &lt;b&gt; &amp; &quot;c&quot;</title>');
    expect(page).toContain('<style>\nbody{margin:0}\n</style>');
    expect(page).toContain('<body>\n<p>hi</p>\n</body>');
    expect(page.endsWith('</html>\n')).toBe(true);
    expect(page).not.toContain('<script');
  });
});

describe('htmlTable', () => {
  it('lays out a header row and body rows; cells are HTML, classes optional', () => {
    const t = htmlTable({
      head: ['', 'x'],
      rows: [
        ['a', { html: '<b>1</b>', class: 'sig' }],
        ['b', '2'],
      ],
      class: 'glance',
    });
    expect(t).toBe(
      '<table class="glance"><thead><tr><th></th><th>x</th></tr></thead><tbody>' +
        '<tr><td>a</td><td class="sig"><b>1</b></td></tr><tr><td>b</td><td>2</td></tr></tbody></table>',
    );
  });

  it('makes the first cell of each row a <th> with rowHeaders, and is empty with nothing to show', () => {
    expect(htmlTable({ rows: [['k', 'v']], rowHeaders: true })).toBe('<table><tbody><tr><th>k</th><td>v</td></tr></tbody></table>');
    expect(htmlTable({ rows: [] })).toBe('');
    expect(htmlTable({ head: ['only'], rows: [] })).toBe('<table><thead><tr><th>only</th></tr></thead><tbody></tbody></table>');
  });
});

describe('barChart', () => {
  it('draws bars scaled to the largest value and escapes every label', () => {
    const svg = barChart({ a: 50, '<b>': 100 });
    expect(svg).toContain('&lt;b&gt;');
    expect(svg).toMatch(/width="180\.0"/); // 50 of 100 on a 360-wide scale
    expect(svg).toMatch(/width="360\.0"/);
    expect(barChart({ a: 1 }, 4)).toMatch(/width="90\.0"/); // an explicit scale
    expect(barChart({ a: NaN })).toBe('');
    expect(barChart({})).toBe('');
  });

  const widths = (svg: string) => [...svg.matchAll(/<rect x="220" y="[^"]*" width="([^"]*)" height="[^"]*" fill="#4b7bd1"/g)].map((m) => Number(m[1]));

  it('draws a value with a known range on that range, not on the largest value shown', () => {
    // A judge score of 3 on 0-10 fills 30% of the bar even when it is the largest value.
    expect(widths(barChart({ judge: 3 }, [0, 10]))).toEqual([108]);
    const svg = barChart({ judge: 3, fidelity: 0.5, cases: 40, other: 20 }, { judge: [0, 10], fidelity: [0, 1] });
    // ranged: 30% and 50%; the others scale to the largest of them (40)
    expect(widths(svg)).toEqual([108, 180, 360, 180]);
    expect(svg).toContain('(0–10)</tspan>');
    expect(svg).toContain('(0–1)</tspan>');
    // a 1-5 rubric: 1 is an empty bar, 5 a full one, out-of-range values are clamped
    expect(widths(barChart({ a: 1, b: 3, c: 5, d: 7 }, [1, 5]))).toEqual([0, 180, 360, 360]);
  });

  it('refuses a range that is not [lo, hi] with hi > lo, naming the key', () => {
    expect(() => barChart({ judge: 3 }, { judge: [10, 0] })).toThrow(
      'the range of "judge" must be two finite numbers [lo, hi] with hi > lo, but it is [10, 0]',
    );
    expect(() => barChart({ a: 1 }, [0, Number.NaN])).toThrow(/range of every bar/);
    expect(() => barChart({ a: 1 }, 0)).toThrow(/range of every bar/);
  });
});

describe('formatFixed', () => {
  it('keeps 1, 2 or 3 decimals by size', () => {
    expect(formatFixed(123.456)).toBe('123.5');
    expect(formatFixed(-12.345)).toBe('-12.35');
    expect(formatFixed(0.12345)).toBe('0.123');
  });
});

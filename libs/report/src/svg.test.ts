// The SVG charts and number formatting: round ticks that cover the data, charts that stay free
// of NaN/Infinity for one point, constant series, gaps and non-finite values, and the stacked bars.
import { describe, expect, it } from 'vitest';
import { escapeHtml, formatNumber, formatSigned } from './format.js';
import { lineChart, niceTicks, stackedBarChart, type LineSeries } from './svg.js';

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;
const noBadNumbers = (svg: string) => {
  expect(svg).not.toMatch(/NaN|Infinity/);
  expect(svg.startsWith('<svg ')).toBe(true);
  expect(svg.endsWith('</svg>')).toBe(true);
};
/** The numbers of one path's d attribute, as [x, y] pairs. */
const pathPoints = (d: string) =>
  d
    .replace(/^M/, '')
    .split('L')
    .map((p) => p.split(',').map(Number));
const linePaths = (svg: string) => [...svg.matchAll(/<path class="line" d="([^"]*)"/g)].map((m) => pathPoints(m[1]!));
const tickLabels = (svg: string) => [...svg.matchAll(/text-anchor="end" fill="#6b7280">([^<]*)</g)].map((m) => m[1]);

describe('niceTicks', () => {
  it('gives evenly spaced 1/2/5 × 10^k ticks that cover the range', () => {
    expect(niceTicks(0.13, 0.87)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1, 40, 6, true)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(-0.31, 0.02)).toEqual([-0.4, -0.3, -0.2, -0.1, 0, 0.1]);
    expect(niceTicks(1234, 98765)).toEqual([0, 20000, 40000, 60000, 80000, 100000]);
    let seed = 1;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 500; i++) {
      const scale = 10 ** Math.floor(rand() * 12 - 6);
      const a = (rand() - 0.5) * scale;
      const b = a + rand() * scale;
      const ticks = niceTicks(a, b);
      expect(ticks[0]).toBeLessThanOrEqual(a);
      expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(b);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks.length).toBeLessThanOrEqual(12);
      const step = ticks[1]! - ticks[0]!;
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
      for (let j = 1; j < ticks.length; j++) expect(ticks[j]! - ticks[j - 1]!).toBeCloseTo(step, 10 - Math.log10(scale));
      // Round: each tick is a whole multiple of the step, printed without float noise.
      for (const t of ticks) expect(String(t)).not.toMatch(/\d{9}/);
    }
  });

  it('widens a single value and handles bad bounds', () => {
    expect(niceTicks(3, 3)).toEqual([2.7, 2.8, 2.9, 3, 3.1, 3.2, 3.3]);
    expect(niceTicks(0, 0)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(5, 5, 6, true)).toEqual([4, 5, 6]);
    expect(niceTicks(1, 0)).toEqual(niceTicks(0, 1));
    expect(niceTicks(Number.NaN, 1)).toEqual([0, 1]);
    expect(niceTicks(0, Infinity)).toEqual([0, 1]);
  });
});

describe('lineChart', () => {
  const chart = (series: LineSeries[], extra = {}) => lineChart({ title: 'Loss', series, xLabel: 'step', ...extra });

  it('draws each series as a path inside the plot, with round y labels and a legend', () => {
    const svg = chart([
      {
        name: 'train',
        points: [
          [1, 2.4],
          [2, 1.9],
          [3, 1.2],
          [4, 1.1],
        ],
      },
      {
        name: 'eval',
        points: [
          [2, 2.1],
          [4, 1.5],
        ],
      },
    ]);
    noBadNumbers(svg);
    expect(svg).toContain('aria-label="Loss"');
    expect(svg).toContain('<title>Loss</title>');
    expect(tickLabels(svg)).toEqual(['1', '1.5', '2', '2.5']);
    const [train, evalPath] = linePaths(svg);
    expect(train).toHaveLength(4);
    expect(evalPath).toHaveLength(2);
    // Higher loss is drawn higher up (smaller y); x increases to the right.
    expect(train![0]![1]!).toBeLessThan(train![3]![1]!);
    expect(train![0]![0]!).toBeLessThan(train![3]![0]!);
    expect(svg).toContain('>train</text>');
    expect(svg).toContain('>eval</text>');
    expect(svg).toContain('>step</text>');
  });

  it('renders one point and a constant series without NaN', () => {
    const one = chart([{ name: 'kl', points: [[7, 0.5]] }]);
    noBadNumbers(one);
    expect(count(one, /<circle /g)).toBe(1);
    expect(count(one, /<path class="line"/g)).toBe(0);
    const flat = chart([
      {
        name: 'c',
        points: [
          [1, 3],
          [2, 3],
          [3, 3],
        ],
      },
    ]);
    noBadNumbers(flat);
    const [line] = linePaths(flat);
    expect(new Set(line!.map((p) => p[1])).size).toBe(1);
    expect(tickLabels(flat)).toEqual(['2.7', '2.8', '2.9', '3', '3.1', '3.2', '3.3']);
    const zeros = chart([
      {
        name: 'z',
        points: [
          [1, 0],
          [1, 0],
        ],
      },
    ]);
    noBadNumbers(zeros);
  });

  it('breaks the line at missing values and skips non-finite ones', () => {
    const gaps = chart([
      {
        name: 'r',
        points: [
          [1, 1],
          [2, 2],
          [3, undefined],
          [4, 4],
          [5, 5],
          [6, null],
          [7, 7],
        ],
      },
    ]);
    noBadNumbers(gaps);
    const paths = linePaths(gaps);
    expect(paths.map((p) => p.length)).toEqual([2, 2]);
    expect(count(gaps, /<circle /g)).toBe(5); // short series: every point marked, the lone 7 included
    const skipped = chart([
      {
        name: 'r',
        points: [
          [1, 1],
          [2, Number.NaN],
          [3, 3],
          [4, Infinity],
          [Number.NaN, 2],
          [5, -Infinity],
          [6, 6],
        ],
      },
    ]);
    noBadNumbers(skipped);
    expect(linePaths(skipped).map((p) => p.length)).toEqual([3]);
    expect(tickLabels(skipped)).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('draws bands, dashed series and an empty chart', () => {
    const svg = lineChart({
      title: 'PMI',
      series: [
        {
          name: 'mean',
          points: [
            [1, 0.5],
            [2, 0.7],
            [3, 0.9],
          ],
        },
        {
          name: 'max',
          points: [
            [1, 2],
            [2, 2.2],
            [3, 2.5],
          ],
          dashed: true,
        },
      ],
      bands: [
        {
          name: 'mean ± std',
          points: [
            [1, 0, 1],
            [2, 0.1, 1.3],
            [3, undefined, undefined],
            [4, 0.2, 1.5],
            [5, 0.3, 1.6],
          ],
        },
      ],
      yInclude: [-1],
    });
    noBadNumbers(svg);
    expect(count(svg, /<path class="band"/g)).toBe(2);
    expect(count(svg, /stroke-dasharray/g)).toBe(2); // the line and its legend swatch
    expect(tickLabels(svg)[0]).toBe('-1');
    const empty = lineChart({ title: 'nothing', series: [{ name: 'x', points: [[1, Number.NaN]] }] });
    noBadNumbers(empty);
    expect(empty).toContain('no data');
  });

  it('keeps its own size: it may shrink to a narrow column but never grows past its width, so its text keeps its size', () => {
    const svg = chart([{ name: 'r', points: [[1, 1]] }], { width: 480, height: 200 });
    expect(svg).toMatch(/^<svg class="chart" viewBox="0 0 480 200" width="480" height="200" style="width:100%;max-width:480px;height:auto"/);
    const bars = stackedBarChart({ title: 'Time', x: [1], parts: [{ name: 'a', values: [1] }] });
    expect(bars).toContain('style="width:100%;max-width:560px;height:auto"');
  });

  it('escapes series names and titles', () => {
    const svg = lineChart({
      title: '<b>',
      series: [
        { name: '<script>x</script>', points: [[0, 1]] },
        { name: 'a&b', points: [[0, 2]] },
      ],
    });
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(svg).toContain('a&amp;b');
    expect(svg).toContain('<title>&lt;b&gt;</title>');
  });
});

describe('stackedBarChart', () => {
  const rects = (svg: string) =>
    [...svg.matchAll(/<rect class="bar" x="([^"]*)" y="([^"]*)" width="([^"]*)" height="([^"]*)"/g)].map((m) => m.slice(1).map(Number));

  it('stacks the parts of each step with a tooltip per bar', () => {
    const svg = stackedBarChart({
      title: 'Time',
      x: [1, 2, 3],
      unit: 's',
      parts: [
        { name: 'rollout', values: [2, 3, 4] },
        { name: 'update', values: [1, 1, 2] },
      ],
    });
    noBadNumbers(svg);
    const bars = rects(svg);
    expect(bars).toHaveLength(6);
    // The update segment of each step sits right on top of its rollout segment.
    for (let i = 0; i < 6; i += 2) expect(bars[i]![1]).toBeCloseTo(bars[i + 1]![1]! + bars[i + 1]![3]!, 0);
    // Heights are proportional: step 3 (total 6) is twice as tall as step 1 (total 3).
    expect(bars[4]![3]! + bars[5]![3]!).toBeCloseTo(2 * (bars[0]![3]! + bars[1]![3]!), 0);
    expect(svg).toContain('<title>step 2: rollout 3 s, update 1 s; total 4 s</title>');
    expect(tickLabels(svg)).toEqual(['0', '2', '4', '6']);
  });

  it('treats missing, negative and non-finite values as zero', () => {
    const svg = stackedBarChart({
      title: 'Time',
      x: [1, 2, Number.NaN],
      parts: [
        { name: 'a', values: [Number.NaN, -1, 5] },
        { name: 'b', values: [undefined, Infinity, 5] },
      ],
    });
    noBadNumbers(svg);
    expect(svg).toContain('step 1: a 0, b 0; total 0');
    expect(rects(svg)).toEqual([]);
    noBadNumbers(stackedBarChart({ title: 'one', x: [4], parts: [{ name: 'a', values: [2] }] }));
    noBadNumbers(stackedBarChart({ title: 'none', x: [], parts: [] }));
  });

  it('averages groups of steps when there are more than maxBars', () => {
    const x = Array.from({ length: 1000 }, (_, i) => i + 1);
    const svg = stackedBarChart({ title: 'Time', x, maxBars: 100, parts: [{ name: 'a', values: x.map((s) => s % 2) }] });
    noBadNumbers(svg);
    expect(count(svg, /<g><title>/g)).toBe(100);
    expect(svg).toContain('<title>steps 1–10 (mean): a 0.5; total 0.5</title>');
  });
});

describe('format', () => {
  it('formats numbers compactly with 3 significant digits', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1, '1'],
      [12.345, '12.3'],
      [-0.012345, '-0.0123'],
      [0.000123456, '0.000123'],
      [999.9, '1k'],
      [1234.5, '1.23k'],
      [52000, '52k'],
      [4_560_000, '4.56M'],
      [1.5e13, '15T'],
      [1.2e-7, '1.2e-7'],
      [1e-5, '1e-5'],
      [2.5e16, '2.5e16'],
      [Number.NaN, 'n/a'],
      [Infinity, '∞'],
      [-Infinity, '-∞'],
    ];
    for (const [v, s] of cases) expect(formatNumber(v), String(v)).toBe(s);
    expect(formatNumber(1005, 4)).toBe('1.005k');
    expect(formatSigned(0.5)).toBe('+0.5');
    expect(formatSigned(-0.5)).toBe('-0.5');
    expect(formatSigned(0)).toBe('0');
  });

  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    expect(escapeHtml(42)).toBe('42');
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gbps, median, timeSync } from './measure.js';
import { bytesMoved, checkTargets, formatTable, logitsBytes, slug, withSpeedups, writeJsonAtomic, type ResultRow } from './report.js';

const row = (impl: ResultRow['impl'], seconds: number, extra: Partial<ResultRow> = {}): Omit<ResultRow, 'speedupVsBestTfjs'> => ({
  op: 'miForward',
  impl,
  dtype: 'f32',
  n: 2048,
  v: 32768,
  seconds,
  gbps: 1,
  fractionOfCeiling: 0.5,
  ...extra,
});

describe('benchmark arithmetic', () => {
  it('counts the bytes each op reads and writes', () => {
    expect(logitsBytes('miForward', 'f32', 2, 3)).toBe(2 * 2 * 3 * 4);
    expect(logitsBytes('logprobBackward', 'bf16', 2, 3)).toBe(2 * 3 * 2);
    expect(bytesMoved('miForward', 'bf16', 2, 3)).toBe(2 * 2 * 3 * 2);
    expect(bytesMoved('logprobBackward', 'f32', 2, 3)).toBe(2 * 2 * 3 * 4);
    expect(gbps(2e9, 0.5)).toBe(4);
  });

  it('takes the median and repeats until the minimum time', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
    let calls = 0;
    const t = timeSync(() => calls++, { minSeconds: 0, maxRuns: 5 });
    expect(t.runs).toBe(1);
    expect(calls).toBe(2); // warm-up + one run
  });

  it('computes speedups against the best tfjs backend of the same op and shape', () => {
    const rows = withSpeedups([row('native-cpu', 0.01), row('tfjs-wasm', 2), row('tfjs-cpu', 4), row('native-cpu', 0.01, { v: 4096 })]);
    expect(rows[0]!.speedupVsBestTfjs).toBeCloseTo(200);
    expect(rows[2]!.speedupVsBestTfjs).toBeCloseTo(0.5);
    expect(rows[3]!.speedupVsBestTfjs).toBeNull();
  });

  it('checks the targets on the target shape only', () => {
    const rows = withSpeedups([row('native-cpu', 0.01, { fractionOfCeiling: 0.75 }), row('tfjs-cpu', 0.1)]);
    const checks = checkTargets(rows);
    expect(checks[0]).toMatchObject({ value: 0.75, pass: true });
    expect(checks[1]).toMatchObject({ value: 10, pass: false });
    expect(checks.some((c) => c.name.includes('native-cuda'))).toBe(false);
    expect(checkTargets([])[0]!.pass).toBeNull();
  });

  it('formats a table with one line per result', () => {
    const table = formatTable(withSpeedups([row('native-cpu', 0.0123), row('tfjs-cpu', 1.5)]));
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^miForward\s+native-cpu\s+f32\s+2048\s+32768\s+12\.3\s/);
  });

  it('names result files safely and writes them atomically', () => {
    expect(slug('NVIDIA H200 + Intel(R) Xeon(R) (16 threads)')).toBe('nvidia-h200-intel-r-xeon-r-16-threads');
    const dir = mkdtempSync(join(tmpdir(), 'rapo-bench-'));
    try {
      const file = join(dir, 'sub', 'x.json');
      writeJsonAtomic(file, { a: 1 });
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ a: 1 });
      expect(readdirSync(join(dir, 'sub'))).toEqual(['x.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { blasInfo, matmul, matmulReference, setMatmulImpl, type MatmulShape } from './matmul.js';
import { gaussian, rng } from './test-helpers.js';

const SHAPES: MatmulShape[] = [
  { batchA: 1, batchB: 1, m: 1, n: 1, k: 1 },
  { batchA: 1, batchB: 1, m: 7, n: 13, k: 5 },
  { batchA: 3, batchB: 3, m: 17, n: 9, k: 33, transB: true },
  { batchA: 4, batchB: 4, m: 9, n: 31, k: 12, transA: true },
  { batchA: 2, batchB: 2, m: 65, n: 3, k: 70, transA: true, transB: true },
  { batchA: 6, batchB: 1, m: 40, n: 24, k: 16 }, // broadcast B (a shared weight)
  { batchA: 1, batchB: 5, m: 11, n: 8, k: 1, transB: true }, // broadcast A, k = 1
  { batchA: 8, batchB: 4, m: 3, n: 5, k: 7 }, // tfjs's modulo rule for batch broadcasting
  { batchA: 1, batchB: 1, m: 300, n: 129, k: 257 }, // several row blocks
];

function inputs(s: MatmulShape, seed: number) {
  const r = rng(seed);
  const a = Float32Array.from({ length: s.batchA * s.m * s.k }, () => gaussian(r));
  const b = Float32Array.from({ length: s.batchB * s.k * s.n }, () => gaussian(r));
  return { a, b };
}

const label = (s: MatmulShape) => `${s.batchA}/${s.batchB} x ${s.m}x${s.n}x${s.k}${s.transA ? ' tA' : ''}${s.transB ? ' tB' : ''}`;

describe('native matmul', () => {
  afterEach(() => setMatmulImpl('auto'));

  for (const impl of ['auto', 'blocked'] as const) {
    it(`matches the float64 reference (${impl}) on transposes, broadcasts, size 1 and odd sides`, () => {
      setMatmulImpl(impl);
      expect(blasInfo().impl).toBe(impl === 'blocked' || !blasInfo().blas ? 'blocked' : 'blas');
      for (const [i, s] of SHAPES.entries()) {
        const { a, b } = inputs(s, i + 1);
        const got = matmul(a, b, s);
        const want = matmulReference(a, b, s);
        expect(got.length).toBe(want.length);
        for (let j = 0; j < want.length; j++) {
          // float32 products summed over k terms of size ~1: error ~ sqrt(k) * 2^-24 * |terms|
          expect(Math.abs(got[j]! - want[j]!), `${label(s)} [${j}]`).toBeLessThan(1e-5 * Math.sqrt(s.k) * 8);
        }
      }
    });
  }

  it('handles empty sides: m or n = 0 gives nothing, k = 0 gives zeros', () => {
    expect(matmul(new Float32Array(0), new Float32Array(6), { batchA: 1, batchB: 1, m: 0, n: 3, k: 2 }).length).toBe(0);
    const out = new Float32Array(6).fill(7);
    matmul(new Float32Array(0), new Float32Array(0), { batchA: 1, batchB: 1, m: 2, n: 3, k: 0 }, out);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('names the argument that is wrong', () => {
    const s = { batchA: 1, batchB: 1, m: 2, n: 2, k: 2 };
    expect(() => matmul(new Float32Array(3), new Float32Array(4), s)).toThrow('Expected 4 elements for a but received 3');
    expect(() => matmul(new Float32Array(4), new Float32Array(4), { ...s, batchB: 0 })).toThrow('Expected an integer >= 1 for batchB but received 0');
    expect(() => matmul(new Float32Array(4), new Float32Array(4), s, new Float32Array(5))).toThrow(/Expected 4 elements for out but received 5/);
    expect(() => setMatmulImpl('fast' as never)).toThrow(/Expected "auto" or "blocked" for impl/);
  });

  it('reports the BLAS it was built with', () => {
    const info = blasInfo();
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.blas ? info.library : 'none').toMatch(/^(openblas \d+\.\d+\.\d+|none)$/);
    // CI exports RAPO_BLAS=openblas when it installed libopenblas-dev: the BLAS path is then
    // what gets built and tested, not silently the fallback.
    if (process.env.RAPO_BLAS?.toLowerCase() === 'openblas') expect(info.blas).toBe(true);
    expect(info.core.length).toBeGreaterThan(0);
    if (!info.blas) expect(info.core).toBe('none');
  });

  it('OpenBLAS runs kernels for this CPU, not its generic SSE3 ones, where the CPU has AVX2', () => {
    // OpenBLAS 0.3.21 falls back to "Prescott" on Intel models newer than its table (4x slower);
    // the loader names the family from the CPU flags (openblas-core.ts).
    const info = blasInfo();
    const flags = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
    if (!info.blas || !/^flags\s*:.*\bavx2\b/m.test(flags) || process.env.OPENBLAS_CORETYPE !== undefined) return;
    expect(info.core).not.toMatch(/^(Prescott|Core2|Nehalem|Katmai|Coppermine|Northwood|Banias|Atom|Unknown)$/i);
  });
});

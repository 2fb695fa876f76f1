import { afterEach, describe, expect, it } from 'vitest';
import {
  attentionBackward,
  attentionForward,
  nativeLayersError,
  rmsNormBackward,
  rmsNormForward,
  rotary,
  scatterAddRows,
  swigluBackward,
  swigluForward,
  type AttentionShape,
} from './layers.js';
import { setMatmulImpl } from './matmul.js';
import {
  attentionBackwardReference,
  attentionReference,
  rmsNormBackwardReference,
  rmsNormReference,
  rotaryReference,
  scatterAddRowsReference,
  swigluBackwardReference,
  swigluReference,
} from './reference/layers.js';
import { setCpuIsa, setCpuThreads, type CpuIsa } from './index.js';
import { backendInfo } from './backend.js';
import { gaussian, rng } from './test-helpers.js';

const skip = nativeLayersError();
const randn = (n: number, seed: number, scale = 1, base = 0) => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => base + scale * gaussian(r));
};
const worst = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
  }
  return err / Math.max(scale, 1e-30);
};

describe('the float64 references', () => {
  it("RMSNorm's backward equals central differences of its forward", () => {
    const rows = 3,
      size = 5,
      eps = 1e-5;
    const x = Array.from(randn(rows * size, 1));
    const w = Array.from(randn(size, 2, 0.3, 1));
    const dy = Array.from(randn(rows * size, 3));
    const loss = (xs: number[], ws: number[]) => rmsNormReference(xs, ws, rows, size, eps).y.reduce((a, y, i) => a + y * dy[i]!, 0);
    const { dx, dweight } = rmsNormBackwardReference(dy, x, w, rows, size, eps);
    const h = 1e-6;
    for (let i = 0; i < x.length; i++) {
      const up = [...x];
      const down = [...x];
      up[i]! += h;
      down[i]! -= h;
      expect(dx[i]!).toBeCloseTo((loss(up, w) - loss(down, w)) / (2 * h), 6);
    }
    for (let i = 0; i < size; i++) {
      const up = [...w];
      const down = [...w];
      up[i]! += h;
      down[i]! -= h;
      expect(dweight[i]!).toBeCloseTo((loss(x, up) - loss(x, down)) / (2 * h), 6);
    }
  });

  it("SwiGLU's backward equals central differences of its forward", () => {
    const g = Array.from(randn(7, 4, 3));
    const u = Array.from(randn(7, 5));
    const dy = Array.from(randn(7, 6));
    const { dgate, dup } = swigluBackwardReference(dy, g, u);
    const h = 1e-6;
    for (let i = 0; i < 7; i++) {
      const f = (gi: number, ui: number) => swigluReference([gi], [ui])[0]! * dy[i]!;
      expect(dgate[i]!).toBeCloseTo((f(g[i]! + h, u[i]!) - f(g[i]! - h, u[i]!)) / (2 * h), 6);
      expect(dup[i]!).toBeCloseTo((f(g[i]!, u[i]! + h) - f(g[i]!, u[i]! - h)) / (2 * h), 6);
    }
  });
  it("attention's backward equals central differences of its forward, with grouped heads, padding and a query that sees nothing", () => {
    const s: AttentionShape = { batch: 2, heads: 4, kvHeads: 2, seq: 3, keys: 4, headDim: 2, scale: 0.7 };
    const q = Array.from(randn(2 * 4 * 3 * 2, 11));
    const k = Array.from(randn(2 * 2 * 4 * 2, 12));
    const v = Array.from(randn(2 * 2 * 4 * 2, 13));
    const dout = Array.from(randn(q.length, 14));
    // Row 1: keys 0 and 1 are padding, so query 0 (which sees keys 0..1) sees none.
    const mask = [1, 1, 1, 1, 0, 0, 1, 1];
    const loss = (qs: number[], ks: number[], vs: number[]) => attentionReference(qs, ks, vs, mask, s).out.reduce((a, o, i) => a + o * dout[i]!, 0);
    const { dq, dk, dv } = attentionBackwardReference(dout, q, k, v, mask, s);
    const h = 1e-6;
    const check = (xs: number[], grad: Float64Array, at: (x: number[]) => number) => {
      for (let i = 0; i < xs.length; i++) {
        const up = xs.slice();
        const down = xs.slice();
        up[i]! += h;
        down[i]! -= h;
        expect(grad[i]!).toBeCloseTo((at(up) - at(down)) / (2 * h), 6);
      }
    };
    check(q, dq, (x) => loss(x, k, v));
    check(k, dk, (x) => loss(q, x, v));
    check(v, dv, (x) => loss(q, k, x));
    const { probs } = attentionReference(q, k, v, mask, s);
    const row = (b: number, hd: number, t: number) => Array.from(probs.subarray(((b * 4 + hd) * 3 + t) * 4, ((b * 4 + hd) * 3 + t + 1) * 4));
    expect(row(0, 0, 0).slice(2)).toEqual([0, 0]); // query 0 sees keys 0..1 (offset keys - seq = 1)
    expect(row(0, 0, 0)[0]! + row(0, 0, 0)[1]!).toBeCloseTo(1, 12);
    expect(row(1, 2, 0)).toEqual([0.25, 0.25, 0.25, 0.25]); // sees nothing: uniform
    expect(row(0, 1, 1).slice(3)).toEqual([0]); // causal: key 3 comes after query 1
  });
});

describe.skipIf(skip)(`fused layer kernels${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => setCpuThreads(0));

  it('RMSNorm forward and backward match the float64 reference, and the weight gradient is the same on 1 thread and on all', () => {
    for (const [rows, size] of [
      [1, 8],
      [3, 7],
      [257, 64],
      [1024, 256],
    ] as const) {
      const x = randn(rows * size, rows, 2);
      const w = randn(size, size, 0.3, 1);
      const dy = randn(rows * size, rows + size);
      const f = rmsNormForward(x, w, rows, size, 1e-6);
      const ref = rmsNormReference(x, w, rows, size, 1e-6);
      expect(worst(f.y, ref.y), `${rows}x${size} y`).toBeLessThan(1e-6);
      expect(worst(f.rstd, ref.rstd), `${rows}x${size} rstd`).toBeLessThan(1e-6);
      const b = rmsNormBackward(dy, x, w, f.rstd, rows, size);
      const rb = rmsNormBackwardReference(dy, x, w, rows, size, 1e-6);
      expect(worst(b.dx, rb.dx), `${rows}x${size} dx`).toBeLessThan(1e-5);
      expect(worst(b.dweight, rb.dweight), `${rows}x${size} dweight`).toBeLessThan(1e-5);
      setCpuThreads(1);
      const one = rmsNormBackward(dy, x, w, f.rstd, rows, size);
      setCpuThreads(0);
      expect(Array.from(one.dweight)).toEqual(Array.from(b.dweight));
      expect(Array.from(one.dx)).toEqual(Array.from(b.dx));
    }
  });

  it('SwiGLU forward and backward match the float64 reference, including large |gate|, on every row kernel', () => {
    const n = 70_001;
    const g = randn(n, 1, 4);
    g[0] = 90;
    g[1] = -90;
    const u = randn(n, 2);
    const dy = randn(n, 3);
    // The sigmoid runs on the vectorized row kernels: each instruction set in turn.
    for (const isa of backendInfo().native?.cpu.available ?? ['auto']) {
      setCpuIsa(isa as CpuIsa);
      const sig = new Float32Array(n);
      expect(worst(swigluForward(g, u, undefined, sig), swigluReference(g, u)), isa).toBeLessThan(1e-6);
      expect(worst(swigluForward(g, u), swigluReference(g, u)), `${isa} without sig`).toBeLessThan(1e-6);
      const wantSig = Float64Array.from(g, (x) => 1 / (1 + Math.exp(-x)));
      expect(worst(sig, wantSig), isa).toBeLessThan(1e-6); // absolute: the sigmoid's largest value is 1
      const rb = swigluBackwardReference(dy, g, u);
      for (const b of [swigluBackward(dy, g, u), swigluBackward(dy, g, u, undefined, sig)]) {
        expect(worst(b.dgate, rb.dgate), isa).toBeLessThan(1e-6);
        expect(worst(b.dup, rb.dup), isa).toBeLessThan(1e-6);
      }
    }
    setCpuIsa('auto');
  });

  it('rotary matches the reference both ways, and the inverse undoes it', () => {
    const shape = { batch: 3, heads: 4, seq: 9, headDim: 16 };
    const x = randn(3 * 4 * 9 * 16, 8);
    const angle = Float32Array.from({ length: 3 * 9 * 16 }, (_, i) => ((i % 8) + 1) * 0.37 * (Math.floor(i / 16) + 1));
    const cos = angle.map(Math.cos);
    const sin = angle.map(Math.sin);
    const y = rotary(x, cos, sin, shape);
    expect(worst(y, rotaryReference(x, cos, sin, shape))).toBeLessThan(1e-6);
    expect(worst(rotary(x, cos, sin, shape, true), rotaryReference(x, cos, sin, shape, true))).toBeLessThan(1e-6);
    expect(worst(rotary(y, cos, sin, shape, true), x)).toBeLessThan(1e-5);
    expect(() => rotary(x, cos, sin, { ...shape, headDim: 15 })).toThrow('Expected an even number for headDim but received 15');
    expect(() => rotary(x, cos.subarray(1), sin, shape)).toThrow('Expected 432 elements for cos but received 431');
  });

  it('scatterAddRows sums repeated indices in order and leaves untouched rows at 0', () => {
    const index = Int32Array.from([3, 0, 3, 3, 9, 0]);
    const src = randn(index.length * 40, 7);
    const out = new Float32Array(10 * 40).fill(5);
    scatterAddRows(src, index, 10, 40, out);
    expect(worst(out, scatterAddRowsReference(src, index, 10, 40))).toBeLessThan(1e-6);
    expect(out.subarray(40, 80).every((v) => v === 0)).toBe(true);
  });

  it('attention forward and backward match the float64 reference: grouped heads, padding, a query that sees nothing, both matmul paths, 1 thread and all', () => {
    const cases: [AttentionShape, number[]][] = [
      [{ batch: 1, heads: 1, kvHeads: 1, seq: 1, keys: 1, headDim: 1, scale: 1 }, [1]],
      [{ batch: 2, heads: 4, kvHeads: 2, seq: 5, keys: 5, headDim: 8, scale: 1 / Math.sqrt(8) }, [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]],
      [{ batch: 1, heads: 2, kvHeads: 1, seq: 3, keys: 7, headDim: 4, scale: 0.5 }, [1, 0, 1, 1, 1, 1, 1]], // keys before the queries (a cache)
      [
        { batch: 3, heads: 8, kvHeads: 4, seq: 33, keys: 33, headDim: 32, scale: 1 / Math.sqrt(32) },
        Array.from({ length: 99 }, (_, i) => (i % 33 < 3 * (i / 33 + 1) ? 0 : 1)),
      ],
    ];
    let seed = 20;
    for (const impl of ['auto', 'blocked'] as const) {
      setMatmulImpl(impl);
      for (const threads of [1, 0]) {
        setCpuThreads(threads);
        for (const [s, maskArr] of cases) {
          const qn = s.batch * s.heads * s.seq * s.headDim;
          const kvn = s.batch * s.kvHeads * s.keys * s.headDim;
          const q = randn(qn, seed++, 2);
          const k = randn(kvn, seed++, 2);
          const v = randn(kvn, seed++);
          const dout = randn(qn, seed++);
          const mask = Float32Array.from(maskArr);
          const want = attentionReference(q, k, v, mask, s);
          const got = attentionForward(q, k, v, mask, s);
          const label = `${impl} threads ${threads} ${JSON.stringify(s)}`;
          expect(worst(got.probs, want.probs), `probs ${label}`).toBeLessThan(2e-6);
          expect(worst(got.out, want.out), `out ${label}`).toBeLessThan(2e-6);
          const g = attentionBackward(dout, q, k, v, mask, got.probs, s);
          const wantG = attentionBackwardReference(dout, q, k, v, mask, s);
          expect(worst(g.dq, wantG.dq), `dq ${label}`).toBeLessThan(1e-5);
          expect(worst(g.dk, wantG.dk), `dk ${label}`).toBeLessThan(1e-5);
          expect(worst(g.dv, wantG.dv), `dv ${label}`).toBeLessThan(1e-5);
          // A masked key's probability is exactly 0, never a subnormal float.
          for (const p of got.probs) expect(p === 0 || p >= 1.1754944e-38).toBe(true);
        }
      }
    }
    setMatmulImpl('auto');
  });

  it('attention gives the same bits on 1 thread and on all', () => {
    const s: AttentionShape = { batch: 2, heads: 8, kvHeads: 2, seq: 40, keys: 40, headDim: 16, scale: 0.25 };
    const q = randn(2 * 8 * 40 * 16, 1);
    const k = randn(2 * 2 * 40 * 16, 2);
    const v = randn(2 * 2 * 40 * 16, 3);
    const mask = new Float32Array(80).fill(1);
    const run = (threads: number) => {
      setCpuThreads(threads);
      const f = attentionForward(q, k, v, mask, s);
      return { ...f, ...attentionBackward(q, q, k, v, mask, f.probs, s) };
    };
    const one = run(1);
    const all = run(0);
    for (const key of ['out', 'probs', 'dq', 'dk', 'dv'] as const) expect(Array.from(all[key]), key).toEqual(Array.from(one[key]));
  });

  it('names what is wrong', () => {
    const a = (n: number) => new Float32Array(n);
    const s: AttentionShape = { batch: 1, heads: 2, kvHeads: 1, seq: 2, keys: 2, headDim: 2, scale: 1 };
    expect(() => attentionForward(a(8), a(4), a(4), a(2), { ...s, heads: 3, kvHeads: 2 })).toThrow(
      'Expected heads to be a multiple of kvHeads but received 3 and 2',
    );
    expect(() => attentionForward(a(8), a(4), a(4), a(2), { ...s, keys: 1 })).toThrow('Expected an integer >= 2 for keys but received 1');
    expect(() => attentionForward(a(8), a(4), a(4), a(3), s)).toThrow('Expected 2 elements for keyMask but received 3');
    expect(() => attentionForward(a(8), a(4), a(4), a(2), { ...s, scale: NaN })).toThrow('Expected a finite number for scale but received NaN');
    expect(() => attentionBackward(a(8), a(8), a(4), a(4), a(2), a(7), s)).toThrow('Expected 8 elements for probs but received 7');
  });

  it('names what is wrong', () => {
    const x = new Float32Array(6);
    expect(() => rmsNormForward(x, new Float32Array(3), 2, 3, -1)).toThrow('Expected a number >= 0 for eps but received -1');
    expect(() => rmsNormForward(x, new Float32Array(2), 2, 3, 1e-6)).toThrow('Expected 3 elements for weight but received 2');
    expect(() => rmsNormBackward(x, x, new Float32Array(3), new Float32Array(1), 2, 3)).toThrow('Expected 2 elements for rstd but received 1');
    expect(() => swigluForward(x, new Float32Array(5))).toThrow('Expected 6 elements for up but received 5');
    expect(() => swigluBackward(x, x, [] as never)).toThrow('Expected a Float32Array for up but received Array');
    const out = new Float32Array(8).fill(1);
    expect(() => scatterAddRows(new Float32Array(4), Int32Array.from([1, 4]), 4, 2, out)).toThrow('Expected indices in [0, 4) but received index[1] = 4');
    expect(Array.from(out)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]); // refused before any write
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { nativeLayersError, rmsNormBackward, rmsNormForward, rotary, scatterAddRows, swigluBackward, swigluForward } from './layers.js';
import {
  rmsNormBackwardReference,
  rmsNormReference,
  rotaryReference,
  scatterAddRowsReference,
  swigluBackwardReference,
  swigluReference,
} from './reference/layers.js';
import { setCpuThreads } from './index.js';
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

  it('SwiGLU forward and backward match the float64 reference, including large |gate|', () => {
    const n = 70_001;
    const g = randn(n, 1, 4);
    g[0] = 90;
    g[1] = -90;
    const u = randn(n, 2);
    const dy = randn(n, 3);
    const sig = new Float32Array(n);
    expect(worst(swigluForward(g, u, undefined, sig), swigluReference(g, u))).toBeLessThan(1e-6);
    expect(
      worst(
        sig,
        Float64Array.from(g, (x) => 1 / (1 + Math.exp(-x))),
      ),
    ).toBeLessThan(1e-6);
    const rb = swigluBackwardReference(dy, g, u);
    for (const b of [swigluBackward(dy, g, u), swigluBackward(dy, g, u, undefined, sig)]) {
      expect(worst(b.dgate, rb.dgate)).toBeLessThan(1e-6);
      expect(worst(b.dup, rb.dup)).toBeLessThan(1e-6);
    }
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

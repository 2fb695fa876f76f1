// The typed CPU tensor ops against their float64 references (reference/tensor-ops.ts): several
// shapes each, broadcasting and arbitrary strides where the op takes strides, sizes large
// enough to split over threads, special values; and every bad argument a caller can pass is
// refused with a message of the package's shape before the addon runs.
import { describe, expect, it } from 'vitest';
import { backendInfo } from './backend.js';
import { streamRead, timeLogprobBackwardCuda, timeMiForwardCuda, timeSgemmDirect } from './bench-probes.js';
import { binaryReference, gatherReference, softmaxRowsReference, stridedCopyReference, sumAxisReference, unaryReference } from './reference/tensor-ops.js';
import {
  binaryOp,
  broadcastStrides,
  contiguousStrides,
  gather,
  nativeTensorOpsError,
  softmaxRows,
  stridedCopy,
  sumAxis,
  unaryOp,
  type BinaryOpName,
  type UnaryOpName,
} from './tensor-ops.js';
import { gaussian, rng } from './test-helpers.js';
import { setCpuIsa, type CpuIsa } from './index.js';

const info = backendInfo();
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function randomF32(n: number, seed: number, lo = -3, hi = 3): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** |got - want| <= atol + rtol * |want| everywhere; NaN must meet NaN and infinities their twin. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  let bad = '';
  for (let i = 0; i < want.length && !bad; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const ok = Number.isNaN(w) || !Number.isFinite(w) ? Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) : Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) bad = `${label} [${i}]: got ${g}, want ${w}`;
  }
  expect(bad).toBe('');
}

describe('stride helpers', () => {
  it('contiguous strides are row-major; broadcast strides repeat size-1 and missing dimensions', () => {
    expect(contiguousStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(contiguousStrides([])).toEqual([]);
    expect(broadcastStrides([3, 1], [2, 3, 5])).toEqual([0, 1, 0]);
    expect(broadcastStrides([5], [2, 3, 5])).toEqual([0, 0, 1]);
    expect(broadcastStrides([], [4])).toEqual([0]);
  });
});

describe.skipIf(!info.native)(`native tensor ops${info.native ? '' : ` (skipped: ${info.nativeError})`}`, () => {
  it('are available', () => {
    expect(nativeTensorOpsError()).toBeUndefined();
  });

  // [a's shape, b's shape]: broadcast to their numpy result.
  const BROADCASTS: [number[], number[]][] = [
    [
      [5, 7],
      [5, 7],
    ],
    [[4, 1, 6], [6]],
    [
      [3, 1],
      [1, 5],
    ],
    [[], [2, 3]],
    [
      [2, 1, 3, 1],
      [1, 4, 1, 5],
    ],
    [[0, 3], [3]],
    [
      [64, 1000],
      [64, 1000],
    ], // split over the threads
    [[64, 1000], [1000]],
  ];
  const BINARY_OPS: BinaryOpName[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'squaredDifference'];
  const outShape = (a: number[], b: number[]) => {
    const rank = Math.max(a.length, b.length);
    return Array.from({ length: rank }, (_, d) => {
      const x = a[d - (rank - a.length)] ?? 1;
      const y = b[d - (rank - b.length)] ?? 1;
      return x === 1 ? y : x;
    });
  };

  for (const op of BINARY_OPS) {
    it(`binaryOp ${op} matches the reference with broadcasting`, () => {
      for (const [i, [sa, sb]] of BROADCASTS.entries()) {
        const shape = outShape(sa, sb);
        const a = randomF32(size(sa), 10 + i);
        // Divisors away from 0, so the quotient's float32 rounding is what is measured.
        const b = op === 'div' ? randomF32(size(sb), 20 + i, 0.5, 2) : randomF32(size(sb), 20 + i);
        const aStrides = broadcastStrides(sa, shape);
        const bStrides = broadcastStrides(sb, shape);
        const out = new Float32Array(size(shape));
        binaryOp(op, a, b, out, shape, aStrides, bStrides);
        const want = binaryReference(op, a, b, shape, aStrides, bStrides);
        // One float32 rounding of an exact float64 result, except squaredDifference (two).
        expectClose(out, want.map(Math.fround), op === 'squaredDifference' ? 3e-7 : 0, 0, `${op} [${sa}] with [${sb}]`);
      }
    });
  }

  it('binaryOp reads strided operands (a transpose, a column of a wider array) and propagates NaN in max and min', () => {
    // a is a [6, 4] array read as its [4, 6] transpose; b is column 2 of a [4, 3] array.
    const a = randomF32(24, 1);
    const b = randomF32(12, 2);
    const shape = [4, 6];
    const aStrides = [1, 4];
    const bStrides = [3, 0];
    const out = new Float32Array(24);
    binaryOp('sub', a, b.subarray(2), out, shape, aStrides, bStrides);
    expectClose(out, binaryReference('sub', a, b.subarray(2), shape, aStrides, bStrides).map(Math.fround), 0, 0, 'strided sub');

    const x = Float32Array.from([1, NaN, -2, 3]);
    const y = Float32Array.from([NaN, 0, -3, 3]);
    for (const op of ['max', 'min'] as const) {
      const o = new Float32Array(4);
      binaryOp(op, x, y, o, [4], [1], [1]);
      expectClose(o, binaryReference(op, x, y, [4], [1], [1]), 0, 0, `${op} with NaN`);
      expect(Number.isNaN(o[0]!) && Number.isNaN(o[1]!)).toBe(true);
    }
  });

  const UNARY_OPS: [UnaryOpName, number, number][] = [
    ['neg', -5, 5],
    ['exp', -20, 20],
    ['log', 1e-3, 100],
    ['sigmoid', -30, 30],
    ['sqrt', 0, 100],
    ['rsqrt', 1e-3, 100],
    ['square', -50, 50],
    ['abs', -5, 5],
    ['reciprocal', 0.01, 10],
  ];
  for (const [op, lo, hi] of UNARY_OPS) {
    it(`unaryOp ${op} matches the reference`, () => {
      for (const n of [0, 1, 7, 40000]) {
        const x = randomF32(n, n + 3, lo, hi);
        const out = new Float32Array(n);
        unaryOp(op, x, out);
        // std::exp and friends in float32 are within a few units in the last place.
        expectClose(out, unaryReference(op, x), 4e-7, 1e-37, `${op} n=${n}`);
      }
    });
  }

  it('stridedCopy slices, transposes, tiles and concatenates, bit for bit', () => {
    const x = randomF32(2 * 3 * 4, 7);
    const cases = [
      // a slice [1:2, 0:3, 1:3] of [2, 3, 4]
      { src: { data: x, offset: 12 + 1, strides: [12, 4, 1] }, dst: { data: new Float32Array(6), strides: [6, 2, 1] }, shape: [1, 3, 2] },
      // the transpose [4, 2, 3] of [2, 3, 4]
      { src: { data: x, strides: [1, 12, 4] }, dst: { data: new Float32Array(24), strides: [6, 3, 1] }, shape: [4, 2, 3] },
      // tiling [3] twice: the repeat dimension has source stride 0
      { src: { data: x.subarray(0, 3), strides: [0, 1] }, dst: { data: new Float32Array(6), strides: [3, 1] }, shape: [2, 3] },
      // the second part of a concatenation along axis 1: [2, 4] into [2, 7] at column 3
      { src: { data: x.subarray(0, 8), strides: [4, 1] }, dst: { data: new Float32Array(14).fill(-1), offset: 3, strides: [7, 1] }, shape: [2, 4] },
      // nothing to copy
      { src: { data: x, strides: [4, 1] }, dst: { data: new Float32Array(0), strides: [4, 1] }, shape: [0, 4] },
    ];
    for (const [i, c] of cases.entries()) {
      const want = stridedCopyReference(c.src, c.dst, c.shape);
      stridedCopy(c.src, c.dst, c.shape);
      expect(Array.from(c.dst.data), `case ${i}`).toEqual(Array.from(want));
    }
    // Int32 data and NaN payloads pass unchanged.
    const words = Int32Array.from([0x7fc00001, -1, 0x7f800001, 42, 5, 6]);
    const moved = new Int32Array(6);
    stridedCopy({ data: words, strides: [1, 2] }, { data: moved, strides: [3, 1] }, [2, 3]);
    expect(Array.from(moved)).toEqual(Array.from(stridedCopyReference({ data: words, strides: [1, 2] }, { data: new Int32Array(6), strides: [3, 1] }, [2, 3])));
    const nanBits = new Float32Array(Int32Array.from([0x7fc01234]).buffer);
    const copy = new Float32Array(1);
    stridedCopy({ data: nanBits, strides: [1] }, { data: copy, strides: [1] }, [1]);
    expect(new Int32Array(copy.buffer)[0]).toBe(0x7fc01234);
    // Large enough to split over the threads.
    const big = randomF32(300 * 500, 9);
    const t = new Float32Array(big.length);
    stridedCopy({ data: big, strides: [1, 300] }, { data: t, strides: [500, 1] }, [300, 500]);
    expect(Array.from(t)).toEqual(
      Array.from(stridedCopyReference({ data: big, strides: [1, 300] }, { data: new Float32Array(big.length), strides: [500, 1] }, [300, 500])),
    );
  });

  it('softmaxRows matches the reference, with -Infinity entries and a row of only -Infinity', () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 7],
      [50, 1000],
      [0, 5],
    ] as const) {
      const r = rng(rows * 31 + cols);
      const x = Float32Array.from({ length: rows * cols }, () => 4 * gaussian(r));
      const out = new Float32Array(rows * cols);
      softmaxRows(x, out, rows, cols);
      // The kernel sums the row in float32: error up to about cols units in the last place.
      expectClose(out, softmaxRowsReference(x, rows, cols), 4e-7 + cols * 6e-8, 1e-9, `${rows}x${cols}`);
    }
    const x = Float32Array.from([0, -Infinity, 1, -Infinity, -Infinity, -Infinity]);
    const out = new Float32Array(6);
    softmaxRows(x, out, 2, 3);
    expectClose(out, softmaxRowsReference(x, 2, 3), 2e-6, 1e-9, 'masked');
    expect(out[1]).toBe(0);
    expect(Number.isNaN(out[3]!)).toBe(true);
  });

  it('softmaxRows rows sum to 1 even far from 0 (the softmax gradient relies on it), on every row kernel', () => {
    for (const isa of backendInfo().native?.cpu.available ?? []) {
      setCpuIsa(isa as CpuIsa);
      const r = rng(5);
      const rows = 64,
        cols = 128;
      const x = Float32Array.from({ length: rows * cols }, () => 90 + 3 * gaussian(r));
      const out = new Float32Array(rows * cols);
      softmaxRows(x, out, rows, cols);
      for (let i = 0; i < rows; i++) {
        let sum = 0;
        for (let j = 0; j < cols; j++) sum += out[i * cols + j]!;
        expect(Math.abs(sum - 1), `${isa} row ${i}`).toBeLessThan(1e-6);
      }
    }
    setCpuIsa('auto');
  });

  it('softmaxRows gives exactly 0 for masked (-1e9) entries and no subnormal float, on every row kernel', () => {
    // A clamped exponential used to leave 2^-125 / sum there: subnormal products in every later
    // matmul, 50-100x slower on Intel cores.
    for (const isa of backendInfo().native?.cpu.available ?? []) {
      setCpuIsa(isa as CpuIsa);
      const r = rng(9);
      const rows = 32,
        cols = 128;
      const x = Float32Array.from({ length: rows * cols }, (_, i) => (i % cols > i / cols ? -1e9 : gaussian(r)) + (i % 7 === 0 ? -80 : 0));
      const out = new Float32Array(rows * cols);
      softmaxRows(x, out, rows, cols);
      for (let i = 0; i < rows * cols; i++) {
        if (x[i]! <= -1e8) expect(out[i], `${isa} masked ${i}`).toBe(0);
        expect(out[i] === 0 || out[i]! >= 1.1754944e-38, `${isa} subnormal ${out[i]} at ${i}`).toBe(true);
      }
    }
    setCpuIsa('auto');
  });

  it('sumAxis matches the reference: rows, columns, wide columns, an empty reduction and a mean', () => {
    const SHAPES = [
      { outer: 1, reduce: 1, inner: 1 },
      { outer: 7, reduce: 13, inner: 1 }, // contiguous rows
      { outer: 3, reduce: 9, inner: 5 }, // a middle axis
      { outer: 2, reduce: 40, inner: 1300 }, // columns wider than one block
      { outer: 1, reduce: 5000, inner: 1 },
      { outer: 4, reduce: 0, inner: 3 }, // nothing to add: zeros
    ];
    for (const s of SHAPES) {
      const x = randomF32(s.outer * s.reduce * s.inner, s.reduce + s.inner);
      for (const scale of [1, s.reduce ? 1 / s.reduce : 1]) {
        const out = new Float32Array(s.outer * s.inner).fill(NaN);
        sumAxis(x, out, s, scale);
        // float64 sums, one float32 rounding at the end.
        expectClose(out, sumAxisReference(x, s, scale), 1e-7, 1e-9, `${s.outer}x${s.reduce}x${s.inner} scale ${scale}`);
      }
    }
  });

  it('gather picks rows of the middle axis, repeated or none, in either word type', () => {
    const SHAPES = [
      { outer: 1, axis: 5, inner: 1, indices: [4, 0, 4] },
      { outer: 3, axis: 4, inner: 6, indices: [1, 3] },
      { outer: 2, axis: 3, inner: 2, indices: [] },
      { outer: 1, axis: 200, inner: 64, indices: Array.from({ length: 500 }, (_, i) => (i * 37) % 200) },
    ];
    for (const s of SHAPES) {
      const indices = Int32Array.from(s.indices);
      const f = randomF32(s.outer * s.axis * s.inner, s.axis);
      const fo = new Float32Array(s.outer * indices.length * s.inner);
      gather(f, indices, fo, s);
      expect(Array.from(fo)).toEqual(Array.from(gatherReference(f, indices, s)));
      const w = Int32Array.from({ length: f.length }, (_, i) => i * 7 - 3);
      const wo = new Int32Array(fo.length);
      gather(w, indices, wo, s);
      expect(Array.from(wo)).toEqual(Array.from(gatherReference(w, indices, s)));
    }
  });

  it('gather refuses an index outside the axis, naming it, before writing anything', () => {
    const out = new Float32Array(3).fill(7);
    expect(() => gather(new Float32Array(5), Int32Array.from([0, 4, 5]), out, { outer: 1, axis: 5, inner: 1 })).toThrow(
      new RangeError('Expected indices in [0, 4] but received index 5 at position 2'),
    );
    expect(Array.from(out)).toEqual([7, 7, 7]);
    expect(() => gatherReference(new Float32Array(5), [0, -1], { outer: 1, axis: 5, inner: 1 })).toThrow(
      'Expected indices in [0, 4] but received index -1 at position 1',
    );
  });

  describe('bad arguments are refused with one message shape', () => {
    const f = (n: number) => new Float32Array(n);
    const CASES: [string, () => void, typeof TypeError | typeof RangeError, string][] = [
      [
        'an unknown binary op',
        () => binaryOp('pow' as BinaryOpName, f(1), f(1), f(1), [1], [1], [1]),
        RangeError,
        'Expected one of "add", "sub", "mul", "div", "max", "min", "squaredDifference" for op but received string "pow"',
      ],
      [
        'a Float64Array operand',
        () => binaryOp('add', new Float64Array(1) as unknown as Float32Array, f(1), f(1), [1], [1], [1]),
        TypeError,
        'Expected a Float32Array for a but received Float64Array',
      ],
      [
        'an output of the wrong length',
        () => binaryOp('add', f(6), f(6), f(5), [2, 3], [3, 1], [3, 1]),
        RangeError,
        'Expected 6 elements (the product of shape [2, 3]) for out but received 5',
      ],
      [
        'strides of another rank',
        () => binaryOp('add', f(6), f(6), f(6), [2, 3], [3], [3, 1]),
        RangeError,
        'Expected 2 strides (one per dimension of shape) for aStrides but received 1',
      ],
      [
        'a negative stride',
        () => binaryOp('add', f(6), f(6), f(6), [2, 3], [3, 1], [3, -1]),
        RangeError,
        'Expected whole numbers >= 0 for bStrides[1] but received number -1',
      ],
      [
        'a view past the end of its array',
        () => binaryOp('add', f(6), f(6), f(6), [2, 3], [3, 2], [3, 1]),
        RangeError,
        'Expected an array that holds element 7 of the strided view for a but received one of 6 elements',
      ],
      [
        'a shape of rank 9',
        () => binaryOp('add', f(1), f(1), f(1), [1, 1, 1, 1, 1, 1, 1, 1, 1], [], []),
        RangeError,
        'Expected at most 8 dimensions for shape but received 9',
      ],
      [
        'a fractional size',
        () => binaryOp('add', f(3), f(3), f(3), [2.5], [1], [1]),
        RangeError,
        'Expected whole numbers >= 0 for shape[0] but received number 2.5',
      ],
      [
        'an unknown unary op',
        () => unaryOp('tanh' as UnaryOpName, f(1), f(1)),
        RangeError,
        'Expected one of "neg", "exp", "log", "sigmoid", "sqrt", "rsqrt", "square", "abs", "reciprocal" for op but received string "tanh"',
      ],
      ['a unary output of another length', () => unaryOp('exp', f(3), f(4)), RangeError, 'Expected 3 elements (as many as x) for out but received 4'],
      [
        'a copy between word types',
        () => stridedCopy({ data: f(2), strides: [1] }, { data: new Int32Array(2), strides: [1] }, [2]),
        TypeError,
        'Expected a Float32Array (the type of src.data) for dst.data but received Int32Array',
      ],
      [
        'a copy from a plain array',
        () => stridedCopy({ data: [1, 2] as unknown as Float32Array, strides: [1] }, { data: f(2), strides: [1] }, [2]),
        TypeError,
        'Expected a Float32Array or Int32Array for src.data but received Array',
      ],
      [
        'a negative offset',
        () => stridedCopy({ data: f(2), offset: -1, strides: [1] }, { data: f(2), strides: [1] }, [2]),
        RangeError,
        'Expected a whole number >= 0 for src.offset but received number -1',
      ],
      [
        'a copy that writes past the end',
        () => stridedCopy({ data: f(4), strides: [1] }, { data: f(4), offset: 1, strides: [1] }, [4]),
        RangeError,
        'Expected an array that holds element 4 of the strided view for dst.data but received one of 4 elements',
      ],
      ['softmax sizes that do not match x', () => softmaxRows(f(6), f(6), 2, 4), RangeError, 'Expected 8 elements (rows x cols = 2 x 4) for x but received 6'],
      ['a negative row count', () => softmaxRows(f(0), f(0), -1, 0), RangeError, 'Expected a whole number >= 0 for rows but received number -1'],
      [
        'a reduction without its shape',
        () => sumAxis(f(1), f(1), undefined as unknown as { outer: number; reduce: number; inner: number }),
        RangeError,
        'Expected a whole number >= 0 for shape.outer but received undefined',
      ],
      [
        'a reduction output of the wrong size',
        () => sumAxis(f(6), f(3), { outer: 2, reduce: 3, inner: 1 }),
        RangeError,
        'Expected 2 elements (outer x inner = 2 x 1) for out but received 3',
      ],
      [
        'a non-numeric scale',
        () => sumAxis(f(1), f(1), { outer: 1, reduce: 1, inner: 1 }, '2' as unknown as number),
        TypeError,
        'Expected a number for scale but received string "2"',
      ],
      [
        'float indices',
        () => gather(f(4), new Float32Array(1) as unknown as Int32Array, f(1), { outer: 1, axis: 4, inner: 1 }),
        TypeError,
        'Expected an Int32Array for indices but received Float32Array',
      ],
      [
        'a gather into another word type',
        () => gather(f(4), new Int32Array(1), new Int32Array(1) as unknown as Float32Array, { outer: 1, axis: 4, inner: 1 }),
        TypeError,
        'Expected a Float32Array (the type of x) for out but received Int32Array',
      ],
      ['a streaming read of numbers', () => streamRead([1, 2] as unknown as Float32Array), TypeError, 'Expected a Float32Array for data but received Array'],
      [
        'an sgemm with no rows',
        () => timeSgemmDirect({ m: 0, n: 4, k: 4 }, 1, 1),
        RangeError,
        'Expected a whole number >= 1 for shape.m but received number 0',
      ],
    ];
    for (const [name, call, Type, message] of CASES) {
      it(name, () => {
        expect(call).toThrow(Type);
        expect(call).toThrow(message);
      });
    }

    it('the CUDA timers want device-resident logits', () => {
      const args = {
        logitsWith: f(4),
        logitsWithout: f(4),
        tokens: Int32Array.from([0, 1]),
        vocabSize: 2,
        seqOffsets: Int32Array.from([0, 2]),
        advantages: Float32Array.from([1]),
      };
      expect(() => timeMiForwardCuda(args, 1)).toThrow(
        new TypeError('Expected a DeviceTensor (the kernels are timed on device-resident logits) for logitsWith but received Float32Array'),
      );
      const bwd = { logits: f(4), tokens: Int32Array.from([0, 1]), vocabSize: 2, lse: f(2), coef: f(2) };
      expect(() => timeLogprobBackwardCuda(bwd, 1)).toThrow(
        new TypeError('Expected a DeviceTensor (the kernels are timed on device-resident logits) for logits but received Float32Array'),
      );
    });
  });

  it('streamRead returns the sum it read; timeSgemmDirect a positive time', () => {
    expect(streamRead(new Float32Array(200000).fill(0.5))).toBe(100000);
    expect(timeSgemmDirect({ m: 16, n: 16, k: 16 }, 2, 1)).toBeGreaterThan(0);
  });
});

// rapo-native against the stock cpu backend: every replaced kernel on random shapes (transposes,
// broadcast batch, size-1 and odd dimensions), forward and gradients, plus the output-array pool's
// safety and a few training steps of a small model.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from './backend.js';
import { BufferPool, NATIVE_BACKEND, nativePoolStats, registerNativeBackend } from './native-backend.js';
import { parseConfig } from './config.js';
import { LlamaModel } from './model.js';
import { mulberry32 } from '@rapo/random';
import { shiftTargets, tokenLogprobs } from './logprob.js';

beforeAll(() => {
  // CI builds the addon; a missing one is a failure here, not a skip.
  expect(registerNativeBackend()).toBeUndefined();
});

type Input = { shape: number[]; values: Float32Array | Int32Array; dtype: 'float32' | 'int32' };
const rand = mulberry32(7);
function randn(shape: number[], scale = 1): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (rand() * 2 - 1) * scale;
  return { shape, values, dtype: 'float32' };
}
function ints(shape: number[], max: number): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = Math.floor(rand() * max);
  return { shape, values, dtype: 'int32' };
}

/** Runs fn on fresh tensors of `inputs` under a backend; returns every output's shape and values. */
function runOn(backend: string, inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]) {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.values, i.shape, i.dtype));
    const out = fn(...xs);
    return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
  });
}

/** fn on rapo-native equals fn on cpu: same shapes and dtypes, values within rtol/atol. */
function expectSame(inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[], tol = 1e-5) {
  const want = runOn('cpu', inputs, fn);
  const got = runOn(NATIVE_BACKEND, inputs, fn);
  expect(got.map((o) => [o.shape, o.dtype])).toEqual(want.map((o) => [o.shape, o.dtype]));
  for (let o = 0; o < want.length; o++) {
    const w = want[o]!.values;
    const g = got[o]!.values;
    for (let i = 0; i < w.length; i++) {
      if (Number.isNaN(w[i]!)) expect(g[i], `output ${o}[${i}]`).toBeNaN();
      else if (Math.abs(g[i]! - w[i]!) > tol * (1 + Math.abs(w[i]!))) expect(g[i], `output ${o}[${i}]`).toBeCloseTo(w[i]!, 5);
    }
  }
}

/** Forward and the gradient with respect to every float input (a random cotangent). */
function expectSameWithGrads(inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor, tol = 1e-5) {
  expectSame(inputs, fn, tol);
  const floats = inputs.map((x, i) => (x.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
  const outShape = runOn('cpu', inputs, fn)[0]!.shape;
  const dy = randn(outShape);
  expectSame(
    [...inputs, dy],
    (...xs) => {
      const args = xs.slice(0, inputs.length);
      const g = tf.grads((...fl: tf.Tensor[]) => {
        const all = args.map((a, i) => (floats.includes(i) ? fl[floats.indexOf(i)]! : a));
        return fn(...all);
      });
      return g(
        floats.map((i) => args[i]!),
        xs[inputs.length],
      );
    },
    tol,
  );
}

describe('rapo-native kernels equal the cpu backend', () => {
  it('BatchMatMul: ranks 2-4, both transposes, broadcast batch, size-1 and odd dims, with gradients', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[3, 5], [5, 7], false, false],
      [[5, 3], [5, 7], true, false],
      [[3, 5], [7, 5], false, true],
      [[5, 3], [7, 5], true, true],
      [[1, 1], [1, 1], false, false],
      [[1, 9], [9, 1], false, false],
      [[2, 17, 33], [2, 33, 9], false, false],
      [[4, 3, 13, 6], [3, 6, 11], false, false], // b broadcast over the leading batch dim
      [[1, 13, 6], [5, 11, 6], false, true], // a broadcast
      [[2, 1, 6, 13], [1, 3, 6, 11], true, false], // both broadcast
      [[64, 70], [70, 65], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      // tfjs's own BatchMatMul gradient does not reduce over broadcast batch dims (on any
      // backend), so those cases check the forward pass only.
      const broadcast = sa.length !== sb.length || sa.slice(0, -2).some((d, i) => d !== sb[i]);
      (broadcast ? expectSame : expectSameWithGrads)([randn(sa), randn(sb)], (a, b) => tf.matMul(a!, b!, ta, tb), 1e-4);
    }
  });

  it('fused matMul with bias and activation', () => {
    expectSame(
      [randn([7, 5]), randn([5, 9]), randn([9])],
      (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' }),
      1e-4,
    );
    expectSame(
      [randn([5, 7]), randn([9, 5])],
      (a, b) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: true, transposeB: true }),
      1e-4,
    );
  });

  it('elementwise binary ops with broadcasting, with gradients', () => {
    const pairs: [number[], number[]][] = [
      [
        [6, 7],
        [6, 7],
      ],
      [[6, 7], [7]],
      [
        [6, 7],
        [6, 1],
      ],
      [[6, 7], []],
      [[], [3, 5]],
      [
        [2, 1, 5, 3],
        [4, 1, 3],
      ],
      [[1], [1]],
      [
        [3, 1, 9],
        [1, 4, 1],
      ],
      [
        [2, 3, 4, 5, 3],
        [3, 1, 5, 1],
      ],
    ];
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['add', tf.add],
      ['sub', tf.sub],
      ['mul', tf.mul],
      ['div', (a, b) => tf.div(a, tf.add(tf.abs(b), 0.5))],
      ['maximum', tf.maximum],
      ['minimum', tf.minimum],
      ['squaredDifference', tf.squaredDifference],
    ];
    for (const [name, op] of ops) {
      for (const [sa, sb] of pairs) {
        // tfjs's maximum/minimum/squaredDifference gradients do not reduce over broadcast
        // dims (on any backend).
        const check =
          ['maximum', 'minimum', 'squaredDifference'].includes(name) && JSON.stringify(sa) !== JSON.stringify(sb) ? expectSame : expectSameWithGrads;
        try {
          check([randn(sa), randn(sb)], (a, b) => op(a!, b!));
        } catch (e) {
          throw new Error(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}: ${(e as Error).message}`, { cause: e });
        }
      }
    }
    // NaN passes through maximum/minimum as on cpu; int32 goes to the cpu kernels.
    expectSame([{ shape: [3], dtype: 'float32', values: new Float32Array([NaN, 1, -2]) }, randn([3])], (a, b) => [tf.maximum(a!, b!), tf.minimum(a!, b!)]);
    expectSame([ints([4, 3], 9), ints([3], 9)], (a, b) => [tf.add(a!, b!), tf.mul(a!, b!), tf.sub(a!, b!)]);
  });

  it('unary ops, with gradients', () => {
    const pos = (x: tf.Tensor) => tf.add(tf.abs(x), 0.1);
    const ops: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ['neg', tf.neg],
      ['exp', tf.exp],
      ['log', (x) => tf.log(pos(x))],
      ['sigmoid', tf.sigmoid],
      ['sqrt', (x) => tf.sqrt(pos(x))],
      ['rsqrt', (x) => tf.rsqrt(pos(x))],
      ['square', tf.square],
      ['abs', tf.abs],
      ['reciprocal', (x) => tf.reciprocal(pos(x))],
    ];
    for (const [name, op] of ops) {
      for (const shape of [[1], [5, 7], [3, 1, 33], [0, 4]]) {
        try {
          expectSameWithGrads([randn(shape, 3)], (x) => op(x!), 1e-5);
        } catch (e) {
          throw new Error(`${name} ${JSON.stringify(shape)}: ${(e as Error).message}`, { cause: e });
        }
      }
    }
  });

  it('Sum and Mean over suffix, prefix, middle and scattered axes, keepDims, with gradients', () => {
    const shape = [3, 4, 5, 6];
    const axesList: (number | number[] | undefined)[] = [undefined, -1, 0, [0, 1], [1, 2], [0, 2], [1, 3], [0, 1, 2, 3], [3, 0]];
    for (const axis of axesList) {
      for (const keep of [false, true]) {
        expectSameWithGrads([randn(shape)], (x) => tf.sum(x!, axis, keep), 1e-5);
        expectSameWithGrads([randn(shape)], (x) => tf.mean(x!, axis, keep), 1e-5);
      }
    }
    expectSame([randn([1, 1])], (x) => [tf.sum(x!), tf.mean(x!, 0)]);
    expectSame([ints([3, 4], 5)], (x) => tf.sum(x!, 1)); // int32 stays on the cpu kernel
  });

  it('Slice, SplitV, Concat, Transpose and Tile, float32 and int32, with gradients', () => {
    const x = randn([4, 5, 6, 3]);
    expectSameWithGrads([x], (t) => tf.slice(t!, [1, 0, 2, 0], [2, 5, 3, 3])); // strided
    expectSameWithGrads([x], (t) => tf.slice(t!, [1, 0, 0, 0], [2, -1, -1, -1])); // one contiguous range
    expectSameWithGrads([x], (t) => tf.slice(t!, [0, 0, 0, 1], [4, 5, 6, 1]));
    expectSame([ints([4, 5, 6], 100)], (t) => [tf.slice(t!, [1, 2, 3], [2, 2, 2]), ...tf.split(t!, [2, 4], 2)]);
    for (const axis of [0, 1, 2, 3]) {
      expectSameWithGrads([x], (t) =>
        tf.concat(tf.split(t!, axis === 3 ? [1, 2] : 2 + (axis % 2) === 3 ? [1, 2, 2] : [1, t!.shape[axis]! - 1], axis).reverse(), axis),
      );
      expectSameWithGrads([x, randn([4, 5, 6, 3].map((s, d) => (d === axis ? 2 : s)))], (a, b) => tf.concat([a!, b!, a!], axis));
    }
    expectSame([ints([2, 3], 9), ints([2, 4], 9)], (a, b) => tf.concat([a!, b!], 1));
    for (const perm of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [0, 2, 1, 3],
      [1, 0, 3, 2],
      [2, 3, 0, 1],
    ])
      expectSameWithGrads([x], (t) => tf.transpose(t!, perm));
    expectSame([ints([3, 7], 50)], (t) => tf.transpose(t!));
    for (const reps of [
      [1, 1, 1, 1],
      [2, 1, 3, 1],
      [1, 3, 1, 2],
    ])
      expectSameWithGrads([randn([2, 1, 3, 2])], (t) => tf.tile(t!, reps));
    expectSame([ints([2, 3], 9)], (t) => tf.tile(t!, [2, 2]));
  });

  it('GatherV2 along any axis, int32 tables too, with gradients; a bad index is the cpu error', () => {
    const table = randn([9, 4, 5]);
    for (const axis of [0, 1, 2]) {
      const idx = ints([2, 3], [9, 4, 5][axis]!);
      expectSameWithGrads([table, idx], (t, i) => tf.gather(t!, i!, axis));
    }
    expectSame([ints([6, 3], 99), ints([4], 6)], (t, i) => tf.gather(t!, i!));
    for (const backend of ['cpu', NATIVE_BACKEND]) {
      tf.setBackend(backend);
      expect(() => tf.tidy(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([0, 3], 'int32')))).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    }
  });

  it('Softmax and logSoftmax over the last axis, with gradients', () => {
    for (const shape of [[1], [4, 7], [2, 3, 33], [5, 1]]) {
      expectSameWithGrads([randn(shape, 5)], (x) => tf.softmax(x!));
      expectSameWithGrads([randn(shape, 5)], (x) => tf.logSoftmax(x!));
    }
    expectSame([{ shape: [2, 3], dtype: 'float32', values: new Float32Array([-Infinity, 0, 1, 1000, 1000, -1000]) }], (x) => tf.softmax(x!));
  });
});

describe('rapo-native output-array pool', () => {
  it('recycles the arrays of disposed tensors', () => {
    tf.setBackend(NATIVE_BACKEND);
    const a = tf.ones([256, 256]);
    tf.add(a, 1).dispose();
    const free = nativePoolStats()!.freeBytes;
    expect(free).toBeGreaterThanOrEqual(256 * 256 * 4);
    const b = tf.add(a, 2); // the same size: taken from the pool
    expect(nativePoolStats()!.freeBytes).toBe(free - 256 * 256 * 4);
    expect(b.dataSync()[0]).toBe(3);
    tf.dispose([a, b]);
  });

  it('makes room for new sizes by dropping the sizes least recently asked for', () => {
    const pool = new BufferPool(4 * 100); // room for 100 floats
    const free = (n: number) => {
      const a = pool.take('float32', n);
      pool.ref(a);
      pool.unref(a);
    };
    free(40);
    free(30);
    expect(pool.freeBytes).toBe(4 * 70);
    pool.ref(pool.take('float32', 40)); // asked for 40 again: now the most recent size (held)
    free(40);
    free(50); // full: drops the 30s, the least recently asked for, and keeps the 40s
    expect(pool.freeBytes).toBe(4 * 90);
    const again = pool.take('float32', 40);
    expect(pool.freeBytes).toBe(4 * 50); // the 40 came from the pool
    pool.ref(again);
    pool.take('float32', 30);
    expect(pool.freeBytes).toBe(4 * 50); // the 30 did not: it was dropped
    free(200); // larger than the whole pool: never kept
    expect(pool.freeBytes).toBe(4 * 50);
  });

  it('never recycles an array handed out by dataSync or data', async () => {
    tf.setBackend(NATIVE_BACKEND);
    const x = tf.fill([64, 64], 2);
    const y = tf.mul(x, 3);
    const seen = y.dataSync();
    const z = tf.mul(x, 5);
    const seenAsync = await z.data();
    tf.dispose([y, z]);
    const later = tf.tidy(() => [tf.mul(x, 7), tf.mul(x, 11), tf.add(x, 13)].map((t) => t.dataSync()[0]));
    expect(later).toEqual([14, 22, 15]);
    expect(seen.every((v) => v === 6)).toBe(true);
    expect((seenAsync as Float32Array).every((v) => v === 10)).toBe(true);
    x.dispose();
  });

  it('keeps an array alive while a slice still views it', () => {
    tf.setBackend(NATIVE_BACKEND);
    const x = tf.range(0, 64 * 64).reshape([64, 64]);
    const parent = tf.add(x, 0);
    const view = tf.slice(parent, [10, 0], [2, 64]); // contiguous rows: a view of parent's array
    parent.dispose();
    tf.tidy(() => [tf.add(x, 1), tf.add(x, 2), tf.add(x, 3)]);
    expect(view.dataSync()[0]).toBe(640);
    expect(view.dataSync()[127]).toBe(767);
    tf.dispose([x, view]);
  });
});

describe('rapo-native trains like cpu', () => {
  it('a small model after four Adam steps has the same parameters', () => {
    const config = parseConfig({
      vocab_size: 40,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 24,
      max_position_embeddings: 32,
    });
    const rows = [
      [1, 5, 9, 3, 7, 2, 8, 4],
      [6, 2, 11, 19, 4, 33, 0, 0],
    ];
    const attention = [
      [1, 1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 0, 0],
    ];
    const train = (backend: string) => {
      tf.setBackend(backend);
      const model = LlamaModel.init(config, 3);
      const opt = tf.train.adam(0.01);
      const { targets, mask } = shiftTargets(rows, attention);
      for (let step = 0; step < 4; step++) {
        tf.tidy(() => {
          const ids = tf.tensor2d(rows, [2, 8], 'int32');
          const att = tf.tensor2d(attention, [2, 8], 'int32');
          const m = tf.tensor2d(mask, [2, 8]);
          opt.minimize(
            () => tf.neg(tf.mean(tokenLogprobs(model.forward(ids, att).logits, tf.tensor2d(targets, [2, 8], 'int32'), m))) as tf.Scalar,
            false,
            model.trainableVariables,
          );
        });
      }
      const params = model.trainableVariables.map((v) => Array.from(v.dataSync()));
      opt.dispose();
      model.dispose();
      return params;
    };
    const cpu = train('cpu');
    const native = train(NATIVE_BACKEND);
    let worst = 0;
    for (let p = 0; p < cpu.length; p++) for (let i = 0; i < cpu[p]!.length; i++) worst = Math.max(worst, Math.abs(cpu[p]![i]! - native[p]![i]!));
    expect(worst).toBeLessThan(1e-4);
    // And training moved them: the comparison is not between two untouched initialisations.
    tf.setBackend('cpu');
    const init = LlamaModel.init(config, 3);
    const moved = init.trainableVariables.some((v, p) => Array.from(v.dataSync()).some((x, i) => Math.abs(x - cpu[p]![i]!) > 1e-3));
    init.dispose();
    expect(moved).toBe(true);
  });
});

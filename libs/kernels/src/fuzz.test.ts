// Thousands of malformed calls. None may crash the process; each must return a well-formed
// result or throw TypeError/RangeError. The addon's own argument checks (which guard direct
// calls to the raw addon) must agree, message for message, with the TypeScript checks.
import { describe, expect, it } from 'vitest';
import { backendInfo, logprobBackward, miForward, MI_OUTPUTS, toBf16 } from './index.js';
import { loadNative } from './loader.js';
import { rng } from './test-helpers.js';
import { formatNumber } from './validate.js';

type Args = Record<string, unknown>;

function weirdValue(r: () => number, n: number, v: number): unknown {
  const lengths = [0, 1, n, n - 1, n + 1, n * v, n * v - 1, n * v + 1].filter((k) => k >= 0);
  const k = lengths[Math.floor(r() * lengths.length)]!;
  const pool: (() => unknown)[] = [
    () => undefined,
    () => null,
    () => 0,
    () => -1,
    () => 1.5,
    () => NaN,
    () => Infinity,
    () => -Infinity,
    () => 1e20,
    () => 2 ** 31,
    () => 'x',
    () => 'robust',
    () => true,
    () => ({}),
    () => [1, 2],
    () => new Float32Array(k),
    () => new Uint16Array(k),
    () => new Int32Array(k),
    () => new Uint8Array(k),
    () => new Float64Array(k),
    () => new Int32Array(k).fill(v),
    () => new Uint8Array(k).fill(2),
    () => new Float32Array(k).fill(NaN),
  ];
  return pool[Math.floor(r() * pool.length)]!();
}

function validArgs(r: () => number, n: number, v: number, dtype: 'f32' | 'bf16'): Args {
  const w = Float32Array.from({ length: n * v }, () => r() * 8 - 4);
  const wo = Float32Array.from({ length: n * v }, () => r() * 8 - 4);
  const s = 1 + Math.floor(r() * n);
  const off = new Int32Array(s + 1);
  for (let k = 1; k < s; k++) off[k] = Math.min(n, off[k - 1]! + Math.floor(r() * 3));
  off[s] = n;
  const variant = ['paper', 'symmetric', 'bounded'][Math.floor(r() * 3)];
  return {
    dtype,
    logitsWith: dtype === 'f32' ? w : toBf16(w),
    logitsWithout: dtype === 'f32' ? wo : toBf16(wo),
    tokens: Int32Array.from({ length: n }, () => Math.floor(r() * v)),
    vocabSize: v,
    mask: r() < 0.5 ? Uint8Array.from({ length: n }, () => (r() < 0.8 ? 1 : 0)) : undefined,
    seqOffsets: off,
    advantages: Float32Array.from({ length: s }, () => r() * 2 - 1),
    norm: ['robust', 'clip', 'tanh', 'none'][Math.floor(r() * 4)],
    scope: r() < 0.5 ? 'batch' : 'sequence',
    renorm: variant === 'bounded' ? 'none' : ['none', 'sequence', 'batch'][Math.floor(r() * 3)],
    lamPos: r(),
    lamNeg: r(),
    variant,
    groupSize: r() < 0.5 ? undefined : [1, s][Math.floor(r() * 2)],
    neutral: r() < 0.3 ? Uint8Array.from({ length: n }, () => (r() < 0.2 ? 1 : 0)) : undefined,
    scores: r() < 0.3 ? Float32Array.from({ length: n }, () => r() * 2 - 1) : undefined,
    cap: r() < 0.5 ? undefined : r(),
  };
}

const KEYS = [
  'dtype',
  'logitsWith',
  'logitsWithout',
  'tokens',
  'vocabSize',
  'mask',
  'seqOffsets',
  'advantages',
  'advantagesPerToken',
  'temperature',
  'norm',
  'scope',
  'scale',
  'lamPos',
  'lamNeg',
  'renorm',
  'variant',
  'groupSize',
  'cap',
  'neutral',
  'scores',
];

function mutate(a: Args, r: () => number, n: number, v: number): void {
  const count = 1 + Math.floor(r() * 3);
  for (let m = 0; m < count; m++) {
    const kind = Math.floor(r() * 6);
    if (kind === 0) a[KEYS[Math.floor(r() * KEYS.length)]!] = weirdValue(r, n, v);
    else if (kind === 1) delete a[KEYS[Math.floor(r() * KEYS.length)]!];
    else if (kind === 2 && a.tokens instanceof Int32Array) a.tokens[Math.floor(r() * n)] = Math.floor(r() * (v + 6)) - 3;
    else if (kind === 3 && a.seqOffsets instanceof Int32Array) {
      a.seqOffsets[Math.floor(r() * a.seqOffsets.length)] = Math.floor(r() * (n + 3)) - 1;
    } else if (kind === 4) {
      const specials = [NaN, Infinity, -Infinity];
      const arr = r() < 0.5 ? a.logitsWith : a.logitsWithout;
      if (!(arr instanceof Float32Array)) continue;
      if (r() < 0.3) arr.fill(-Infinity, 0, v);
      else arr[Math.floor(r() * arr.length)] = specials[Math.floor(r() * 3)]!;
    } else if (kind === 5) {
      a.temperature = [0, -1, NaN, 1e-30, 1e-50, 0.5, 2][Math.floor(r() * 7)];
    }
  }
}

function outcome(f: () => unknown): { ok: true; value: unknown } | { ok: false; error: Error } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: e as Error };
  }
}

const info = backendInfo();

describe.skipIf(!info.native)('native addon under malformed input', () => {
  it('5000 malformed miForward calls: typed errors only, and the same errors as the TypeScript checks', () => {
    const addon = loadNative();
    const r = rng(2024);
    let thrown = 0;
    for (let iter = 0; iter < 5000; iter++) {
      const n = 1 + Math.floor(r() * 6);
      const v = 1 + Math.floor(r() * 10);
      const a = validArgs(r, n, v, r() < 0.5 ? 'f32' : 'bf16');
      mutate(a, r, n, v);
      const raw = outcome(() => addon.miForward(a, 'cpu'));
      if (raw.ok) {
        const res = raw.value as Record<string, Float32Array>;
        for (const key of MI_OUTPUTS) expect(res[key]).toBeInstanceOf(Float32Array);
      } else {
        thrown++;
        expect([TypeError, RangeError]).toContain(raw.error.constructor);
      }
      if (a.dtype === undefined) continue; // the TypeScript API infers a missing dtype
      const pub = outcome(() => miForward(a as never, { backend: 'cpu' }));
      expect(pub.ok, `raw: ${raw.ok ? 'ok' : raw.error.message}; public: ${pub.ok ? 'ok' : pub.error.message}`).toBe(raw.ok);
      if (!pub.ok && !raw.ok) {
        expect(raw.error.message).toBe(pub.error.message);
        expect(raw.error.constructor).toBe(pub.error.constructor);
      }
      // The CUDA entry point checks arguments the same way, then needs a device.
      const cuda = outcome(() => addon.miForward(a, 'cuda'));
      if (!cuda.ok) expect(cuda.error).toBeInstanceOf(Error);
    }
    expect(thrown).toBeGreaterThan(2500);
  });

  it('2000 malformed logprobBackward calls and odd top-level arguments', () => {
    const addon = loadNative();
    const r = rng(77);
    for (let iter = 0; iter < 2000; iter++) {
      const n = 1 + Math.floor(r() * 5);
      const v = 1 + Math.floor(r() * 9);
      const a: Args = {
        dtype: r() < 0.5 ? 'f32' : 'bf16',
        logits: new Float32Array(n * v),
        tokens: new Int32Array(n),
        vocabSize: v,
        lse: new Float32Array(n).fill(Math.log(v)),
        coef: new Float32Array(n).fill(1),
      };
      if (a.dtype === 'bf16') a.logits = new Uint16Array(n * v);
      const keys = ['dtype', 'logits', 'tokens', 'vocabSize', 'lse', 'coef', 'temperature', 'outDtype', 'out'];
      for (let m = 0; m < 1 + Math.floor(r() * 2); m++) {
        if (r() < 0.8) a[keys[Math.floor(r() * keys.length)]!] = weirdValue(r, n, v);
        else delete a[keys[Math.floor(r() * keys.length)]!];
      }
      const raw = outcome(() => addon.logprobBackward(a, 'cpu'));
      if (!raw.ok) expect([TypeError, RangeError]).toContain(raw.error.constructor);
      if (a.dtype !== undefined && a.outDtype !== undefined) {
        const pub = outcome(() => logprobBackward(a as never, { backend: 'cpu' }));
        expect(pub.ok).toBe(raw.ok);
        if (!pub.ok && !raw.ok) expect(raw.error.message).toBe(pub.error.message);
      }
    }
    for (const bad of [undefined, null, 3, 'x', [], new Float32Array(3)]) {
      expect(() => addon.miForward(bad as never, 'cpu')).toThrow(TypeError);
      expect(() => addon.logprobBackward(bad as never, 'cpu')).toThrow(TypeError);
    }
    expect(() => addon.miForward({} as never, 'tpu' as never)).toThrow('Expected "cpu" or "cuda" for backend but received string "tpu"');
    expect(() => addon.setCpuThreads(-1)).toThrow(RangeError);
    expect(() => addon.streamRead(new Float64Array(3) as never)).toThrow(TypeError);
  });

  it('async calls reject with the same typed errors', async () => {
    const addon = loadNative();
    const a = validArgs(rng(5), 3, 4, 'f32');
    a.mask = undefined;
    (a.logitsWith as Float32Array)[5] = NaN;
    await expect(addon.miForwardAsync(a, 'cpu')).rejects.toThrow(RangeError);
    await expect(addon.miForwardAsync(a, 'cpu')).rejects.toThrow('received NaN at logitsWith[1, 1]');
    expect(() => addon.miForwardAsync({ ...a, tokens: [1] }, 'cpu')).toThrow(TypeError);
  });
});

describe('formatNumber prints as C printf("%.9g") does', () => {
  it.each([
    [1e20, '1e+20'],
    [1.5, '1.5'],
    [1e-5, '1e-05'],
    [Math.fround(0.1), '0.100000001'],
    [123456789.5, '123456790'],
    [-2.25e-7, '-2.25e-07'],
    [0.0001, '0.0001'],
    [3, '3'],
    [-0.1, '-0.1'],
    [NaN, 'NaN'],
    [-Infinity, '-Infinity'],
  ])('%s -> %s', (x, want) => expect(formatNumber(x)).toBe(want));
});

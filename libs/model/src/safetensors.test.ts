// Tests for the safetensors reader/writer: float16/bfloat16 rounding against an independent oracle, round trips,
// file layout, atomic writes, every class of corrupt header, and interop with the reference layout.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bf16BitsToFloat32,
  decodeSafetensors,
  encodeSafetensors,
  float16BitsToFloat32,
  float32ToBf16Bits,
  float32ToFloat16Bits,
  readSafetensors,
  SafetensorsError,
  writeSafetensors,
  type TensorToWrite,
} from './safetensors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapo-safetensors-'));
  dirs.push(dir);
  return dir;
}

/** The float32 whose bit pattern is `bits`. */
function fromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}
function toBits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}

/** Value of a non-negative finite half, by the textbook formula (independent of the code under test). */
function halfValue(h: number): number {
  const exponent = h >> 10;
  const mantissa = h & 0x3ff;
  return exponent === 0 ? mantissa * 2 ** -24 : (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Nearest half to a float32 value, ties to even, by search over the sorted positive halves. */
function nearestHalf(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // halfway between 65504 and 2^16 or beyond: overflow
  const value = (h: number) => (h === 0x7c00 ? 65536 : halfValue(h));
  let lo = 0;
  let hi = 0x7c00; // value(lo) <= a < value(hi)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (value(mid) <= a) lo = mid;
    else hi = mid;
  }
  const down = a - value(lo);
  const up = value(hi) - a;
  return sign | (down < up ? lo : up < down ? hi : lo % 2 === 0 ? lo : hi);
}

/** Encodes an 8-byte little-endian length, the header text, then `data` (bytes, or that many zero bytes). */
function craft(header: string | object, data: number | number[] = 0, length?: number | bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const payload = typeof data === 'number' ? new Uint8Array(data) : Uint8Array.from(data);
  const out = new Uint8Array(8 + json.length + payload.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length ?? json.length), true);
  out.set(json, 8);
  out.set(payload, 8 + json.length);
  return out;
}

/** A deterministic pseudo-random sequence of unsigned 32-bit integers. */
function randomU32(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

function headerOf(bytes: Uint8Array): { n: number; header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) };
}

describe('float16 and bfloat16 conversion', () => {
  it('encodes landmark values to the expected half bit patterns', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [-65504, 0xfbff],
      [2 ** -14, 0x0400],
      [2 ** -24, 0x0001],
      [1023 * 2 ** -24, 0x03ff],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [65519, 0x7bff],
      [65520, 0x7c00],
      [1e10, 0x7c00],
      [1e-10, 0x0000],
      [-1e-10, 0x8000],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [2 ** -25, 0x0000],
      [3 * 2 ** -25, 0x0002],
      [2 ** -14 - 2 ** -25, 0x0400],
      [1 / 3, 0x3555],
    ];
    for (const [x, bits] of cases) expect([x, float32ToFloat16Bits(x)]).toEqual([x, bits]);
    const nan = float32ToFloat16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
  });

  it('decodes every half pattern to its exact value', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const magnitude = h & 0x7fff;
      const value = float16BitsToFloat32(h);
      const expected = magnitude > 0x7c00 ? NaN : (h & 0x8000 ? -1 : 1) * (magnitude === 0x7c00 ? Infinity : halfValue(magnitude));
      if (!Object.is(value, expected) || (magnitude <= 0x7c00 && float32ToFloat16Bits(value) !== h)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest even at every midpoint between halves and one float32 ulp either side', () => {
    const wrong: string[] = [];
    for (let h = 0; h < 0x7c00; h++) {
      const mid = (halfValue(h) + (h === 0x7bff ? 65536 : halfValue(h + 1))) / 2;
      const midBits = toBits(mid);
      const even = h % 2 === 0 ? h : h + 1;
      const got = [
        fromBits(midBits), // the midpoint itself is exact in float32
        float32ToFloat16Bits(mid),
        float32ToFloat16Bits(fromBits(midBits - 1)),
        float32ToFloat16Bits(fromBits(midBits + 1)),
        float32ToFloat16Bits(-mid),
      ];
      const want = [mid, even, h, h + 1, 0x8000 | even];
      if (got.some((g, i) => g !== want[i])) wrong.push(`${h}: got ${got.join()} want ${want.join()}`);
    }
    expect(wrong).toEqual([]);
  });

  it('agrees with the oracle on random float32 values across and beyond the half range', () => {
    const next = randomU32(12345);
    const wrong: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const exponent = 90 + ((next() >>> 8) % 56); // 2^-37 .. 2^18
      const bits = next();
      const x = fromBits(((bits & 0x80000000) | (exponent << 23) | (bits & 0x7fffff)) >>> 0);
      if (float32ToFloat16Bits(x) !== nearestHalf(x)) wrong.push(x);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds bfloat16 to nearest even and decodes it exactly', () => {
    const wrong: number[] = [];
    for (let b = 0; b < 0x7f80; b++) {
      const x = fromBits(b << 16);
      const got = [bf16BitsToFloat32(b), float32ToBf16Bits(x), float32ToBf16Bits(-x)];
      // Just below, exactly at (a tie: to even) and just above the midpoint to the next bfloat16.
      got.push(...[0x7fff, 0x8000, 0x8001].map((low) => float32ToBf16Bits(fromBits((b << 16) | low))));
      const want = [x, b, b | 0x8000, b, b % 2 === 0 ? b : b + 1, b + 1];
      if (got.some((g, i) => !Object.is(g, want[i]))) wrong.push(b);
    }
    expect(wrong).toEqual([]);
    expect(float32ToBf16Bits(Infinity)).toBe(0x7f80);
    expect(float32ToBf16Bits(-Infinity)).toBe(0xff80);
    expect(float32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // max float32 rounds up to inf
    expect(bf16BitsToFloat32(float32ToBf16Bits(NaN))).toBeNaN();
  });

  it('rejects bit patterns that are not 16-bit integers', () => {
    expect(thrown(() => float16BitsToFloat32(0x10000))).toEqual(new RangeError('float16BitsToFloat32: h must be an integer in [0, 65535], got a number 65536'));
    expect(thrown(() => bf16BitsToFloat32(1.5))).toEqual(new RangeError('bf16BitsToFloat32: b must be an integer in [0, 65535], got a number 1.5'));
    expect(thrown(() => bf16BitsToFloat32(-1))).toBeInstanceOf(RangeError);
  });
});

describe('encode and decode', () => {
  const specials = [0, -0, 1, -1.5, 0.1, 1 / 3, 2 ** -14, 2 ** -24, 3 * 2 ** -25, 1e-30, 65504, 70000, -1e20, 1e38, Infinity, -Infinity, NaN];

  it('round-trips F32 bit for bit, including NaN payloads and float32 subnormals', () => {
    const bits = new Uint32Array([0x00000000, 0x80000000, 0x00000001, 0x007fffff, 0x7f7fffff, 0xff800000, 0x7f800001, 0xffc01234, 0x3f800000]);
    const data = new Float32Array(bits.buffer);
    const { tensors } = decodeSafetensors(encodeSafetensors([{ name: 'w', shape: [3, 3], data }]));
    const w = tensors.get('w')!;
    expect(w.dtype).toBe('F32');
    expect(w.shape).toEqual([3, 3]);
    expect(new Uint32Array(w.data.buffer)).toEqual(bits);
  });

  it('round-trips F16 and BF16 to the nearest representable value, exactly when representable', () => {
    const data = Float32Array.from(specials);
    const { tensors } = decodeSafetensors(
      encodeSafetensors([
        { name: 'half', shape: [data.length], data, dtype: 'F16' },
        { name: 'brain', shape: [data.length], data, dtype: 'BF16' },
      ]),
    );
    const half = tensors.get('half')!;
    const brain = tensors.get('brain')!;
    expect([half.dtype, brain.dtype]).toEqual(['F16', 'BF16']);
    expect(Array.from(half.data)).toEqual(specials.map((x) => float16BitsToFloat32(float32ToFloat16Bits(x))));
    expect(Array.from(brain.data)).toEqual(specials.map((x) => bf16BitsToFloat32(float32ToBf16Bits(x))));
    // Spot checks: exact where representable, rounded otherwise.
    expect(Object.is(half.data[1], -0)).toBe(true);
    expect(Array.from(half.data.subarray(4, 16))).toEqual([
      0.0999755859375,
      0.333251953125,
      2 ** -14,
      2 ** -24,
      2 ** -23,
      0,
      65504,
      Infinity,
      -Infinity,
      Infinity,
      Infinity,
      -Infinity,
    ]);
    expect(half.data[16]).toBeNaN();
    expect([brain.data[2], brain.data[3], brain.data[4], brain.data[13]]).toEqual([1, -1.5, 0.10009765625, 9.969209968386869e37]);
    expect(brain.data[16]).toBeNaN();
  });

  it('keeps random values within half and bfloat16 precision', () => {
    const data = new Float32Array(10_000);
    const next = randomU32(7);
    for (let i = 0; i < data.length; i++) data[i] = (next() / 2 ** 32 - 0.5) * 2 ** ((i % 30) - 14);
    const { tensors } = decodeSafetensors(
      encodeSafetensors([
        { name: 'h', shape: [100, 100], data, dtype: 'F16' },
        { name: 'b', shape: [100, 100], data, dtype: 'BF16' },
      ]),
    );
    const half = tensors.get('h')!.data;
    const brain = tensors.get('b')!.data;
    const wrong: number[] = [];
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      // Relative error at most half an ulp: 2^-11 for halves (absolute 2^-25 among subnormals), 2^-8 for bfloat16.
      if (Math.abs(half[i]! - x) > Math.max(Math.abs(x) * 2 ** -11, 2 ** -25) || Math.abs(brain[i]! - x) > Math.abs(x) * 2 ** -8) wrong.push(x);
    }
    expect(wrong).toEqual([]);
  });

  it('keeps a float32 NaN whose payload sits in the dropped bits a NaN in F16 and BF16', () => {
    const data = new Float32Array(new Uint32Array([0x7f800001, 0xff800001]).buffer);
    const { tensors } = decodeSafetensors(
      encodeSafetensors([
        { name: 'h', shape: [2], data, dtype: 'F16' },
        { name: 'b', shape: [2], data, dtype: 'BF16' },
      ]),
    );
    expect([...tensors.get('h')!.data, ...tensors.get('b')!.data].every(Number.isNaN)).toBe(true);
  });

  it('decodes all 65536 F16 and BF16 patterns in bulk the same as the scalar functions', () => {
    const raw = new Uint8Array(2 * 65536);
    const view = new DataView(raw.buffer);
    for (let h = 0; h < 65536; h++) view.setUint16(2 * h, h, true);
    const header = {
      h: { dtype: 'F16', shape: [65536], data_offsets: [0, raw.length] },
      b: { dtype: 'BF16', shape: [256, 256], data_offsets: [0, raw.length] },
    };
    // Both tensors view the same bytes; identical ranges are an overlap, so use two files.
    const half = decodeSafetensors(craft({ h: header.h }, Array.from(raw))).tensors.get('h')!.data;
    const brain = decodeSafetensors(craft({ b: header.b }, Array.from(raw))).tensors.get('b')!.data;
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      if (!Object.is(half[h], float16BitsToFloat32(h)) || !Object.is(brain[h], bf16BitsToFloat32(h))) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('handles scalar and empty tensors', () => {
    const bytes = encodeSafetensors([
      { name: 'scalar', shape: [], data: Float32Array.of(2.5) },
      { name: 'empty', shape: [0], data: new Float32Array(0) },
      { name: 'empty3d', shape: [3, 0, 2], data: new Float32Array(0), dtype: 'F16' },
    ]);
    const { header } = headerOf(bytes);
    expect(header.empty!.data_offsets).toEqual([0, 0]);
    expect(header.scalar!.data_offsets).toEqual([0, 4]);
    expect(header.empty3d!.data_offsets).toEqual([4, 4]);
    const { tensors } = decodeSafetensors(bytes);
    expect(tensors.get('scalar')).toEqual({ dtype: 'F32', shape: [], data: Float32Array.of(2.5) });
    expect(tensors.get('empty')).toEqual({ dtype: 'F32', shape: [0], data: new Float32Array(0) });
    expect(tensors.get('empty3d')).toEqual({ dtype: 'F16', shape: [3, 0, 2], data: new Float32Array(0) });
  });

  it('round-trips metadata, and writes "__metadata__" only when given', () => {
    const meta = JSON.parse('{"format":"pt","step":"1200","note":"ünïcødé \\"quoted\\"\\n","__proto__":"own key","":"empty key"}') as Record<string, string>;
    const data = Float32Array.of(1);
    expect(decodeSafetensors(encodeSafetensors([{ name: 'x', shape: [1], data }], meta)).metadata).toEqual(meta);
    expect(Object.keys(decodeSafetensors(encodeSafetensors([], meta)).metadata)).toContain('__proto__');
    expect(headerOf(encodeSafetensors([{ name: 'x', shape: [1], data }])).header).not.toHaveProperty('__metadata__');
    expect(decodeSafetensors(encodeSafetensors([{ name: 'x', shape: [1], data }])).metadata).toEqual({});
    expect(headerOf(encodeSafetensors([], {})).header).toEqual({ __metadata__: {} });
  });

  it('pads the header with spaces so the data starts 8-byte aligned, whatever the header length', () => {
    for (let length = 1; length <= 16; length++) {
      const bytes = encodeSafetensors([{ name: 'n'.repeat(length), shape: [1], data: Float32Array.of(7) }]);
      const { n } = headerOf(bytes);
      expect((8 + n) % 8).toBe(0);
      const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
      expect(text).toMatch(/^\{.*\} *$/);
      expect(text.trimEnd().length).toBeGreaterThan(n - 8);
      expect(bytes.length).toBe(8 + n + 4);
      expect(Array.from(bytes.subarray(8 + n))).toEqual([0x00, 0x00, 0xe0, 0x40]); // 7.0f little-endian
    }
  });

  it('lays tensors out back to back: F32, then BF16, then F16, by name, each aligned to its size', () => {
    const t = (name: string, count: number, dtype: TensorToWrite['dtype']): TensorToWrite => ({
      name,
      shape: [count],
      data: new Float32Array(count).fill(count),
      dtype,
    });
    const input = [t('z16', 3, 'F16'), t('b32', 1, 'F32'), t('a16', 1, 'F16'), t('bf', 3, 'BF16'), t('a32', 2, 'F32'), t('c32', 0, 'F32')];
    const bytes = encodeSafetensors(input);
    const { n, header } = headerOf(bytes);
    const order = Object.keys(header);
    expect(order).toEqual(['a32', 'b32', 'c32', 'bf', 'a16', 'z16']);
    let expected = 0;
    for (const name of order) {
      const {
        dtype,
        data_offsets: [begin, end],
      } = header[name]!;
      expect(begin).toBe(expected);
      expect(begin % (dtype === 'F32' ? 4 : 2)).toBe(0);
      expected = end;
    }
    expect(expected).toBe(bytes.length - 8 - n);
    // The same tensors in another order give the same bytes.
    expect(encodeSafetensors([...input].reverse())).toEqual(bytes);
  });

  it('reads tensors at unaligned positions and from a Uint8Array that is a view into a larger buffer', () => {
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[1,9]},"b":{"dtype":"F16","shape":[1],"data_offsets":[9,11]}}';
    const data = [0xee, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc1, 0x00, 0xbc, 0xee, 0xee]; // gap, 1, -10, -1, trailing
    const file = craft(header, data);
    expect((8 + header.length + 1) % 4).not.toBe(0); // "a" starts at an unaligned file position
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    for (const bytes of [file, shifted.subarray(3)]) {
      const { tensors } = decodeSafetensors(bytes);
      expect(tensors.get('a')!.data).toEqual(Float32Array.of(1, -10));
      expect(tensors.get('b')!.data).toEqual(Float32Array.of(-1));
    }
  });

  it('encodes and decodes a 40 MB F32 tensor quickly', () => {
    const data = new Float32Array(10_000_000);
    for (let i = 0; i < data.length; i++) data[i] = i * 0.5;
    let start = performance.now();
    const bytes = encodeSafetensors([{ name: 'big', shape: [10_000, 1000], data }]);
    const encodeMs = performance.now() - start;
    start = performance.now();
    const decoded = decodeSafetensors(bytes).tensors.get('big')!.data;
    const decodeMs = performance.now() - start;
    expect(Buffer.from(decoded.buffer).equals(Buffer.from(data.buffer))).toBe(true);
    expect(encodeMs).toBeLessThan(1000);
    expect(decodeMs).toBeLessThan(1000);
  });

  it('converts a 10M-element tensor to and from F16 quickly', () => {
    const data = new Float32Array(10_000_000);
    for (let i = 0; i < data.length; i++) data[i] = (i % 2048) - 1024;
    let start = performance.now();
    const bytes = encodeSafetensors([{ name: 'big', shape: [data.length], data, dtype: 'F16' }]);
    const encodeMs = performance.now() - start;
    start = performance.now();
    const decoded = decodeSafetensors(bytes).tensors.get('big')!.data;
    const decodeMs = performance.now() - start;
    expect(decoded[12_345]).toBe(data[12_345]);
    expect(decoded[9_999_999]).toBe(data[9_999_999]);
    expect(encodeMs).toBeLessThan(1000);
    expect(decodeMs).toBeLessThan(1000);
  });
});

describe('writer argument validation', () => {
  const data = Float32Array.of(1, 2);
  const cases: [string, () => unknown, new (message: string) => Error, string][] = [
    ['tensors not an array', () => encodeSafetensors({} as never), TypeError, 'encodeSafetensors: tensors must be an array, got an object {}'],
    [
      'tensor not an object',
      () => encodeSafetensors([null as never]),
      TypeError,
      'encodeSafetensors: tensors[0] must be an object with name, shape and data, got null',
    ],
    [
      'name not a string',
      () => encodeSafetensors([{ name: 3 as never, shape: [2], data }]),
      TypeError,
      'encodeSafetensors: tensors[0].name must be a string, got a number 3',
    ],
    ['empty name', () => encodeSafetensors([{ name: '', shape: [2], data }]), SafetensorsError, 'encodeSafetensors: tensors[0].name must not be empty'],
    [
      'reserved name',
      () => encodeSafetensors([{ name: '__metadata__', shape: [2], data }]),
      SafetensorsError,
      'encodeSafetensors: tensors[0].name must not be "__metadata__", which the format reserves for metadata',
    ],
    [
      'duplicate name',
      () =>
        encodeSafetensors([
          { name: 'w', shape: [2], data },
          { name: 'v', shape: [2], data },
          { name: 'w', shape: [2], data },
        ]),
      SafetensorsError,
      'encodeSafetensors: tensors[2].name "w" repeats the name of tensors[0]',
    ],
    [
      'unknown dtype',
      () => encodeSafetensors([{ name: 'w', shape: [2], data, dtype: 'F64' as never }]),
      RangeError,
      'encodeSafetensors: tensors[0] ("w"): dtype must be one of F32, F16, BF16, got a string "F64"',
    ],
    [
      'dtype not a string',
      () => encodeSafetensors([{ name: 'w', shape: [2], data, dtype: 4 as never }]),
      TypeError,
      'encodeSafetensors: tensors[0] ("w"): dtype must be one of F32, F16, BF16, got a number 4',
    ],
    [
      'shape not an array',
      () => encodeSafetensors([{ name: 'w', shape: 2 as never, data }]),
      TypeError,
      'encodeSafetensors: tensors[0] ("w"): shape must be an array of non-negative integers, got a number 2',
    ],
    [
      'negative dimension',
      () => encodeSafetensors([{ name: 'w', shape: [2, -1], data }]),
      RangeError,
      'encodeSafetensors: tensors[0] ("w"): shape must be an array of non-negative integers, got [2, -1]',
    ],
    [
      'fractional dimension',
      () => encodeSafetensors([{ name: 'w', shape: [1.5], data }]),
      RangeError,
      'encodeSafetensors: tensors[0] ("w"): shape must be an array of non-negative integers, got [1.5]',
    ],
    [
      'data not a Float32Array',
      () => encodeSafetensors([{ name: 'w', shape: [2], data: new Float64Array(2) as never }]),
      TypeError,
      'encodeSafetensors: tensors[0] ("w"): data must be a Float32Array, got a Float64Array',
    ],
    [
      'length mismatch',
      () => encodeSafetensors([{ name: 'w', shape: [2, 3], data }]),
      RangeError,
      'encodeSafetensors: tensors[0] ("w"): data has 2 elements but shape [2, 3] needs 6',
    ],
    [
      'metadata not an object',
      () => encodeSafetensors([], new Map() as never),
      TypeError,
      'encodeSafetensors: metadata must be a plain object of strings, got an object {}',
    ],
    [
      'metadata value not a string',
      () => encodeSafetensors([], { step: 7 } as never),
      TypeError,
      'encodeSafetensors: metadata["step"] must be a string, got a number 7',
    ],
    [
      'writer names itself',
      () => writeSafetensors('/nonexistent/x.safetensors', [{ name: '', shape: [], data }]),
      SafetensorsError,
      'writeSafetensors: tensors[0].name must not be empty',
    ],
    ['path not a string', () => writeSafetensors(5 as never, []), TypeError, 'writeSafetensors: path must be a non-empty string, got a number 5'],
  ];
  it.each(cases)('%s', (_label, run, kind, message) => {
    const error = thrown(run);
    expect(error).toBeInstanceOf(kind);
    expect(error.message).toBe(message);
  });
});

describe('reading corrupt files', () => {
  const t = (extra: object) => ({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...extra } });
  const cases: [string, Uint8Array, string][] = [
    ['empty file', new Uint8Array(0), 'file is 0 bytes, shorter than the 8-byte header length'],
    ['7-byte file', new Uint8Array(7), 'file is 7 bytes, shorter than the 8-byte header length'],
    ['header length beyond the file', craft('{}', 1224, 999999), 'header length 999999 exceeds the file size 1234'],
    ['header length over the file minus the prefix', craft('{}', 6, 12), 'header length 12 exceeds the 8 bytes after the 8-byte length (file size 16)'],
    ['header length 2^64 - 1', craft('{}', 0, 2n ** 64n - 1n), 'header length 18446744073709551615 exceeds the file size 10'],
    [
      'header not UTF-8',
      Uint8Array.from([...craft('{"a":1}').subarray(0, 10), 0xff, ...craft('{"a":1}').subarray(11)]),
      'header (7 bytes from offset 8) is not valid UTF-8',
    ],
    ['header an array', craft('[]'), 'header must be a JSON object, got an array []'],
    ['header null', craft('null'), 'header must be a JSON object, got null'],
    ['header a string', craft('"weights"'), 'header must be a JSON object, got a string "weights"'],
    ['metadata an array', craft({ __metadata__: ['a'] }), '__metadata__ must be an object of strings, got an array ["a"]'],
    ['metadata value a number', craft({ __metadata__: { format: 'pt', step: 5 } }), '__metadata__ entry "step" must be a string, got a number 5'],
    ['tensor entry not an object', craft({ x: [0, 8] }), 'tensor "x" must be an object with dtype, shape and data_offsets, got an array [0, 8]'],
    ['missing dtype', craft({ x: { shape: [2], data_offsets: [0, 8] } }, 8), 'tensor "x" is missing "dtype"'],
    ['missing shape', craft({ x: { dtype: 'F32', data_offsets: [0, 8] } }, 8), 'tensor "x" is missing "shape"'],
    ['missing data_offsets', craft({ x: { dtype: 'F32', shape: [2] } }, 8), 'tensor "x" is missing "data_offsets"'],
    ['unknown dtype', craft(t({ dtype: 'I8' }), 8), 'tensor "x" has dtype "I8"; supported: F32, F16, BF16'],
    ['dtype not a string', craft(t({ dtype: 4 }), 8), 'tensor "x" has dtype 4; supported: F32, F16, BF16'],
    ['shape not an array', craft(t({ shape: 2 }), 8), 'tensor "x" has shape 2; expected an array of non-negative integers'],
    ['negative dimension', craft(t({ shape: [2, -1] }), 8), 'tensor "x" has shape [2, -1]; expected an array of non-negative integers'],
    ['fractional dimension', craft(t({ shape: [2.5] }), 8), 'tensor "x" has shape [2.5]; expected an array of non-negative integers'],
    ['string dimension', craft(t({ shape: ['2'] }), 8), 'tensor "x" has shape ["2"]; expected an array of non-negative integers'],
    [
      'offsets not a pair',
      craft(t({ data_offsets: [0, 4, 8] }), 8),
      'tensor "x" has data_offsets [0, 4, 8]; expected [begin, end] with integers 0 <= begin <= end',
    ],
    [
      'offsets not integers',
      craft(t({ data_offsets: [0, 7.5] }), 8),
      'tensor "x" has data_offsets [0, 7.5]; expected [begin, end] with integers 0 <= begin <= end',
    ],
    ['negative offset', craft(t({ data_offsets: [-8, 0] }), 8), 'tensor "x" has data_offsets [-8, 0]; expected [begin, end] with integers 0 <= begin <= end'],
    ['begin after end', craft(t({ data_offsets: [8, 0] }), 8), 'tensor "x" has data_offsets [8, 0]; expected [begin, end] with integers 0 <= begin <= end'],
    ['offsets past the buffer', craft(t({ data_offsets: [4, 12] }), 8), 'tensor "x" has data_offsets [4, 12] past the end of the data buffer (8 bytes)'],
    [
      'byte length not matching the shape',
      craft({ 'model.embed_tokens.weight': { dtype: 'F32', shape: [5, 6], data_offsets: [0, 100] } }, 120),
      'tensor "model.embed_tokens.weight" has data_offsets [0, 100] (100 bytes) but shape [5, 6] in F32 needs 120 bytes',
    ],
    ['byte length for a 16-bit dtype', craft(t({ dtype: 'BF16' }), 8), 'tensor "x" has data_offsets [0, 8] (8 bytes) but shape [2] in BF16 needs 4 bytes'],
    [
      'huge shape',
      craft(t({ shape: [2 ** 40, 2 ** 40] }), 8),
      'tensor "x" has data_offsets [0, 8] (8 bytes) but shape [1099511627776, 1099511627776] in F32 needs 4835703278458516698824704 bytes',
    ],
    [
      'overlapping tensors',
      craft(
        {
          a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
          e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] },
          b: { dtype: 'F16', shape: [2], data_offsets: [12, 16] },
        },
        16,
      ),
      'tensors "a" (data_offsets [0, 16]) and "b" (data_offsets [12, 16]) overlap',
    ],
    [
      'overlap with an earlier, longer tensor',
      craft(
        {
          long: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
          mid: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          c: { dtype: 'F32', shape: [1], data_offsets: [20, 24] },
        },
        24,
      ),
      'tensors "long" (data_offsets [0, 16]) and "mid" (data_offsets [4, 8]) overlap',
    ],
  ];
  it.each(cases)('%s', (_label, bytes, message) => {
    const error = thrown(() => decodeSafetensors(bytes));
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toBe(`safetensors: ${message}`);
  });

  it('reports invalid JSON with the parser message', () => {
    const text = '{"x": {"dtype": "F32",}}';
    const parserMessage = thrown(() => JSON.parse(text)).message;
    expect(thrown(() => decodeSafetensors(craft(text)))).toEqual(new SafetensorsError(`safetensors: header is not valid JSON: ${parserMessage}`));
  });

  it('names the first problem in header order', () => {
    const bytes = craft(
      { ok: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, bad1: { dtype: 'U8', shape: [1], data_offsets: [4, 5] }, bad2: { dtype: 'F32' } },
      5,
    );
    expect(thrown(() => decodeSafetensors(bytes)).message).toBe('safetensors: tensor "bad1" has dtype "U8"; supported: F32, F16, BF16');
  });

  it('prefixes messages with the source name, and the file path when reading a file', () => {
    const bytes = craft('{}', 1224, 999999);
    expect(thrown(() => decodeSafetensors(bytes, 'model.safetensors')).message).toBe('model.safetensors: header length 999999 exceeds the file size 1234');
    const path = join(tempDir(), 'model.safetensors');
    writeFileSync(path, bytes);
    expect(thrown(() => readSafetensors(path))).toEqual(new SafetensorsError(`${path}: header length 999999 exceeds the file size 1234`));
  });

  it('reports a missing file as a SafetensorsError naming the path', () => {
    const path = join(tempDir(), 'absent.safetensors');
    const error = thrown(() => readSafetensors(path));
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toBe(`${path}: cannot read the file: ENOENT: no such file or directory, open '${path}'`);
  });

  it('accepts zero-length tensors sharing an offset, gaps, and trailing bytes', () => {
    const bytes = craft(
      {
        a: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
        b: { dtype: 'F16', shape: [0, 3], data_offsets: [4, 4] },
        c: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      },
      [9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0x80, 0xbf, 1, 2],
    );
    const { tensors } = decodeSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(['a', 'b', 'c']);
    expect(tensors.get('c')!.data).toEqual(Float32Array.of(-1));
  });
});

describe('files', () => {
  const tensors: TensorToWrite[] = [
    { name: 'model.norm.weight', shape: [4], data: Float32Array.of(1, 0.5, -0.25, 3) },
    { name: 'model.embed_tokens.weight', shape: [2, 3], data: Float32Array.of(0.1, 0.2, 0.3, -0.1, -0.2, -0.3), dtype: 'BF16' },
  ];

  it('writes atomically: the same bytes as encode, and no temporary file left behind', () => {
    const dir = tempDir();
    const path = join(dir, 'model.safetensors');
    writeSafetensors(path, tensors, { format: 'pt' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeSafetensors(tensors, { format: 'pt' }));
    const read = readSafetensors(path);
    expect(read.metadata).toEqual({ format: 'pt' });
    expect(read.tensors.get('model.norm.weight')!.data).toEqual(tensors[0]!.data);
    expect(read.tensors.get('model.embed_tokens.weight')!.shape).toEqual([2, 3]);
  });

  it('replaces an existing file', () => {
    const dir = tempDir();
    const path = join(dir, 'model.safetensors');
    writeFileSync(path, 'old contents that are not a safetensors file');
    writeSafetensors(path, tensors);
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeSafetensors(tensors));
    writeSafetensors(path, [tensors[0]!]);
    expect([...readSafetensors(path).tensors.keys()]).toEqual(['model.norm.weight']);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('removes the temporary file when the final rename fails, and writes nothing for invalid tensors', () => {
    const dir = tempDir();
    const path = join(dir, 'model.safetensors');
    mkdirSync(path); // renaming a file over a directory fails
    const error = thrown(() => writeSafetensors(path, tensors));
    expect(error).toBeInstanceOf(SafetensorsError);
    // The rename error names the temporary file: `${path}.tmp-<pid>-<random>`.
    const prefix = `${path}: cannot write the file: EISDIR: illegal operation on a directory, rename '${path}.tmp-${process.pid}-`;
    expect(error.message.startsWith(prefix)).toBe(true);
    expect(error.message.slice(prefix.length)).toMatch(/^[0-9a-f]{12}' -> '.*model\.safetensors'$/);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(readdirSync(path)).toEqual([]);

    const other = join(dir, 'other.safetensors');
    expect(() => writeSafetensors(other, [{ name: 'w', shape: [3], data: Float32Array.of(1) }])).toThrow(RangeError);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });
});

describe('interop', () => {
  it('reads a file laid out byte for byte as the reference implementation writes it, and writes the same bytes', () => {
    // Reference layout for {c: F32 [1, -2], b.bias: BF16 scalar 0.5, a.w: F16 [[1, -0.5]]} with metadata
    // {format: "pt"}: u64 header length, compact JSON with __metadata__ first and tensors ordered F32, BF16, F16,
    // spaces up to a multiple of 8, then the tensors' little-endian bytes back to back.
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"c":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b.bias":{"dtype":"BF16","shape":[],"data_offsets":[8,10]},' +
      '"a.w":{"dtype":"F16","shape":[1,2],"data_offsets":[10,14]}}';
    expect(header.length).toBe(203);
    const file = Uint8Array.from([
      0xd0,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00, // N = 208
      ...Array.from(header, (ch) => ch.charCodeAt(0)),
      0x20,
      0x20,
      0x20,
      0x20,
      0x20, // padding to 208
      0x00,
      0x00,
      0x80,
      0x3f,
      0x00,
      0x00,
      0x00,
      0xc0, // c: 1.0f, -2.0f
      0x00,
      0x3f, // b.bias: bf16 0x3f00 = 0.5
      0x00,
      0x3c,
      0x00,
      0xb8, // a.w: f16 0x3c00 = 1, 0xb800 = -0.5
    ]);
    const { tensors, metadata } = decodeSafetensors(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.get('c')).toEqual({ dtype: 'F32', shape: [2], data: Float32Array.of(1, -2) });
    expect(tensors.get('b.bias')).toEqual({ dtype: 'BF16', shape: [], data: Float32Array.of(0.5) });
    expect(tensors.get('a.w')).toEqual({ dtype: 'F16', shape: [1, 2], data: Float32Array.of(1, -0.5) });

    const written = encodeSafetensors(
      [
        { name: 'a.w', shape: [1, 2], data: Float32Array.of(1, -0.5), dtype: 'F16' },
        { name: 'b.bias', shape: [], data: Float32Array.of(0.5), dtype: 'BF16' },
        { name: 'c', shape: [2], data: Float32Array.of(1, -2) },
      ],
      { format: 'pt' },
    );
    expect(written).toEqual(file);
  });

  it('writes files that a minimal independent reader parses', () => {
    const dir = tempDir();
    const path = join(dir, 'model.safetensors');
    const weight = Float32Array.of(0.25, -1, 3.5, 1e-3, 1e5, -7);
    writeSafetensors(
      path,
      [
        { name: 'w', shape: [2, 3], data: weight },
        { name: 'h', shape: [3, 2], data: weight, dtype: 'F16' },
      ],
      { run: 'r1' },
    );

    // Independent reader: u64 length, JSON.parse, slice the data buffer.
    const buffer = readFileSync(path);
    const n = Number(buffer.readBigUInt64LE(0));
    const header = JSON.parse(buffer.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
    const data = buffer.subarray(8 + n);
    expect(header.__metadata__).toEqual({ run: 'r1' });
    expect(header.w).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.h).toEqual({ dtype: 'F16', shape: [3, 2], data_offsets: [24, 36] });
    expect(data.length).toBe(36);
    const w = Array.from({ length: 6 }, (_, i) => data.readFloatLE(header.w.data_offsets[0] + 4 * i));
    expect(w).toEqual(Array.from(weight));
    const h = Array.from({ length: 6 }, (_, i) => data.readUInt16LE(header.h.data_offsets[0] + 2 * i));
    expect(h).toEqual([0x3400, 0xbc00, 0x4300, 0x1419, 0x7c00, 0xc700]); // 1e-3 -> 0x1419, 1e5 -> inf
  });
});

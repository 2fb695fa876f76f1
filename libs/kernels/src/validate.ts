// Argument checks shared by every backend, so each gets identical errors. One message shape:
// "Expected <what> for <argument> but received <what came>". Type problems are TypeErrors,
// values out of range RangeErrors. Data checks that need a pass over the logits (NaN, rows of
// -Infinity) happen inside each backend's kernel, with messages from ./messages.ts.
import { DeviceTensor } from './device.js';
import type { Backend, DType, Logits, LogprobBackwardArgs, MiForwardArgs, Norm, Renorm, Scope, Variant } from './types.js';

const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

/** How a received value is named in messages. */
export function kindOf(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (v instanceof DeviceTensor) return `DeviceTensor (${v.dtype})`;
  for (const T of TYPED_ARRAYS) if (v instanceof T) return T.name;
  if (Array.isArray(v)) return 'Array';
  if (typeof v === 'number') return `number ${formatNumber(v)}`;
  if (typeof v === 'string') return `string "${v}"`;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'function') return 'function';
  return 'object';
}

/**
 * Numbers as the native addon prints them: integers below 1e15 exactly, NaN and Infinity by
 * name, anything else as C's "%.9g" (9 significant digits, enough to tell float32 values apart).
 */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return Object.is(x, -0) ? '-0' : String(x);
  const [mantissa, expText] = x.toExponential(8).split('e') as [string, string];
  const exp = Number(expText);
  const strip = (t: string) => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
  if (exp < -4 || exp >= 9) {
    return `${strip(mantissa)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return strip(x.toFixed(8 - exp));
}

export function fail(kind: 'type' | 'range', expected: string, arg: string, received: string): never {
  const msg = `Expected ${expected} for ${arg} but received ${received}`;
  throw kind === 'type' ? new TypeError(msg) : new RangeError(msg);
}

/** RangeError unless `v` is an integer >= min: the check of every size argument in this package. */
export function checkInteger(v: number, name: string, min: number): void {
  if (!(Number.isInteger(v) && v >= min)) fail('range', `an integer >= ${min}`, name, String(v));
}

const SIZED_ARRAYS = { Float32Array, Int32Array, Uint8Array } as const;

/** TypeError unless `a` is a `type` array; RangeError unless it holds `want` elements (when given). */
export function checkTypedArray<K extends keyof typeof SIZED_ARRAYS>(
  a: unknown,
  type: K,
  name: string,
  want?: number,
): asserts a is InstanceType<(typeof SIZED_ARRAYS)[K]> {
  if (!(a instanceof SIZED_ARRAYS[type])) fail('type', `a ${type}`, name, kindOf(a));
  if (want !== undefined && a.length !== want) fail('range', `${want} elements`, name, String(a.length));
}

/** RangeError for messages where the argument is part of the expectation. */
export function failRange(expected: string, received: string): never {
  throw new RangeError(`Expected ${expected} but received ${received}`);
}

function options(args: unknown): Record<string, unknown> {
  if (typeof args !== 'object' || args === null || Array.isArray(args) || ArrayBuffer.isView(args)) {
    fail('type', 'an options object', 'the first argument', kindOf(args));
  }
  return args as Record<string, unknown>;
}

function dtypeOf(o: Record<string, unknown>, key: string): DType {
  const given = o.dtype;
  if (given !== undefined) {
    if (given !== 'f32' && given !== 'bf16') fail('type', '"f32" or "bf16"', 'dtype', kindOf(given));
    return given;
  }
  const v = o[key];
  if (v instanceof Uint16Array) return 'bf16';
  if (v instanceof DeviceTensor) return v.dtype;
  return 'f32';
}

function number(o: Record<string, unknown>, key: string, fallback: number): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number') fail('type', 'a number', key, kindOf(v));
  return v;
}

// The kernels take these parameters as float32. The value given is checked where it is read;
// the float32 value the kernels will see (which may underflow to 0) is checked last, as the
// native validation does.
function isPositiveFinite(v: number): boolean {
  return Number.isFinite(v) && v > 0;
}

function isUnit(v: number): boolean {
  return v >= 0 && v <= 1;
}

function positiveFinite(o: Record<string, unknown>, key: string, fallback: number): number {
  const v = number(o, key, fallback);
  if (!isPositiveFinite(v)) fail('range', 'a finite number > 0', key, formatNumber(v));
  return v;
}

function unitInterval(o: Record<string, unknown>, key: string): number {
  const v = number(o, key, 0);
  if (!isUnit(v)) fail('range', 'a number in [0, 1]', key, formatNumber(v));
  return v;
}

function float32Param(x: number, key: string, ok: (v: number) => boolean, expected: string): number {
  const f = Math.fround(x);
  if (!ok(f)) fail('range', expected, key, formatNumber(f));
  return f;
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, names: readonly T[], fallback: T): T {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v === 'string' && (names as readonly string[]).includes(v)) return v as T;
  fail('type', `one of ${names.map((n) => `"${n}"`).join(', ')}`, key, kindOf(v));
}

type ArrayCtor<T> = { new (n: number): T; name: string };

function typedArray<T extends ArrayBufferView & { length: number }>(
  o: Record<string, unknown>,
  key: string,
  ctor: ArrayCtor<T>,
  length?: number,
  lengthDesc?: string,
): T {
  const v = o[key];
  if (!(v instanceof (ctor as unknown as new () => T))) fail('type', ctor.name, key, kindOf(v));
  const arr = v as T;
  if (length !== undefined && arr.length !== length) {
    fail('range', `${ctor.name} of length ${lengthDesc}`, key, `${ctor.name} of length ${arr.length}`);
  }
  return arr;
}

function logitsArray(o: Record<string, unknown>, key: string, dtype: DType, n: number, v: number, backend: Backend): Logits {
  const val = o[key];
  const count = n * v;
  const name = dtype === 'f32' ? 'Float32Array' : 'Uint16Array';
  if (val instanceof DeviceTensor) {
    if (backend !== 'cuda') {
      fail('type', `${name} (dtype "${dtype}"); a DeviceTensor needs backend "cuda", not "${backend}"`, key, kindOf(val));
    }
    if (val.freed) fail('type', 'a live DeviceTensor', key, 'a freed DeviceTensor');
    if (val.dtype !== dtype || val.length !== count) {
      fail('range', `DeviceTensor (${dtype}) of length N*V (${count})`, key, `DeviceTensor (${val.dtype}) of length ${val.length}`);
    }
    return val;
  }
  const ctor = dtype === 'f32' ? Float32Array : Uint16Array;
  if (!(val instanceof ctor)) {
    fail('type', `${name} (dtype "${dtype}")${backend === 'cuda' ? ' or DeviceTensor' : ''}`, key, kindOf(val));
  }
  if (val.length !== count) fail('range', `${name} of length N*V (${count})`, key, `${name} of length ${val.length}`);
  return val;
}

function vocabSize(o: Record<string, unknown>): number {
  const v = o.vocabSize;
  if (typeof v !== 'number') fail('type', 'a number', 'vocabSize', kindOf(v));
  if (!(v >= 1 && Number.isInteger(v) && v <= 2147483647)) fail('range', 'an integer >= 1', 'vocabSize', formatNumber(v));
  return v;
}

function tokens(o: Record<string, unknown>, v: number): Int32Array {
  const t = typedArray(o, 'tokens', Int32Array);
  if (t.length < 1) fail('range', 'at least one response token', 'tokens', 'an empty array');
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    if (x < 0 || x >= v) failRange(`tokens[${i}] in [0, vocabSize) = [0, ${v})`, String(x));
  }
  return t;
}

function finiteArray(a: Float32Array, name: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) failRange(`${name}[${i}] to be finite`, formatNumber(a[i]!));
  }
}

export interface CheckedMiForward {
  dtype: DType;
  n: number;
  v: number;
  s: number;
  logitsWith: Logits;
  logitsWithout: Logits;
  tokens: Int32Array;
  mask: Uint8Array | undefined;
  seqOffsets: Int32Array;
  advantages: Float32Array;
  advantagesPerToken: boolean;
  temperature: number;
  norm: Norm;
  scope: Scope;
  scale: number;
  lamPos: number;
  lamNeg: number;
  renorm: Renorm;
  variant: Variant;
  /** Sequences per group, >= 1 (S when not given). */
  groupSize: number;
  cap: number;
  neutral: Uint8Array | undefined;
  scores: Float32Array | undefined;
}

function isNonNegativeFinite(v: number): boolean {
  return Number.isFinite(v) && v >= 0;
}

/** What both ops start with, in the native addon's order: dtype, tokens, vocabSize, logits. */
function start(args: unknown, logitsKey: string, backend: Backend) {
  const o = options(args);
  const dtype = dtypeOf(o, logitsKey);
  const tokArr = typedArray(o, 'tokens', Int32Array);
  if (tokArr.length < 1) fail('range', 'at least one response token', 'tokens', 'an empty array');
  const v = vocabSize(o);
  const n = tokArr.length;
  return { o, dtype, tokArr, n, v, logits: logitsArray(o, logitsKey, dtype, n, v, backend) };
}

export function checkMiForward(args: MiForwardArgs, backend: Backend): CheckedMiForward {
  const { o, dtype, tokArr, n, v, logits: logitsWith } = start(args, 'logitsWith', backend);
  const logitsWithout = logitsArray(o, 'logitsWithout', dtype, n, v, backend);
  if (logitsWith instanceof DeviceTensor !== logitsWithout instanceof DeviceTensor) {
    fail(
      'type',
      logitsWith instanceof DeviceTensor ? 'a DeviceTensor like logitsWith' : 'a typed array like logitsWith',
      'logitsWithout',
      kindOf(logitsWithout),
    );
  }
  const nDesc = `N (${n})`;
  const mask = o.mask === undefined || o.mask === null ? undefined : typedArray(o, 'mask', Uint8Array, n, nDesc);
  const seqOffsets = typedArray(o, 'seqOffsets', Int32Array);
  if (seqOffsets.length < 2) fail('range', 'at least one sequence (length >= 2)', 'seqOffsets', `length ${seqOffsets.length}`);
  const s = seqOffsets.length - 1;
  const perTokenRaw = o.advantagesPerToken;
  if (perTokenRaw !== undefined && typeof perTokenRaw !== 'boolean') fail('type', 'a boolean', 'advantagesPerToken', kindOf(perTokenRaw));
  const advantagesPerToken = perTokenRaw ?? false;
  const advantages = typedArray(o, 'advantages', Float32Array, advantagesPerToken ? n : s, advantagesPerToken ? nDesc : `S (${s}, one per sequence)`);
  const temperature = positiveFinite(o, 'temperature', 1);
  const norm = oneOf(o, 'norm', ['robust', 'clip', 'tanh', 'none'] as const, 'robust');
  const scope = oneOf(o, 'scope', ['batch', 'sequence'] as const, 'batch');
  const scale = positiveFinite(o, 'scale', 1);
  const lamPos = unitInterval(o, 'lamPos');
  const lamNeg = unitInterval(o, 'lamNeg');
  const renorm = oneOf(o, 'renorm', ['none', 'sequence', 'batch'] as const, 'none');
  const variant = oneOf(o, 'variant', ['paper', 'symmetric', 'bounded'] as const, 'paper');
  const groupSizeRaw = number(o, 'groupSize', 0);
  if (o.groupSize !== undefined && !(Number.isInteger(groupSizeRaw) && groupSizeRaw >= 1 && groupSizeRaw <= 2147483647)) {
    fail('range', 'an integer >= 1', 'groupSize', formatNumber(groupSizeRaw));
  }
  const cap = number(o, 'cap', 0.25);
  if (!isNonNegativeFinite(cap)) fail('range', 'a finite number >= 0', 'cap', formatNumber(cap));
  const neutral = o.neutral === undefined || o.neutral === null ? undefined : typedArray(o, 'neutral', Uint8Array, n, nDesc);
  const scores = o.scores === undefined || o.scores === null ? undefined : typedArray(o, 'scores', Float32Array, n, nDesc);

  // Values, in the order of the native validateMiForward.
  tokens(o, v);
  if (mask) {
    for (let i = 0; i < n; i++) if (mask[i]! > 1) failRange(`mask[${i}] to be 0 or 1`, String(mask[i]));
  }
  if (seqOffsets[0] !== 0) failRange('seqOffsets[0] = 0', String(seqOffsets[0]));
  for (let k = 1; k <= s; k++) {
    if (seqOffsets[k]! < seqOffsets[k - 1]!) {
      failRange(`seqOffsets[${k}] >= seqOffsets[${k - 1}] = ${seqOffsets[k - 1]}`, String(seqOffsets[k]));
    }
  }
  if (seqOffsets[s] !== n) failRange(`seqOffsets[${s}] = N = ${n}`, String(seqOffsets[s]));
  finiteArray(advantages, 'advantages');
  if (neutral) {
    for (let i = 0; i < n; i++) if (neutral[i]! > 1) failRange(`neutral[${i}] to be 0 or 1`, String(neutral[i]));
  }
  if (scores) {
    for (let i = 0; i < n; i++) if (!(scores[i]! >= -1 && scores[i]! <= 1)) failRange(`scores[${i}] in [-1, 1]`, formatNumber(scores[i]!));
  }
  if (groupSizeRaw > 0 && s % groupSizeRaw !== 0) failRange(`groupSize dividing the number of sequences S = ${s}`, String(groupSizeRaw));
  if (variant === 'bounded' && renorm !== 'none') {
    failRange('renorm "none" with variant "bounded" (it rescales each sign\'s weights itself)', `renorm "${renorm}"`);
  }
  return {
    variant,
    groupSize: groupSizeRaw > 0 ? groupSizeRaw : s,
    neutral,
    scores,
    dtype,
    n,
    v,
    s,
    logitsWith,
    logitsWithout,
    tokens: tokArr,
    mask,
    seqOffsets,
    advantages,
    advantagesPerToken,
    temperature: float32Param(temperature, 'temperature', isPositiveFinite, 'a finite number > 0'),
    norm,
    scope,
    scale: float32Param(scale, 'scale', isPositiveFinite, 'a finite number > 0'),
    lamPos: float32Param(lamPos, 'lamPos', isUnit, 'a number in [0, 1]'),
    lamNeg: float32Param(lamNeg, 'lamNeg', isUnit, 'a number in [0, 1]'),
    renorm,
    // Last, as in the native validateMiForward.
    cap: float32Param(cap, 'cap', isNonNegativeFinite, 'a finite number >= 0'),
  };
}

export interface CheckedLogprobBackward {
  dtype: DType;
  outDtype: DType;
  n: number;
  v: number;
  logits: Logits;
  tokens: Int32Array;
  lse: Float32Array;
  coef: Float32Array;
  temperature: number;
  out: Logits | undefined;
}

export function checkLogprobBackward(args: LogprobBackwardArgs, backend: Backend): CheckedLogprobBackward {
  const { o, dtype, tokArr, n, v, logits } = start(args, 'logits', backend);
  const nDesc = `N (${n})`;
  const lse = typedArray(o, 'lse', Float32Array, n, nDesc);
  const coef = typedArray(o, 'coef', Float32Array, n, nDesc);
  const temperature = positiveFinite(o, 'temperature', 1);
  let outDtype = dtype;
  if (o.outDtype !== undefined) {
    if (o.outDtype !== 'f32' && o.outDtype !== 'bf16') fail('type', '"f32" or "bf16"', 'outDtype', kindOf(o.outDtype));
    outDtype = o.outDtype;
  } else if (o.out instanceof Float32Array) {
    outDtype = 'f32';
  } else if (o.out instanceof Uint16Array) {
    outDtype = 'bf16';
  } else if (o.out instanceof DeviceTensor) {
    outDtype = o.out.dtype;
  }
  const out = o.out === undefined || o.out === null ? undefined : logitsArray(o, 'out', outDtype, n, v, backend);
  tokens(o, v);
  finiteArray(lse, 'lse');
  finiteArray(coef, 'coef');
  return {
    dtype,
    outDtype,
    n,
    v,
    logits,
    tokens: tokArr,
    lse,
    coef,
    temperature: float32Param(temperature, 'temperature', isPositiveFinite, 'a finite number > 0'),
    out,
  };
}

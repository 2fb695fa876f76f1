// Safetensors checkpoints: reading and writing the tensor file format used by Hugging Face models.
//
// A file is an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON header, then the data buffer. The header maps
// each tensor name to {dtype, shape, data_offsets: [begin, end)} (byte offsets into the data buffer) and may hold a
// "__metadata__" object of strings. Tensor data is row-major little-endian.
//
// Reading checks the whole header before decoding anything, so a corrupt file fails with one SafetensorsError whose
// message starts with the source (a path, or "safetensors" for bytes) and names the first problem found. Gaps between
// tensors and trailing bytes are tolerated; overlaps are not. Every tensor is decoded into a fresh Float32Array.
//
// Writing lays the file out the way the reference implementation does: compact JSON with "__metadata__" first, the
// header padded with spaces so the data starts 8-byte aligned, and tensors back to back ordered F32, BF16, F16, then by
// name, so each tensor is aligned to its element size. Bad arguments raise a TypeError (wrong JavaScript type), a
// RangeError (a value out of range) or a SafetensorsError (a tensor name the format cannot hold).

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { bf16ToNumber, f32BitsToBf16, numberToBf16 } from '@rapo/kernels/bf16';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

/** A tensor read from a file: its storage dtype, its shape, and its values decoded to float32. */
export interface StoredTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** A tensor to write; `dtype` is the storage dtype (default F32) that `data` is rounded to. */
export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
  dtype?: SafetensorsDtype;
}

export interface SafetensorsContents {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const DTYPE_SIZE: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** Write order, as in the reference writer: wider dtypes first, BF16 before F16. */
const DTYPE_RANK: Record<SafetensorsDtype, number> = { F32: 0, BF16: 1, F16: 2 };
const SUPPORTED = 'F32, F16, BF16';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

// ---- scalar conversions ----------------------------------------------------------------------------------------

/** float32 bit pattern -> float16 bit pattern, rounding to nearest even (subnormals, overflow to inf, NaN kept). */
function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 | ((abs >>> 13) & 0x3ff) : 0x7c00);
  if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520 rounds past 65504, the largest half
  if (abs >= 0x38800000) {
    // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits.
    const rebased = abs - 0x38000000;
    return sign | ((rebased + 0xfff + ((rebased >>> 13) & 1)) >>> 13);
  }
  if (abs < 0x33000000) return sign; // below 2^-25, half the smallest subnormal: rounds to zero
  // Subnormal half: the value in units of 2^-24 is mantissa * 2^(exponent - 126); shift right by 126 - exponent.
  const exponent = abs >>> 23;
  const mantissa = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - exponent;
  const rest = mantissa & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  let units = mantissa >>> shift;
  if (rest > half || (rest === half && (units & 1) === 1)) units++;
  return sign | units; // units may reach 0x400, which is exactly the smallest normal half
}

/** float16 bit pattern -> float32 bit pattern (exact). */
function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  let e = 113; // normalise the subnormal: value = mantissa * 2^-24
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

function checkBits(fn: string, arg: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`${fn}: ${arg} must be an integer in [0, 65535], got ${describe(value)}`);
  }
}

/** Rounds `x` to float32, then to the nearest float16; returns the 16-bit pattern. */
export function float32ToFloat16Bits(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16(scratchU32[0]!);
}

/** The value of a float16 bit pattern (exact). */
export function float16BitsToFloat32(h: number): number {
  checkBits('float16BitsToFloat32', 'h', h);
  scratchU32[0] = f16ToF32Bits(h);
  return scratchF32[0]!;
}

/** Rounds `x` to float32, then to the nearest bfloat16; returns the 16-bit pattern (@rapo/kernels' rounding). */
export function float32ToBf16Bits(x: number): number {
  return numberToBf16(x);
}

/** The value of a bfloat16 bit pattern (exact). */
export function bf16BitsToFloat32(b: number): number {
  checkBits('bf16BitsToFloat32', 'b', b);
  return bf16ToNumber(b);
}

let f16Table: Uint32Array | undefined;
/** float32 bit patterns of all 65536 halves, built on first use (256 KiB). */
function f16ToF32Table(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32Bits(h);
  }
  return f16Table;
}

// ---- helpers ---------------------------------------------------------------------------------------------------

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_SIZE, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isDimension(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** `[begin, end]` when `value` is two integers with 0 <= begin <= end. */
function offsetPair(value: unknown): [number, number] | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [begin, end]: unknown[] = value;
  return isDimension(begin) && isDimension(end) && begin <= end ? [begin + 0, end + 0] : undefined;
}

/** A JSON-ish rendering for messages: arrays as `[5, 6]`, everything else as JSON, cut at 80 characters. */
function show(value: unknown): string {
  let text: string;
  try {
    text = Array.isArray(value) ? `[${value.map(show).join(', ')}]` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The kind of a value and a preview, e.g. `a number 5`, `an array [1, 2]`, `a Float64Array`. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  const kind = Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  return `${kind} ${show(value)}`;
}

// ---- decoding --------------------------------------------------------------------------------------------------

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses a safetensors file held in memory. `source` names it in error messages. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`decodeSafetensors: bytes must be a Uint8Array, got ${describe(bytes)}`);
  }
  const fail = (problem: string) => new SafetensorsError(`${source}: ${problem}`);
  const size = bytes.length;
  if (size < 8) throw fail(`file is ${size} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(size)) throw fail(`header length ${n} exceeds the file size ${size}`);
  if (n > BigInt(size - 8)) throw fail(`header length ${n} exceeds the ${size - 8} bytes after the 8-byte length (file size ${size})`);
  const dataStart = 8 + Number(n);
  const dataLength = size - dataStart;

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    throw fail(`header (${n} bytes from offset 8) is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw fail(`header is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(header)) throw fail(`header must be a JSON object, got ${describe(header)}`);

  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(info)) throw fail(`__metadata__ must be an object of strings, got ${describe(info)}`);
      for (const [key, value] of Object.entries(info)) {
        if (typeof value !== 'string') throw fail(`__metadata__ entry ${JSON.stringify(key)} must be a string, got ${describe(value)}`);
      }
      metadata = { ...(info as Record<string, string>) };
      continue;
    }
    const tensor = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(info)) throw fail(`${tensor} must be an object with dtype, shape and data_offsets, got ${describe(info)}`);
    for (const key of ['dtype', 'shape', 'data_offsets']) {
      if (!Object.hasOwn(info, key)) throw fail(`${tensor} is missing "${key}"`);
    }
    const { dtype, shape, data_offsets: offsets } = info;
    if (!isDtype(dtype)) throw fail(`${tensor} has dtype ${show(dtype)}; supported: ${SUPPORTED}`);
    if (!Array.isArray(shape) || !shape.every(isDimension)) {
      throw fail(`${tensor} has shape ${show(shape)}; expected an array of non-negative integers`);
    }
    const pair = offsetPair(offsets);
    if (!pair) throw fail(`${tensor} has data_offsets ${show(offsets)}; expected [begin, end] with integers 0 <= begin <= end`);
    const [begin, end] = pair;
    if (end > dataLength) {
      throw fail(`${tensor} has data_offsets [${begin}, ${end}] past the end of the data buffer (${dataLength} bytes)`);
    }
    const needed = shape.reduce((product: bigint, d: number) => product * BigInt(d), 1n) * BigInt(DTYPE_SIZE[dtype]);
    if (BigInt(end - begin) !== needed) {
      throw fail(`${tensor} has data_offsets [${begin}, ${end}] (${end - begin} bytes) but shape ${show(shape)} in ${dtype} needs ${needed} bytes`);
    }
    entries.push({ name, dtype, shape: shape.map((d: number) => d + 0), begin, end });
  }

  // In order of begin, the first tensor that overlaps any earlier one overlaps the non-empty one just before it.
  let previous: Entry | undefined;
  for (const entry of [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (entry.begin === entry.end) continue;
    if (previous && entry.begin < previous.end) {
      throw fail(
        `tensors ${JSON.stringify(previous.name)} (data_offsets [${previous.begin}, ${previous.end}]) and ` +
          `${JSON.stringify(entry.name)} (data_offsets [${entry.begin}, ${entry.end}]) overlap`,
      );
    }
    previous = entry;
  }

  const tensors = new Map<string, StoredTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    tensors.set(name, { dtype, shape, data: decodeData(bytes, dataStart + begin, dataStart + end, dtype) });
  }
  return { tensors, metadata };
}

/** Decodes bytes [start, end) of `bytes` (any alignment) into a new Float32Array. */
function decodeData(bytes: Uint8Array, start: number, end: number, dtype: SafetensorsDtype): Float32Array {
  const out = new Float32Array((end - start) / DTYPE_SIZE[dtype]);
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(start, end));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
  if (dtype === 'F32') {
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const outBits = new Uint32Array(out.buffer);
  if (dtype === 'F16') {
    const table = f16ToF32Table();
    for (let i = 0; i < out.length; i++) outBits[i] = table[view.getUint16(2 * i, true)]!;
  } else {
    for (let i = 0; i < out.length; i++) outBits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

/** Reads and parses a safetensors file. */
export function readSafetensors(path: string): SafetensorsContents {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`readSafetensors: path must be a non-empty string, got ${describe(path)}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new SafetensorsError(`${path}: cannot read the file: ${(error as Error).message}`, { cause: error });
  }
  return decodeSafetensors(bytes, path);
}

// ---- encoding --------------------------------------------------------------------------------------------------

interface Planned {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** Validates the writer's arguments and returns the tensors in file order. */
function plan(fn: string, tensors: unknown, metadata: unknown): Planned[] {
  if (!Array.isArray(tensors)) throw new TypeError(`${fn}: tensors must be an array, got ${describe(tensors)}`);
  const seen = new Map<string, number>();
  const planned = tensors.map((tensor: unknown, i): Planned => {
    const at = `${fn}: tensors[${i}]`;
    if (typeof tensor !== 'object' || tensor === null) {
      throw new TypeError(`${at} must be an object with name, shape and data, got ${describe(tensor)}`);
    }
    const { name, shape, data, dtype = 'F32' } = tensor as Record<string, unknown>;
    if (typeof name !== 'string') throw new TypeError(`${at}.name must be a string, got ${describe(name)}`);
    if (name === '') throw new SafetensorsError(`${at}.name must not be empty`);
    if (name === '__metadata__') throw new SafetensorsError(`${at}.name must not be "__metadata__", which the format reserves for metadata`);
    const earlier = seen.get(name);
    if (earlier !== undefined) throw new SafetensorsError(`${at}.name ${JSON.stringify(name)} repeats the name of tensors[${earlier}]`);
    seen.set(name, i);
    const of = `${at} (${JSON.stringify(name)})`;
    if (!isDtype(dtype)) {
      throw new (typeof dtype === 'string' ? RangeError : TypeError)(`${of}: dtype must be one of ${SUPPORTED}, got ${describe(dtype)}`);
    }
    if (!Array.isArray(shape)) throw new TypeError(`${of}: shape must be an array of non-negative integers, got ${describe(shape)}`);
    if (!shape.every(isDimension)) throw new RangeError(`${of}: shape must be an array of non-negative integers, got ${show(shape)}`);
    if (!(data instanceof Float32Array)) throw new TypeError(`${of}: data must be a Float32Array, got ${describe(data)}`);
    const count = shape.reduce((product: number, d: number) => product * d, 1);
    if (data.length !== count) {
      throw new RangeError(`${of}: data has ${data.length} elements but shape ${show(shape)} needs ${count}`);
    }
    return { name, dtype, shape: shape.map((d: number) => d + 0), data };
  });
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new TypeError(`${fn}: metadata must be a plain object of strings, got ${describe(metadata)}`);
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new TypeError(`${fn}: metadata[${JSON.stringify(key)}] must be a string, got ${describe(value)}`);
    }
  }
  return planned.sort((a, b) => DTYPE_RANK[a.dtype] - DTYPE_RANK[b.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function encode(fn: string, tensors: TensorToWrite[], metadata: Record<string, string> | undefined): Uint8Array {
  const planned = plan(fn, tensors, metadata);
  const parts = metadata === undefined ? [] : [`"__metadata__":${JSON.stringify(metadata)}`];
  const begins: number[] = [];
  let offset = 0;
  for (const { name, dtype, shape, data } of planned) {
    const end = offset + data.length * DTYPE_SIZE[dtype];
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape, data_offsets: [offset, end] })}`);
    begins.push(offset);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const dataStart = 8 + headerLength;
  const out = new Uint8Array(dataStart + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, dataStart);
  planned.forEach(({ dtype, data }, i) => encodeData(out, view, dataStart + begins[i]!, data, dtype));
  return out;
}

/** Writes `data` in `dtype` at byte `pos` of `out` (`view` spans all of `out`). */
function encodeData(out: Uint8Array, view: DataView, pos: number, data: Float32Array, dtype: SafetensorsDtype): void {
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    else for (let i = 0; i < data.length; i++) view.setFloat32(pos + 4 * i, data[i]!, true);
    return;
  }
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  if (dtype === 'F16') for (let i = 0; i < bits.length; i++) view.setUint16(pos + 2 * i, f32BitsToF16(bits[i]!), true);
  else for (let i = 0; i < bits.length; i++) view.setUint16(pos + 2 * i, f32BitsToBf16(bits[i]!), true);
}

/** Serialises tensors (and optional metadata) to the bytes of a safetensors file. */
export function encodeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  return encode('encodeSafetensors', tensors, metadata);
}

/**
 * Writes a safetensors file atomically: the bytes go to `${path}.tmp-<pid>-<random>`, are flushed to disk, and the
 * temporary file is renamed over `path`. On failure the temporary file is removed and `path` is left untouched.
 */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`writeSafetensors: path must be a non-empty string, got ${describe(path)}`);
  }
  const bytes = encode('writeSafetensors', tensors, metadata);
  const temp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const fd = openSync(temp, 'wx');
    try {
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new SafetensorsError(`${path}: cannot write the file: ${(error as Error).message}`, { cause: error });
  }
}

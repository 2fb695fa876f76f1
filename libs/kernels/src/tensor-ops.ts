// Typed CPU tensor ops on the native addon: the elementwise, copy, softmax, reduction and
// gather kernels behind the rapo-native tfjs backend (native/src/cpu/tensor_ops.cc). Each
// function checks its arguments before the addon sees them and throws with the package's one
// message shape, "Expected <what> for <argument> but received <what came>" (TypeError for a
// wrong kind, RangeError for a wrong value). These run once per tfjs kernel call in training,
// so the checks cost O(rank) at most and never read the data; what must look at data to stay
// memory-safe (a gather index outside its axis) is checked inside the addon, which also
// repeats every check here. Their float64 oracles are in reference/tensor-ops.ts.
import { loadNative } from './loader.js';
import { fail, kindOf } from './validate.js';

/** Highest rank a strided op accepts (native kMaxRank). */
export const MAX_RANK = 8;

/** Elementwise binary ops; max and min propagate NaN. */
export type BinaryOpName = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'squaredDifference';
/** Elementwise unary ops. */
export type UnaryOpName = 'neg' | 'exp' | 'log' | 'sigmoid' | 'sqrt' | 'rsqrt' | 'square' | 'abs' | 'reciprocal';
/** Arrays of 4-byte words that copies and gathers move bit for bit. */
export type WordArray = Float32Array | Int32Array;

// The addon's op codes (native/include/rapo/rapo.h, BinaryOp and UnaryOp).
const BINARY_CODES: Readonly<Record<BinaryOpName, number>> = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, squaredDifference: 6 };
const UNARY_CODES: Readonly<Record<UnaryOpName, number>> = { neg: 0, exp: 1, log: 2, sigmoid: 3, sqrt: 4, rsqrt: 5, square: 6, abs: 7, reciprocal: 8 };
const BINARY_NAMES = Object.keys(BINARY_CODES)
  .map((k) => `"${k}"`)
  .join(', ');
const UNARY_NAMES = Object.keys(UNARY_CODES)
  .map((k) => `"${k}"`)
  .join(', ');

/** A strided view of a flat array: element i of the view is data[offset + sum(i[d] * strides[d])]. */
export interface StridedView<T extends WordArray = WordArray> {
  data: T;
  /** First element of the view (default 0). */
  offset?: number;
  /** Steps in elements per dimension; 0 repeats the dimension. One per dimension of the shape. */
  strides: readonly number[];
}

/** Sizes of a reduction: x is [outer, reduce, inner], out is [outer, inner]. */
export interface SumAxisShape {
  outer: number;
  reduce: number;
  inner: number;
}

/** Sizes of a gather: x is [outer, axis, inner], out is [outer, indices.length, inner]. */
export interface GatherShape {
  outer: number;
  axis: number;
  inner: number;
}

// --- strides -------------------------------------------------------------------------------------

/** Row-major strides of a contiguous array of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    st[d] = s;
    s *= shape[d]!;
  }
  return st;
}

/**
 * Strides that read a contiguous array of `shape` as if broadcast to `outShape` (numpy rules:
 * shapes align at the right, and a size-1 or missing dimension repeats with stride 0).
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, d) => (d < lead || shape[d - lead] === 1 ? 0 : own[d - lead]!));
}

// --- checks (O(rank), never over the data) -------------------------------------------------------

function isWholeNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function checkFloat32(x: unknown, name: string): asserts x is Float32Array {
  if (!(x instanceof Float32Array)) fail('type', 'a Float32Array', name, kindOf(x));
}

function checkWords(x: unknown, name: string): asserts x is WordArray {
  if (!(x instanceof Float32Array || x instanceof Int32Array)) fail('type', 'a Float32Array or Int32Array', name, kindOf(x));
}

function checkSameType(x: WordArray, name: string, like: WordArray, likeName: string): void {
  if (x.constructor !== like.constructor) {
    fail('type', `${like.constructor === Int32Array ? 'an Int32Array' : 'a Float32Array'} (the type of ${likeName})`, name, kindOf(x));
  }
}

function checkSize(x: unknown, name: string): asserts x is number {
  if (!isWholeNumber(x)) fail('range', 'a whole number >= 0', name, kindOf(x));
}

/** Checks a shape and returns its element count. */
function checkShape(shape: unknown, name: string): number {
  if (!Array.isArray(shape)) fail('type', 'an array of sizes', name, kindOf(shape));
  if (shape.length > MAX_RANK) fail('range', `at most ${MAX_RANK} dimensions`, name, `${shape.length}`);
  let size = 1;
  for (let d = 0; d < shape.length; d++) {
    const s: unknown = shape[d];
    if (!isWholeNumber(s)) fail('range', 'whole numbers >= 0', `${name}[${d}]`, kindOf(s));
    size *= s;
  }
  return size;
}

function checkStrides(strides: unknown, name: string, rank: number): asserts strides is readonly number[] {
  if (!Array.isArray(strides)) fail('type', 'an array of strides', name, kindOf(strides));
  if (strides.length !== rank) fail('range', `${rank} strides (one per dimension of shape)`, name, `${strides.length}`);
  for (let d = 0; d < rank; d++) {
    const s: unknown = strides[d];
    if (!isWholeNumber(s)) fail('range', 'whole numbers >= 0', `${name}[${d}]`, kindOf(s));
  }
}

/** The last element a strided view of `shape` touches must lie inside its array. */
function checkReach(length: number, name: string, offset: number, shape: readonly number[], strides: readonly number[]): void {
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return; // an empty view touches nothing
    last += (shape[d]! - 1) * strides[d]!;
  }
  if (last >= length) fail('range', `an array that holds element ${last} of the strided view`, name, `one of ${length} elements`);
}

function checkLength(x: ArrayLike<unknown>, name: string, expected: number, what: string): void {
  if (x.length !== expected) fail('range', `${expected} elements (${what})`, name, `${x.length}`);
}

// --- ops -----------------------------------------------------------------------------------------

/**
 * out = a op b elementwise over `shape`; `out` is contiguous, a and b are read through their
 * strides (a stride of 0 broadcasts: see broadcastStrides).
 */
export function binaryOp(
  op: BinaryOpName,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  shape: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
): void {
  const code = Object.hasOwn(BINARY_CODES, op) ? BINARY_CODES[op] : undefined;
  if (code === undefined) fail('range', `one of ${BINARY_NAMES}`, 'op', kindOf(op));
  checkFloat32(a, 'a');
  checkFloat32(b, 'b');
  checkFloat32(out, 'out');
  const size = checkShape(shape, 'shape');
  checkStrides(aStrides, 'aStrides', shape.length);
  checkStrides(bStrides, 'bStrides', shape.length);
  checkLength(out, 'out', size, `the product of shape [${shape.join(', ')}]`);
  checkReach(a.length, 'a', 0, shape, aStrides);
  checkReach(b.length, 'b', 0, shape, bStrides);
  loadNative().binary(code, a, b, out, shape as number[], aStrides as number[], bStrides as number[]);
}

/** out = op(x) elementwise; x and out have the same length. */
export function unaryOp(op: UnaryOpName, x: Float32Array, out: Float32Array): void {
  const code = Object.hasOwn(UNARY_CODES, op) ? UNARY_CODES[op] : undefined;
  if (code === undefined) fail('range', `one of ${UNARY_NAMES}`, 'op', kindOf(op));
  checkFloat32(x, 'x');
  checkFloat32(out, 'out');
  checkLength(out, 'out', x.length, 'as many as x');
  loadNative().unary(code, x, out);
}

/**
 * Copies every element of a view of `shape` from src to dst, 4-byte words bit for bit (int32
 * data and NaN payloads pass unchanged). With suitable strides this is a slice, a transpose, a
 * tile (stride 0 in src) or one part of a concatenation. src and dst have the same array type.
 */
export function stridedCopy(src: StridedView, dst: StridedView, shape: readonly number[]): void {
  checkWords(src?.data, 'src.data');
  checkWords(dst?.data, 'dst.data');
  checkSameType(dst.data, 'dst.data', src.data, 'src.data');
  checkShape(shape, 'shape');
  checkStrides(src.strides, 'src.strides', shape.length);
  checkStrides(dst.strides, 'dst.strides', shape.length);
  const srcOffset = src.offset ?? 0;
  const dstOffset = dst.offset ?? 0;
  checkSize(srcOffset, 'src.offset');
  checkSize(dstOffset, 'dst.offset');
  checkReach(src.data.length, 'src.data', srcOffset, shape, src.strides);
  checkReach(dst.data.length, 'dst.data', dstOffset, shape, dst.strides);
  loadNative().stridedCopy(src.data, srcOffset, src.strides as number[], dst.data, dstOffset, dst.strides as number[], shape as number[]);
}

/** Softmax of each contiguous row of `cols` values; a row of only -Infinity gives NaN, as tfjs does. */
export function softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
  checkFloat32(x, 'x');
  checkFloat32(out, 'out');
  checkSize(rows, 'rows');
  checkSize(cols, 'cols');
  checkLength(x, 'x', rows * cols, `rows x cols = ${rows} x ${cols}`);
  checkLength(out, 'out', rows * cols, `rows x cols = ${rows} x ${cols}`);
  loadNative().softmaxRows(x, out, rows, cols);
}

/**
 * out[o][i] = scale * sum over r of x[o][r][i], accumulated in float64: a sum (scale 1) or a
 * mean (scale 1 / reduce) over one run of contiguous axes.
 */
export function sumAxis(x: Float32Array, out: Float32Array, shape: SumAxisShape, scale = 1): void {
  checkFloat32(x, 'x');
  checkFloat32(out, 'out');
  const { outer, reduce, inner } = shape ?? ({} as SumAxisShape);
  checkSize(outer, 'shape.outer');
  checkSize(reduce, 'shape.reduce');
  checkSize(inner, 'shape.inner');
  if (typeof scale !== 'number') fail('type', 'a number', 'scale', kindOf(scale));
  checkLength(x, 'x', outer * reduce * inner, `outer x reduce x inner = ${outer} x ${reduce} x ${inner}`);
  checkLength(out, 'out', outer * inner, `outer x inner = ${outer} x ${inner}`);
  loadNative().sumAxis(x, out, outer, reduce, inner, scale);
}

/**
 * out[o][j][i] = x[o][indices[j]][i]: rows of the middle axis picked by index, 4-byte words bit
 * for bit. An index outside [0, axis) is a RangeError naming it (checked in the addon, before
 * anything is written).
 */
export function gather<T extends WordArray>(x: T, indices: Int32Array, out: T, shape: GatherShape): void {
  checkWords(x, 'x');
  if (!(indices instanceof Int32Array)) fail('type', 'an Int32Array', 'indices', kindOf(indices));
  checkWords(out, 'out');
  checkSameType(out, 'out', x, 'x');
  const { outer, axis, inner } = shape ?? ({} as GatherShape);
  checkSize(outer, 'shape.outer');
  checkSize(axis, 'shape.axis');
  checkSize(inner, 'shape.inner');
  checkLength(x, 'x', outer * axis * inner, `outer x axis x inner = ${outer} x ${axis} x ${inner}`);
  checkLength(out, 'out', outer * indices.length * inner, `outer x indices x inner = ${outer} x ${indices.length} x ${inner}`);
  loadNative().gather(x, indices, out, outer, axis, inner);
}

/**
 * Why the native tensor ops cannot run here (the addon is missing, stale, or older than these
 * kernels), in one line; undefined when they can.
 */
export function nativeTensorOpsError(): string | undefined {
  try {
    const addon = loadNative();
    if (typeof addon.matmul !== 'function' || typeof addon.gather !== 'function') {
      return 'the rapo addon predates the tensor ops; rebuild it with `npm run build:native`';
    }
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

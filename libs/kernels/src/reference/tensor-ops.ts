// Float64 references of the CPU tensor ops (tensor-ops.ts): the oracles their tests compare the
// native kernels against. Each walks its index space plainly, one element at a time, with the
// same strides and shapes the native op takes, and returns a new array (Float64Array for
// arithmetic, the source's own type for copies and gathers, which move bits unchanged).
import type { BinaryOpName, GatherShape, StridedView, SumAxisShape, UnaryOpName, WordArray } from '../tensor-ops.js';

/** Calls visit(i, offsets) for every index of `shape` in row-major order, with each view's offset. */
function forEachIndex(shape: readonly number[], views: { offset: number; strides: readonly number[] }[], visit: (i: number, offsets: number[]) => void): void {
  const size = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  const offsets = views.map((v) => v.offset);
  for (let i = 0; i < size; i++) {
    visit(i, offsets);
    // Next index: the last dimension steps; one that wraps goes back to 0 and carries.
    for (let d = shape.length - 1; d >= 0; d--) {
      views.forEach((v, k) => (offsets[k]! += v.strides[d]!));
      if (++idx[d]! < shape[d]!) break;
      views.forEach((v, k) => (offsets[k]! -= v.strides[d]! * shape[d]!));
      idx[d] = 0;
    }
  }
}

const BINARY: Record<BinaryOpName, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  max: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)),
  min: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)),
  squaredDifference: (x, y) => (x - y) * (x - y),
};

const UNARY: Record<UnaryOpName, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  square: (x) => x * x,
  abs: Math.abs,
  reciprocal: (x) => 1 / x,
};

/** a op b over `shape`, reading a and b through their strides; the result is contiguous. */
export function binaryReference(
  op: BinaryOpName,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
): Float64Array {
  const f = BINARY[op];
  const out = new Float64Array(shape.reduce((x, y) => x * y, 1));
  forEachIndex(
    shape,
    [
      { offset: 0, strides: aStrides },
      { offset: 0, strides: bStrides },
    ],
    (i, [oa, ob]) => {
      out[i] = f(a[oa!]!, b[ob!]!);
    },
  );
  return out;
}

/** op(x) elementwise. */
export function unaryReference(op: UnaryOpName, x: ArrayLike<number>): Float64Array {
  const f = UNARY[op];
  return Float64Array.from({ length: x.length }, (_, i) => f(x[i]!));
}

/** dst after copying the view of `shape` from src into it (dst itself is not changed). */
export function stridedCopyReference<T extends WordArray>(src: StridedView<T>, dst: StridedView<T>, shape: readonly number[]): T {
  const result = dst.data.slice() as T;
  forEachIndex(
    shape,
    [
      { offset: src.offset ?? 0, strides: src.strides },
      { offset: dst.offset ?? 0, strides: dst.strides },
    ],
    (_, [os, od]) => {
      result[od!] = src.data[os!]!;
    },
  );
  return result;
}

/** Softmax of each row of `cols` values, with the row max subtracted first. */
export function softmaxRowsReference(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, x[r * cols + j]!);
    if (mx === -Infinity) mx = 0; // a row of only -Infinity: 0 / 0 = NaN, as the kernel gives
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[r * cols + j]! - mx);
    for (let j = 0; j < cols; j++) out[r * cols + j] = Math.exp(x[r * cols + j]! - mx) / sum;
  }
  return out;
}

/** out[o][i] = scale * sum over r of x[o][r][i]. */
export function sumAxisReference(x: ArrayLike<number>, shape: SumAxisShape, scale = 1): Float64Array {
  const { outer, reduce, inner } = shape;
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let sum = 0;
      for (let r = 0; r < reduce; r++) sum += x[(o * reduce + r) * inner + i]!;
      out[o * inner + i] = scale * sum;
    }
  }
  return out;
}

/** out[o][j][i] = x[o][indices[j]][i]; an index outside [0, axis) throws a RangeError. */
export function gatherReference<T extends WordArray>(x: T, indices: ArrayLike<number>, shape: GatherShape): T {
  const { outer, axis, inner } = shape;
  const out = new (x.constructor as new (n: number) => T)(outer * indices.length * inner);
  for (let j = 0; j < indices.length; j++) {
    const k = indices[j]!;
    if (!(Number.isInteger(k) && k >= 0 && k < axis)) throw new RangeError(`Expected indices in [0, ${axis - 1}] but received index ${k} at position ${j}`);
  }
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < indices.length; j++) {
      for (let i = 0; i < inner; i++) out[(o * indices.length + j) * inner + i] = x[(o * axis + indices[j]!) * inner + i]!;
    }
  }
  return out;
}

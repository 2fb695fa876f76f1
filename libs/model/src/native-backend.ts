// rapo-native: a tfjs backend that is the stock cpu backend with its hot kernels replaced by the
// rapo addon's multi-threaded native ones: BatchMatMul and _FusedMatMul on OpenBLAS (or the
// addon's blocked loop without it), broadcasting elementwise arithmetic, Slice/SplitV/
// Transpose/Concat as strided copies, and last-axis Softmax. Every other kernel is the cpu backend's own, registered
// again under this backend's name, so tensors, memory and semantics are the cpu backend's and
// nothing of the stock backends changes. The native kernels come through @rapo/kernels' typed
// tensor ops (matmul, binaryOp, unaryOp, stridedCopy, softmaxRows, sumAxis, gather).
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  binaryOp,
  broadcastStrides,
  contiguousStrides as stridesOf,
  gather,
  matmul,
  nativeLayersError,
  nativeTensorOpsError,
  rmsNormBackward,
  rmsNormForward,
  rotary,
  attentionForward,
  attentionBackward,
  type AttentionShape,
  scatterAddRows,
  softmaxRows,
  stridedCopy,
  sumAxis,
  swigluBackward,
  swigluForward,
  unaryOp,
  type BinaryOpName,
  type UnaryOpName,
} from '@rapo/kernels';

export const NATIVE_BACKEND = 'rapo-native';

/** The fused layer kernels only rapo-native has (fused.ts calls them). */
export const FUSED_KERNELS = {
  rmsNorm: 'RapoRmsNorm',
  rmsNormGrad: 'RapoRmsNormGrad',
  swiglu: 'RapoSwiGlu',
  swigluGrad: 'RapoSwiGluGrad',
  scatterAddRows: 'RapoScatterAddRows',
  rotary: 'RapoRotary',
  attention: 'RapoAttention',
  attentionGrad: 'RapoAttentionGrad',
} as const;

/**
 * Output arrays of the native kernels are recycled: a fresh typed array costs more than most
 * kernels here (zeroing, page faults and the garbage collector's external-memory accounting),
 * and a training step allocates the same sizes again and again. An array goes back to the pool
 * only when it is provably unreachable: the pool made it, no tensor's values still view its
 * buffer (every tensor that does is counted through write/move), and its values were never
 * handed out by readSync/read (tensor.dataSync() returns the backend's own array).
 */
export class BufferPool {
  /** Buffers the pool made and still tracks, with the number of tensors whose values view them. */
  readonly views = new Map<ArrayBuffer, number>();
  readonly #free = new Map<number, (Float32Array | Int32Array)[]>();
  #freeBytes = 0;
  constructor(readonly maxBytes: number) {}

  take(dtype: 'float32' | 'int32', size: number): Float32Array | Int32Array {
    const bytes = size * 4;
    const list = this.#free.get(bytes);
    let buf = list?.pop()?.buffer as ArrayBuffer | undefined;
    if (buf) {
      this.#freeBytes -= bytes;
      // Most recently used sizes last: eviction takes the sizes not asked for longest.
      this.#free.delete(bytes);
      this.#free.set(bytes, list!);
    } else buf = new ArrayBuffer(bytes);
    this.views.set(buf, 0);
    return dtype === 'int32' ? new Int32Array(buf) : new Float32Array(buf);
  }

  /** A tensor now views `values`. */
  ref(values: unknown) {
    const buf = (values as { buffer?: ArrayBuffer }).buffer;
    const n = buf && this.views.get(buf);
    if (n !== undefined && buf) this.views.set(buf, n + 1);
  }

  /** A tensor that viewed `values` is gone; the buffer is free once none does. */
  unref(values: unknown) {
    const buf = (values as { buffer?: ArrayBuffer }).buffer;
    const n = buf && this.views.get(buf);
    if (n === undefined || !buf) return;
    if (n > 1) {
      this.views.set(buf, n - 1);
      return;
    }
    this.views.delete(buf);
    if (buf.byteLength > this.maxBytes) return;
    // Full: make room by dropping buffers of the sizes least recently asked for. Without this, the
    // sizes of one phase (sampling) would fill the pool and every array of the next (a training
    // step) would be new: 20% slower steps measured after generation in the same process.
    for (const [bytes, l] of this.#free) {
      if (this.#freeBytes + buf.byteLength <= this.maxBytes) break;
      if (bytes === buf.byteLength) continue;
      while (l.length > 0 && this.#freeBytes + buf.byteLength > this.maxBytes) {
        l.pop();
        this.#freeBytes -= bytes;
      }
      if (l.length === 0) this.#free.delete(bytes);
    }
    if (this.#freeBytes + buf.byteLength > this.maxBytes) return;
    const list = this.#free.get(buf.byteLength) ?? [];
    list.push(new Float32Array(buf));
    this.#free.set(buf.byteLength, list);
    this.#freeBytes += buf.byteLength;
  }

  /** A scratch array from take() that no tensor ever viewed. */
  release(values: Float32Array | Int32Array) {
    if (this.views.get(values.buffer as ArrayBuffer) === 0) {
      this.views.set(values.buffer as ArrayBuffer, 1);
      this.unref(values);
    }
  }

  /** `values` were handed out: never recycle their buffer. */
  escape(values: unknown) {
    const buf = (values as { buffer?: ArrayBuffer }).buffer;
    if (buf) this.views.delete(buf);
  }

  get freeBytes() {
    return this.#freeBytes;
  }
}

class RapoNativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool(256 * 2 ** 20);

  constructor() {
    super();
    // The cpu backend's first write prints advice to install tfjs-node; this backend is the
    // answer to that, so the advice is left out.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType) {
    this.pool.ref(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number) {
    if (this.data.has(dataId)) this.pool.unref(this.data.get(dataId).values);
    this.pool.ref(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: tf.DataId) {
    if (this.data.has(dataId)) this.pool.escape(this.data.get(dataId).values);
    return super.readSync(dataId);
  }

  override async read(dataId: tf.DataId) {
    return this.readSync(dataId);
  }

  // Kernels read inputs through bufferSync; that does not hand the array out.
  override bufferSync<R extends tf.Rank, D extends tf.DataType>(t: tf.TensorInfo): tf.TensorBuffer<R, D> {
    if (t.dtype === 'string' || t.dtype === 'complex64') return super.bufferSync(t);
    return tf.buffer(t.shape, t.dtype, this.data.get(t.dataId).values as tf.TypedArray) as unknown as tf.TensorBuffer<R, D>;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.unref(values);
    return released;
  }
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: RapoNativeBackend; attrs?: tf.NamedAttrMap };

/**
 * The tensor's values as the typed array of its dtype (float32 or int32). The cpu backend can
 * hold another array (a plain one for small constants, an Int32Array after some casts); that
 * is converted once and kept.
 */
function valuesOf(backend: RapoNativeBackend, t: tf.TensorInfo): Float32Array {
  const entry = backend.data.get(t.dataId);
  const v = entry.values as unknown;
  if (t.dtype === 'int32' ? v instanceof Int32Array : v instanceof Float32Array) return v as Float32Array;
  entry.values = t.dtype === 'int32' ? Int32Array.from(v as ArrayLike<number>) : Float32Array.from(v as ArrayLike<number>);
  return entry.values as Float32Array;
}

/**
 * op(a) x op(b) on the addon, with BatchMatMul's shapes and broadcasting (batch entry b uses
 * a[b % batchA] and b[b % batchB], as the cpu kernel does). Returns the output shape and values.
 */
function nativeMatMul(backend: RapoNativeBackend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean) {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const out = allocF32(backend, Math.max(batchA, batchB) * m * n);
  matmul(valuesOf(backend, a), valuesOf(backend, b), { batchA, batchB, m, n, k, transA: transposeA, transB: transposeB }, out);
  return { shape: [...outer, m, n], values: out };
}

/** Output typed array for a 4-byte dtype, from the backend's pool. */
const allocFor = (backend: RapoNativeBackend, dtype: tf.DataType, size: number) => backend.pool.take(dtype === 'int32' ? 'int32' : 'float32', size);
const allocF32 = (backend: RapoNativeBackend, size: number) => backend.pool.take('float32', size) as Float32Array;
const fourBytes = (dtype: tf.DataType) => dtype === 'float32' || dtype === 'int32';

/** The native binary op of each tfjs kernel it replaces. */
const BINARY_OPS: Record<string, BinaryOpName> = {
  Add: 'add',
  Sub: 'sub',
  Multiply: 'mul',
  RealDiv: 'div',
  Maximum: 'max',
  Minimum: 'min',
  SquaredDifference: 'squaredDifference',
};

/** The native unary op of each tfjs kernel it replaces. */
const UNARY_OPS: Record<string, UnaryOpName> = {
  Neg: 'neg',
  Exp: 'exp',
  Log: 'log',
  Sigmoid: 'sigmoid',
  Sqrt: 'sqrt',
  Rsqrt: 'rsqrt',
  Square: 'square',
  Abs: 'abs',
  Reciprocal: 'reciprocal',
};

let registered: boolean | undefined;
let registerError = '';

/** The rapo-native output-array pool: bytes ready for reuse and buffers tracked as in use. */
export function nativePoolStats(): { freeBytes: number; tracked: number } | undefined {
  if (!registered) return undefined;
  const backend = tf.findBackend(NATIVE_BACKEND) as RapoNativeBackend | null;
  return backend ? { freeBytes: backend.pool.freeBytes, tracked: backend.pool.views.size } : undefined;
}

/**
 * Registers rapo-native with tfjs once (no-op afterwards). Returns undefined when it is
 * available, else why not (the addon does not load, or it predates the matmul).
 */
export function registerNativeBackend(): string | undefined {
  if (registered !== undefined) return registered ? undefined : registerError;
  const unavailable = nativeTensorOpsError();
  if (unavailable !== undefined) {
    registered = false;
    registerError = unavailable;
    return registerError;
  }
  tf.registerBackend(NATIVE_BACKEND, () => new RapoNativeBackend(), 0);
  const cpuKernels = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k]));
  for (const k of cpuKernels.values()) tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  const cpuOf = (name: string) => cpuKernels.get(name)!.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo;
  const replace = (kernelName: string, kernelFunc: (args: KernelArgs) => tf.TensorInfo) => {
    tf.unregisterKernel(kernelName, NATIVE_BACKEND);
    tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  };

  replace('BatchMatMul', (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpuOf('BatchMatMul')(args);
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const r = nativeMatMul(args.backend, a, b, transposeA, transposeB);
    return args.backend.makeTensorInfo(r.shape, 'float32', r.values);
  });

  // fused.matMul: the product natively, then the bias with the native Add and the activation
  // with the cpu kernels.
  replace('_FusedMatMul', (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return cpuOf('_FusedMatMul')(args);
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation: string;
      leakyreluAlpha: number;
    };
    const r = nativeMatMul(args.backend, a!, b!, transposeA, transposeB);
    let y = args.backend.makeTensorInfo(r.shape, 'float32', r.values);
    const step = (next: tf.TensorInfo) => {
      args.backend.disposeIntermediateTensorInfo(y);
      y = next;
    };
    if (bias)
      step(
        (tf.getKernel('Add', NATIVE_BACKEND)!.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo)({ inputs: { a: y, b: bias }, backend: args.backend }),
      );
    if (activation && activation !== 'linear') {
      const unary: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid' };
      if (activation === 'prelu') step(cpuOf('Prelu')({ inputs: { x: y, alpha: preluActivationWeights! }, backend: args.backend }));
      else if (activation === 'leakyrelu') step(cpuOf('LeakyRelu')({ inputs: { x: y }, backend: args.backend, attrs: { alpha: leakyreluAlpha } }));
      else if (unary[activation]) step(cpuOf(unary[activation])({ inputs: { x: y }, backend: args.backend }));
      else throw new Error(`Activation ${activation} has not been implemented for the rapo-native backend.`);
    }
    return y;
  });
  // Elementwise float32 ops with broadcasting: one strided pass instead of the cpu backend's
  // per-element index arithmetic (its slow path whenever shapes differ).
  for (const [name, op] of Object.entries(BINARY_OPS)) {
    replace(name, (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpuOf(name)(args);
      const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const out = allocF32(args.backend, tf.util.sizeFromShape(shape));
      binaryOp(op, valuesOf(args.backend, a), valuesOf(args.backend, b), out, shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
      return args.backend.makeTensorInfo(shape, 'float32', out);
    });
  }

  // Data movement of 4-byte dtypes as one strided copy each.
  const sliceNative = (backend: RapoNativeBackend, x: tf.TensorInfo, begin: number[], size: number[]) => {
    const xs = stridesOf(x.shape);
    if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
      // A contiguous range: a view, as the cpu kernel returns.
      const offset = tf.slice_util.computeFlatOffset(begin, xs);
      const vals = valuesOf(backend, x);
      return backend.makeTensorInfo(size, x.dtype, vals.subarray(offset, offset + tf.util.sizeFromShape(size)));
    }
    const out = allocFor(backend, x.dtype, tf.util.sizeFromShape(size));
    const offset = begin.reduce((acc, bgn, d) => acc + bgn * xs[d]!, 0);
    stridedCopy({ data: valuesOf(backend, x), offset, strides: xs }, { data: out, strides: stridesOf(size) }, size);
    return backend.makeTensorInfo(size, x.dtype, out);
  };

  replace('Slice', (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!fourBytes(x.dtype)) return cpuOf('Slice')(args);
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const [$begin, $size] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
    tf.slice_util.assertParamsValid(x as tf.Tensor, $begin, $size);
    return sliceNative(args.backend, x, $begin, $size);
  });

  replace('SplitV', ((args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!fourBytes(x.dtype)) return cpuOf('SplitV')(args);
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[$axis] = s;
      const piece = sliceNative(args.backend, x, [...begin], size);
      begin[$axis]! += s;
      return piece;
    });
  }) as unknown as (args: KernelArgs) => tf.TensorInfo);

  replace('Transpose', (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!fourBytes(x.dtype)) return cpuOf('Transpose')(args);
    const { perm } = args.attrs as { perm: number[] };
    const xs = stridesOf(x.shape);
    const shape = perm.map((p) => x.shape[p]!);
    const out = allocFor(args.backend, x.dtype, tf.util.sizeFromShape(shape));
    stridedCopy({ data: valuesOf(args.backend, x), strides: perm.map((p) => xs[p]!) }, { data: out, strides: stridesOf(shape) }, shape);
    return args.backend.makeTensorInfo(shape, x.dtype, out);
  });

  replace('Concat', (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const dtype = inputs[0]!.dtype;
    if (!fourBytes(dtype) || inputs.some((t) => t.dtype !== dtype)) return cpuOf('Concat')(args);
    const { axis } = args.attrs as { axis: number };
    const $axis = tf.util.parseAxisParam(axis, inputs[0]!.shape)[0]!;
    tf.backend_util.assertParamsConsistent(
      inputs.map((t) => t.shape),
      $axis,
    );
    const shape = tf.backend_util.computeOutShape(
      inputs.map((t) => t.shape),
      $axis,
    );
    const out = allocFor(args.backend, dtype, tf.util.sizeFromShape(shape));
    const os = stridesOf(shape);
    let at = 0;
    for (const t of inputs) {
      stridedCopy({ data: valuesOf(args.backend, t), strides: stridesOf(t.shape) }, { data: out, offset: at * os[$axis]!, strides: os }, t.shape);
      at += t.shape[$axis]!;
    }
    return args.backend.makeTensorInfo(shape, dtype, out);
  });

  replace('Softmax', (args) => {
    const { logits } = args.inputs as { logits: tf.TensorInfo };
    const { dim } = args.attrs as { dim: number };
    const rank = logits.shape.length;
    if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) return cpuOf('Softmax')(args);
    const cols = logits.shape[rank - 1]!;
    const rows = cols === 0 ? 0 : tf.util.sizeFromShape(logits.shape) / cols;
    const out = allocF32(args.backend, rows * cols);
    softmaxRows(valuesOf(args.backend, logits), out, rows, cols);
    return args.backend.makeTensorInfo(logits.shape, 'float32', out);
  });

  for (const [name, op] of Object.entries(UNARY_OPS)) {
    replace(name, (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (x.dtype !== 'float32') return cpuOf(name)(args);
      const out = allocF32(args.backend, tf.util.sizeFromShape(x.shape));
      unaryOp(op, valuesOf(args.backend, x), out);
      return args.backend.makeTensorInfo(x.shape, 'float32', out);
    });
  }

  // Sum and Mean over any axes: the reduced axes are moved innermost with a strided copy when
  // they are not already one contiguous run, then summed in float64.
  const reduce = (name: 'Sum' | 'Mean') => (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    if (x.dtype !== 'float32' || axes.length === 0) return cpuOf(name)(args);
    let source = valuesOf(args.backend, x);
    let shape = x.shape;
    let first = axes[0]!;
    const last = axes[axes.length - 1]!;
    if (last - first + 1 !== axes.length) {
      const perm = tf.backend_util.getAxesPermutation(axes, x.shape.length)!;
      const xs = stridesOf(x.shape);
      shape = perm.map((p) => x.shape[p]!);
      const moved = allocF32(args.backend, source.length);
      stridedCopy({ data: source, strides: perm.map((p) => xs[p]!) }, { data: moved, strides: stridesOf(shape) }, shape);
      source = moved;
      first = x.shape.length - axes.length;
    }
    const span = axes.length;
    const outer = tf.util.sizeFromShape(shape.slice(0, first));
    const count = tf.util.sizeFromShape(shape.slice(first, first + span));
    const inner = tf.util.sizeFromShape(shape.slice(first + span));
    const out = allocF32(args.backend, outer * inner);
    sumAxis(source, out, { outer, reduce: count, inner }, name === 'Mean' ? 1 / count : 1);
    if (source !== valuesOf(args.backend, x)) args.backend.pool.release(source);
    const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    return args.backend.makeTensorInfo(keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape, 'float32', out);
  };
  replace('Sum', reduce('Sum'));
  replace('Mean', reduce('Mean'));

  // Tile as one strided copy: output dims (rep, size) read the input with stride (0, own).
  replace('Tile', (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { reps } = args.attrs as { reps: number[] };
    if (!fourBytes(x.dtype) || x.shape.length > 4 || reps.length !== x.shape.length) return cpuOf('Tile')(args);
    const xs = stridesOf(x.shape);
    const view = x.shape.flatMap((size, d) => [reps[d]!, size]);
    const shape = x.shape.map((size, d) => size * reps[d]!);
    const out = allocFor(args.backend, x.dtype, tf.util.sizeFromShape(shape));
    stridedCopy({ data: valuesOf(args.backend, x), strides: xs.flatMap((st) => [0, st]) }, { data: out, strides: stridesOf(view) }, view);
    return args.backend.makeTensorInfo(shape, x.dtype, out);
  });

  replace('GatherV2', (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as { axis: number; batchDims?: number };
    if (!fourBytes(x.dtype) || indices.dtype !== 'int32' || (batchDims ?? 0) !== 0) return cpuOf('GatherV2')(args);
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const idx = valuesOf(args.backend, indices) as unknown as Int32Array;
    const size = x.shape[$axis]!;
    for (const i of idx) {
      if (i < 0 || i >= size) throw new Error(`GatherV2: the index value ${i} is not in [0, ${size - 1}]`);
    }
    const outer = tf.util.sizeFromShape(x.shape.slice(0, $axis));
    const inner = tf.util.sizeFromShape(x.shape.slice($axis + 1));
    const shape = [...x.shape.slice(0, $axis), ...indices.shape, ...x.shape.slice($axis + 1)];
    const out = allocFor(args.backend, x.dtype, outer * idx.length * inner);
    gather(valuesOf(args.backend, x), idx, out as Float32Array, { outer, axis: size, inner });
    return args.backend.makeTensorInfo(shape, x.dtype, out);
  });

  // Fused layer kernels (fused.ts): RMSNorm, SwiGLU and the embedding gradient in one pass each.
  if (nativeLayersError() === undefined) {
    const add = (kernelName: string, kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]) =>
      tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    const rowsOf = (x: tf.TensorInfo) => {
      const size = x.shape[x.shape.length - 1]!;
      return { rows: tf.util.sizeFromShape(x.shape) / size, size };
    };
    add(FUSED_KERNELS.rmsNorm, (args) => {
      const { x, weight } = args.inputs as { x: tf.TensorInfo; weight: tf.TensorInfo };
      const { eps } = args.attrs as { eps: number };
      const { rows, size } = rowsOf(x);
      const y = allocF32(args.backend, rows * size);
      const rstd = allocF32(args.backend, rows);
      rmsNormForward(valuesOf(args.backend, x), valuesOf(args.backend, weight), rows, size, eps, { y, rstd });
      return [args.backend.makeTensorInfo(x.shape, 'float32', y), args.backend.makeTensorInfo([rows], 'float32', rstd)];
    });
    add(FUSED_KERNELS.rmsNormGrad, (args) => {
      const { dy, x, weight, rstd } = args.inputs as Record<'dy' | 'x' | 'weight' | 'rstd', tf.TensorInfo>;
      const { rows, size } = rowsOf(x);
      const dx = allocF32(args.backend, rows * size);
      const dweight = allocF32(args.backend, size);
      const v = (t: tf.TensorInfo) => valuesOf(args.backend, t);
      rmsNormBackward(v(dy), v(x), v(weight), v(rstd), rows, size, { dx, dweight });
      return [args.backend.makeTensorInfo(x.shape, 'float32', dx), args.backend.makeTensorInfo(weight.shape, 'float32', dweight)];
    });
    add(FUSED_KERNELS.swiglu, (args) => {
      const { gate, up } = args.inputs as { gate: tf.TensorInfo; up: tf.TensorInfo };
      const n = tf.util.sizeFromShape(gate.shape);
      const y = allocF32(args.backend, n);
      const sig = allocF32(args.backend, n);
      swigluForward(valuesOf(args.backend, gate), valuesOf(args.backend, up), y, sig);
      return [args.backend.makeTensorInfo(gate.shape, 'float32', y), args.backend.makeTensorInfo(gate.shape, 'float32', sig)];
    });
    add(FUSED_KERNELS.swigluGrad, (args) => {
      const { dy, gate, up, sig } = args.inputs as Record<'dy' | 'gate' | 'up' | 'sig', tf.TensorInfo>;
      const n = tf.util.sizeFromShape(gate.shape);
      const dgate = allocF32(args.backend, n);
      const dup = allocF32(args.backend, n);
      const v = (t: tf.TensorInfo) => valuesOf(args.backend, t);
      swigluBackward(v(dy), v(gate), v(up), { dgate, dup }, v(sig));
      return [args.backend.makeTensorInfo(gate.shape, 'float32', dgate), args.backend.makeTensorInfo(up.shape, 'float32', dup)];
    });
    add(FUSED_KERNELS.rotary, (args) => {
      const { x, cos, sin } = args.inputs as Record<'x' | 'cos' | 'sin', tf.TensorInfo>;
      const inverse = Boolean((args.attrs as { inverse: number }).inverse);
      const [batch, heads, seq, headDim] = x.shape as [number, number, number, number];
      const out = allocF32(args.backend, tf.util.sizeFromShape(x.shape));
      const v = (t: tf.TensorInfo) => valuesOf(args.backend, t);
      rotary(v(x), v(cos), v(sin), { batch, heads, seq, headDim }, inverse, out);
      return args.backend.makeTensorInfo(x.shape, 'float32', out);
    });
    // Attention sizes from q [B, T, heads, hd] and k [B, keys, kvHeads, hd].
    const attentionShapeOf = (q: tf.TensorInfo, k: tf.TensorInfo, scale: number): AttentionShape => {
      const [batch, seq, heads, headDim] = q.shape as [number, number, number, number];
      return { batch, heads, kvHeads: k.shape[2]!, seq, keys: k.shape[1]!, headDim, scale };
    };
    add(FUSED_KERNELS.attention, (args) => {
      const { q, k, v, keyMask } = args.inputs as Record<'q' | 'k' | 'v' | 'keyMask', tf.TensorInfo>;
      const s = attentionShapeOf(q, k, (args.attrs as { scale: number }).scale);
      const out = allocF32(args.backend, tf.util.sizeFromShape(q.shape));
      const probs = allocF32(args.backend, s.batch * s.heads * s.seq * s.keys);
      const v_ = (t: tf.TensorInfo) => valuesOf(args.backend, t);
      attentionForward(v_(q), v_(k), v_(v), v_(keyMask), s, { out, probs });
      return [args.backend.makeTensorInfo(q.shape, 'float32', out), args.backend.makeTensorInfo([s.batch, s.heads, s.seq, s.keys], 'float32', probs)];
    });
    add(FUSED_KERNELS.attentionGrad, (args) => {
      const { dout, q, k, v, keyMask, probs } = args.inputs as Record<'dout' | 'q' | 'k' | 'v' | 'keyMask' | 'probs', tf.TensorInfo>;
      const s = attentionShapeOf(q, k, (args.attrs as { scale: number }).scale);
      const dq = allocF32(args.backend, tf.util.sizeFromShape(q.shape));
      const dk = allocF32(args.backend, tf.util.sizeFromShape(k.shape));
      const dv = allocF32(args.backend, tf.util.sizeFromShape(v.shape));
      const v_ = (t: tf.TensorInfo) => valuesOf(args.backend, t);
      attentionBackward(v_(dout), v_(q), v_(k), v_(v), v_(keyMask), v_(probs), s, { dq, dk, dv });
      return [
        args.backend.makeTensorInfo(q.shape, 'float32', dq),
        args.backend.makeTensorInfo(k.shape, 'float32', dk),
        args.backend.makeTensorInfo(v.shape, 'float32', dv),
      ];
    });
    add(FUSED_KERNELS.scatterAddRows, (args) => {
      const { src, index } = args.inputs as { src: tf.TensorInfo; index: tf.TensorInfo };
      const { rows } = args.attrs as { rows: number };
      const width = src.shape[src.shape.length - 1]!;
      const out = allocF32(args.backend, rows * width);
      scatterAddRows(valuesOf(args.backend, src), valuesOf(args.backend, index) as unknown as Int32Array, rows, width, out);
      return args.backend.makeTensorInfo([rows, width], 'float32', out);
    });
  }

  registered = true;
  return undefined;
}

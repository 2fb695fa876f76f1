// The raw exports of native/build/Release/rapo.node. Only loader.ts and the modules that wrap
// the addon use these; everyone else goes through index.ts.

import type { DecoderShape } from './decoder.js';

export interface RawBuildInfo {
  sourceHash: string;
  cuda: boolean;
  napiVersion: number;
  buildType: string;
}

export interface CpuInfo {
  /** AVX2 + FMA compiled in and supported by this CPU. */
  avx2: boolean;
  /** Threads the CPU kernels use. */
  threads: number;
  hardwareThreads: number;
  /** Row kernels in use: "avx512", "avx2" or "scalar". */
  simd: string;
  /** Row kernels this CPU can run, widest first. */
  available: string[];
}

export interface BlasInfo {
  /** The addon was built with a BLAS (RAPO_BLAS). */
  blas: boolean;
  /** "openblas 0.3.21", or "none". */
  library: string;
  /** What the matmul uses now: "blas" or "blocked". */
  impl: 'blas' | 'blocked';
  /** Threads the matmul uses (the CPU kernel threads). */
  threads: number;
  /**
   * The BLAS's kernel family for this CPU, as OpenBLAS names it ("Cooperlake", "SkylakeX",
   * "Haswell", "Zen"; "Prescott" is its generic SSE3 fallback), or "none" without a BLAS.
   */
  core: string;
}

export interface CudaInfo {
  /** The addon was built with the CUDA kernels. */
  compiled: boolean;
  /** A usable device was found. */
  available: boolean;
  /** Why not, when not available. */
  reason: string;
  deviceName: string;
  computeCapability: number;
  multiprocessors: number;
  totalMemory: number;
  runtimeVersion: number;
  driverVersion: number;
}

export interface RawDeviceBuffer {
  readonly byteLength: number;
  upload(data: ArrayBufferView): RawDeviceBuffer;
  download<T extends ArrayBufferView>(into: T): T;
  free(): void;
}

type RawBackend = 'cpu' | 'cuda';
type RawArgs = Record<string, unknown>;

export interface RawAddon {
  buildInfo(): RawBuildInfo;
  cpuInfo(): CpuInfo;
  setCpuThreads(threads: number): void;
  /** "auto" (widest available) or one of cpuInfo().available. */
  setCpuIsa(isa: string): void;
  cudaInfo(): CudaInfo;
  miForward(args: RawArgs, backend: RawBackend): Record<string, Float32Array>;
  miForwardAsync(args: RawArgs, backend: RawBackend): Promise<Record<string, Float32Array>>;
  logprobBackward(args: RawArgs, backend: RawBackend): Float32Array | Uint16Array | RawDeviceBuffer;
  logprobBackwardAsync(args: RawArgs, backend: RawBackend): Promise<Float32Array | Uint16Array | RawDeviceBuffer>;
  streamRead(data: Float32Array): number;
  timeMiForwardCuda(args: RawArgs, iterations: number): number;
  timeLogprobBackwardCuda(args: RawArgs, iterations: number): number;
  timeDeviceCopyCuda(bytes: number, iterations: number): number;
  /** C[b] = op(A[b % batchA]) * op(B[b % batchB]); see matmul.ts. */
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
  ): void;
  blasInfo(): BlasInfo;
  /** "auto" (BLAS when built with one) or "blocked" (the portable loop). */
  setMatmulImpl(impl: 'auto' | 'blocked'): void;
  /** Seconds per m x k by k x n sgemm, the BLAS called directly on `threads` threads. */
  timeSgemmDirect(m: number, n: number, k: number, iterations: number, threads: number): number;
  /**
   * out (contiguous, `shape`) = a op b elementwise, a and b read through strides (0 broadcasts).
   * op: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 squared difference (NaN-propagating max/min).
   */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: number[], aStrides: number[], bStrides: number[]): void;
  /** dst[dstOffset + i.dstStrides] = src[srcOffset + i.srcStrides] for every index i of `shape`; bits are copied as they are. */
  stridedCopy(
    src: Float32Array | Int32Array,
    srcOffset: number,
    srcStrides: number[],
    dst: Float32Array | Int32Array,
    dstOffset: number,
    dstStrides: number[],
    shape: number[],
  ): void;
  /** Softmax of each contiguous row of `cols` values. */
  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** out = op(x); op: 0 neg, 1 exp, 2 log, 3 sigmoid, 4 sqrt, 5 rsqrt, 6 square, 7 abs, 8 reciprocal. */
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /** x is outer x reduce x inner; out[o][i] = scale * sum over r of x[o][r][i] (float64 accumulation). */
  sumAxis(x: Float32Array, out: Float32Array, outer: number, reduce: number, inner: number, scale: number): void;
  /** x is outer x axis x inner (4-byte words); out[o][j][i] = x[o][indices[j]][i]; throws on an index outside [0, axis). */
  gather(x: Float32Array | Int32Array, indices: Int32Array, out: Float32Array | Int32Array, outer: number, axis: number, inner: number): void;
  /** The KV-cached decoding step of a Llama-style decoder; see decoder.ts. */
  decodeStep(
    spec: RawDecoderSpec,
    weights: (Float32Array | null)[],
    kCache: Float32Array,
    vCache: Float32Array,
    ids: Int32Array,
    positions: Int32Array,
    keyMask: Uint8Array,
    start: number,
    count: number,
    logits: Float32Array,
  ): void;
  /** Fused training kernels; see layers.ts. */
  rmsNormForward(x: Float32Array, weight: Float32Array, y: Float32Array, rstd: Float32Array, rows: number, size: number, eps: number): void;
  rmsNormBackward(
    dy: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dweight: Float32Array,
    rows: number,
    size: number,
  ): void;
  swigluForward(gate: Float32Array, up: Float32Array, y: Float32Array, sig: Float32Array | null): void;
  swigluBackward(dy: Float32Array, gate: Float32Array, up: Float32Array, dgate: Float32Array, dup: Float32Array, sig: Float32Array | null): void;
  scatterAddRows(src: Float32Array, index: Int32Array, out: Float32Array, rows: number, width: number): void;
  rotary(
    x: Float32Array,
    cos: Float32Array,
    sin: Float32Array,
    out: Float32Array,
    batch: number,
    heads: number,
    seq: number,
    headDim: number,
    inverse: boolean,
  ): void;
  attentionForward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Float32Array,
    out: Float32Array,
    probs: Float32Array,
    shape: number[],
    scale: number,
  ): void;
  attentionBackward(
    dout: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyMask: Float32Array,
    probs: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    shape: number[],
    scale: number,
  ): void;
  DeviceBuffer: new (byteLength: number) => RawDeviceBuffer;
}

/** decodeStep's sizes (native DecoderSpec): the decoder's shape and the cache's. */
export interface RawDecoderSpec extends DecoderShape {
  batch: number;
  capacity: number;
}

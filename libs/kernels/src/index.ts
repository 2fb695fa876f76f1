// @rapo/kernels: the fused RAPO kernels (mutual-information forward, log-prob backward) on
// CUDA, the CPU or plain TypeScript, with a float64 reference; the typed CPU tensor ops and
// matmul behind the rapo-native tfjs backend (tensor-ops.ts, matmul.ts); the benchmarks'
// measuring functions (bench-probes.ts). The only module set that loads the native addon: the
// raw addon itself is not exported. See docs/kernels.md.
import { resolveBackend } from './backend.js';
import { DeviceTensor } from './device.js';
import { loadNative } from './loader.js';
import { rawBackwardArgs, rawMiArgs } from './raw-args.js';
import { logprobBackwardJs, miForwardJs } from './ts-fused.js';
import type { CallOptions, LogprobBackwardArgs, MiForwardArgs, MiForwardResult } from './types.js';
import { checkLogprobBackward, checkMiForward, fail, kindOf } from './validate.js';

export * from './types.js';
export { MI_OUTPUTS } from './types.js';
export { bf16ToNumber, numberToBf16, toBf16, fromBf16 } from './bf16.js';
export { miForwardReference, rowStats, type MiForwardReference } from './reference/mi-forward.js';
export { logprobBackwardReference } from './reference/logprob-backward.js';
export { backendInfo, availableBackends, resetBackendCache, type BackendInfo, type DevicePreference } from './backend.js';
export { NativeAddonError, BUILD_COMMAND, nativeSourceHash, nativeSourceDir } from './loader.js';
export type { BlasInfo, CpuInfo, CudaInfo } from './native-types.js';
export { matmul, matmulReference, blasInfo, setMatmulImpl, type MatmulShape } from './matmul.js';
export { openBlasCoreFor, openBlasCoreChoice } from './openblas-core.js';
export {
  binaryOp,
  unaryOp,
  stridedCopy,
  softmaxRows,
  sumAxis,
  gather,
  contiguousStrides,
  broadcastStrides,
  nativeTensorOpsError,
  MAX_RANK,
  type BinaryOpName,
  type UnaryOpName,
  type WordArray,
  type StridedView,
  type SumAxisShape,
  type GatherShape,
} from './tensor-ops.js';
export { binaryReference, unaryReference, stridedCopyReference, softmaxRowsReference, sumAxisReference, gatherReference } from './reference/tensor-ops.js';
export { KvDecoder, checkDecoder, decoderCacheSize, nativeDecoderError, type DecoderShape, type DecoderWeights, type DecoderLayerWeights } from './decoder.js';
export {
  rmsNormForward,
  rmsNormBackward,
  swigluForward,
  swigluBackward,
  scatterAddRows,
  rotary,
  attentionForward,
  attentionBackward,
  nativeLayersError,
  type RotaryShape,
  type AttentionShape,
} from './layers.js';
export {
  rmsNormReference,
  rmsNormBackwardReference,
  swigluReference,
  swigluBackwardReference,
  scatterAddRowsReference,
  rotaryReference,
  attentionReference,
  attentionBackwardReference,
} from './reference/layers.js';
export { decodeStepReference, referenceDecoderState, type ReferenceDecoderState } from './reference/decoder.js';
export { streamRead, timeSgemmDirect, timeDeviceCopyCuda, timeMiForwardCuda, timeLogprobBackwardCuda } from './bench-probes.js';
export { DeviceTensor } from './device.js';

/**
 * Fused RAPO forward: per response token, log-probs under both conditionings, PMI, the
 * role-specificity score, the asymmetric weight and the weighted advantage, in one pass over
 * the logits. Throws TypeError/RangeError naming the bad argument.
 */
export function miForward(args: MiForwardArgs, opts: CallOptions = {}): MiForwardResult {
  const backend = resolveBackend(opts.backend);
  const c = checkMiForward(args, backend);
  if (backend === 'js') return miForwardJs(c);
  return loadNative().miForward(rawMiArgs(c), backend) as unknown as MiForwardResult;
}

/** miForward on a worker thread (native backends); resolves with the same result. */
export async function miForwardAsync(args: MiForwardArgs, opts: CallOptions = {}): Promise<MiForwardResult> {
  const backend = resolveBackend(opts.backend);
  const c = checkMiForward(args, backend);
  if (backend === 'js') return miForwardJs(c);
  return (await loadNative().miForwardAsync(rawMiArgs(c), backend)) as unknown as MiForwardResult;
}

/**
 * dlogits = coef * (softmax(logits / T) - onehot(tokens)) / T from the saved lse: the gradient
 * of L = -sum(coef * logp) with respect to the logits, without storing a softmax (for a
 * policy-gradient loss, coef is the per-token weighted advantage). Returns `out` when given,
 * else a new array.
 */
export function logprobBackward(args: LogprobBackwardArgs, opts: CallOptions = {}): Float32Array | Uint16Array | DeviceTensor {
  const backend = resolveBackend(opts.backend);
  const c = checkLogprobBackward(args, backend);
  if (backend === 'js') return logprobBackwardJs(c);
  const r = loadNative().logprobBackward(rawBackwardArgs(c), backend);
  return c.out instanceof DeviceTensor ? c.out : (r as Float32Array | Uint16Array);
}

export async function logprobBackwardAsync(args: LogprobBackwardArgs, opts: CallOptions = {}): Promise<Float32Array | Uint16Array | DeviceTensor> {
  const backend = resolveBackend(opts.backend);
  const c = checkLogprobBackward(args, backend);
  if (backend === 'js') return logprobBackwardJs(c);
  const r = await loadNative().logprobBackwardAsync(rawBackwardArgs(c), backend);
  return c.out instanceof DeviceTensor ? c.out : (r as Float32Array | Uint16Array);
}

/** Threads of the CPU kernels (0: one per hardware thread). */
export function setCpuThreads(threads: number): void {
  if (!(Number.isInteger(threads) && threads >= 0 && threads <= 1024)) {
    throw new RangeError(`Expected an integer in [0, 1024] (0: one per hardware thread) for threads but received ${threads}`);
  }
  loadNative().setCpuThreads(threads);
}

/** Row kernels of the native CPU backend: "auto" (the widest this CPU runs) or one it runs. */
export type CpuIsa = 'auto' | 'avx512' | 'avx2' | 'scalar';

/**
 * Picks the CPU row kernels of the fused ops (tests and benchmarks compare them); one this CPU
 * cannot run is a RangeError that lists what it can (backendInfo().native.cpu.available).
 */
export function setCpuIsa(isa: CpuIsa): void {
  if (typeof isa !== 'string') fail('type', 'a string: "auto", "avx512", "avx2" or "scalar"', 'isa', kindOf(isa));
  loadNative().setCpuIsa(isa);
}

// @rapo/kernels: the fused RAPO kernels (mutual-information forward, log-prob backward) on
// CUDA, the CPU or plain TypeScript, with a float64 reference. See docs/kernels.md.
import { resolveBackend } from './backend.js';
import { DeviceTensor } from './device.js';
import { loadNative } from './loader.js';
import { logprobBackwardJs, miForwardJs } from './ts-fused.js';
import type {
  CallOptions,
  LogprobBackwardArgs,
  MiForwardArgs,
  MiForwardResult,
} from './types.js';
import { checkLogprobBackward, checkMiForward, type CheckedLogprobBackward, type CheckedMiForward } from './validate.js';

export * from './types.js';
export { MI_OUTPUTS } from './types.js';
export { bf16ToNumber, numberToBf16, toBf16, fromBf16 } from './bf16.js';
export { miForwardReference, rowStats, type MiForwardReference } from './reference/mi-forward.js';
export { logprobBackwardReference } from './reference/logprob-backward.js';
export { backendInfo, availableBackends, resetBackendCache, type BackendInfo, type DevicePreference } from './backend.js';
export { loadNative, NativeAddonError, BUILD_COMMAND, nativeSourceHash, nativeSourceDir } from './loader.js';
export type { BlasInfo, CpuInfo, CudaInfo, RawAddon } from './native-types.js';
export { matmul, matmulReference, blasInfo, setMatmulImpl, type MatmulShape } from './matmul.js';
export { DeviceTensor } from './device.js';

const raw = (t: unknown) => (t instanceof DeviceTensor ? t.raw : t);

function rawMiArgs(c: CheckedMiForward): Record<string, unknown> {
  return { ...c, vocabSize: c.v, logitsWith: raw(c.logitsWith), logitsWithout: raw(c.logitsWithout) };
}

function rawBackwardArgs(c: CheckedLogprobBackward): Record<string, unknown> {
  return { ...c, vocabSize: c.v, logits: raw(c.logits), out: raw(c.out) };
}

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
export function logprobBackward(
  args: LogprobBackwardArgs,
  opts: CallOptions = {},
): Float32Array | Uint16Array | DeviceTensor {
  const backend = resolveBackend(opts.backend);
  const c = checkLogprobBackward(args, backend);
  if (backend === 'js') return logprobBackwardJs(c);
  const r = loadNative().logprobBackward(rawBackwardArgs(c), backend);
  return c.out instanceof DeviceTensor ? c.out : (r as Float32Array | Uint16Array);
}

export async function logprobBackwardAsync(
  args: LogprobBackwardArgs,
  opts: CallOptions = {},
): Promise<Float32Array | Uint16Array | DeviceTensor> {
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

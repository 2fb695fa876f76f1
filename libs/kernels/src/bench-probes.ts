// Typed access to the addon's measuring functions, for the benchmarks in tools/bench: the
// machine's ceilings (a CPU streaming read, a GPU device-to-device copy, OpenBLAS's sgemm on its
// own threads) and the fused ops' CUDA kernels timed alone with CUDA events. Arguments are
// checked with the package's message shape before the addon sees them.
import { DeviceTensor } from './device.js';
import { loadNative } from './loader.js';
import { rawBackwardArgs, rawMiArgs } from './raw-args.js';
import type { LogprobBackwardArgs, MiForwardArgs } from './types.js';
import { checkLogprobBackward, checkMiForward, fail, kindOf } from './validate.js';

function checkCount(x: unknown, name: string, min: number): asserts x is number {
  if (!(typeof x === 'number' && Number.isSafeInteger(x) && x >= min)) fail('range', `a whole number >= ${min}`, name, kindOf(x));
}

/**
 * Reads every value of `data` once on all CPU kernel threads and returns their sum: time it to
 * get the memory bandwidth the CPU kernels can reach (the ceiling of npm run bench).
 */
export function streamRead(data: Float32Array): number {
  if (!(data instanceof Float32Array)) fail('type', 'a Float32Array', 'data', kindOf(data));
  return loadNative().streamRead(data);
}

/**
 * Seconds per m x k by k x n single-precision product with the BLAS the addon links, called
 * directly on `threads` of its own threads: the matmul ceiling of npm run bench:training.
 */
export function timeSgemmDirect(shape: { m: number; n: number; k: number }, iterations: number, threads: number): number {
  checkCount(shape?.m, 'shape.m', 1);
  checkCount(shape.n, 'shape.n', 1);
  checkCount(shape.k, 'shape.k', 1);
  checkCount(iterations, 'iterations', 1);
  checkCount(threads, 'threads', 1);
  return loadNative().timeSgemmDirect(shape.m, shape.n, shape.k, iterations, threads);
}

/** Seconds per device-to-device copy of `bytes` on the GPU (CUDA builds with a device). */
export function timeDeviceCopyCuda(bytes: number, iterations: number): number {
  checkCount(bytes, 'bytes', 1);
  checkCount(iterations, 'iterations', 1);
  return loadNative().timeDeviceCopyCuda(bytes, iterations);
}

/**
 * Seconds per miForward on CUDA, kernels only (CUDA events around `iterations` launches after
 * one warm-up): both logits tensors must already be on the device (DeviceTensor.upload).
 */
export function timeMiForwardCuda(args: MiForwardArgs, iterations: number): number {
  const c = checkMiForward(args, 'cuda');
  for (const key of ['logitsWith', 'logitsWithout'] as const) {
    if (!(c[key] instanceof DeviceTensor)) {
      fail('type', 'a DeviceTensor (the kernels are timed on device-resident logits)', key, kindOf(c[key]));
    }
  }
  checkCount(iterations, 'iterations', 1);
  return loadNative().timeMiForwardCuda(rawMiArgs(c), iterations);
}

/**
 * Seconds per logprobBackward on CUDA, kernels only: the logits and `out` must already be on
 * the device.
 */
export function timeLogprobBackwardCuda(args: LogprobBackwardArgs, iterations: number): number {
  const c = checkLogprobBackward(args, 'cuda');
  if (!(c.logits instanceof DeviceTensor)) fail('type', 'a DeviceTensor (the kernels are timed on device-resident logits)', 'logits', kindOf(c.logits));
  if (!(c.out instanceof DeviceTensor)) fail('type', 'a DeviceTensor (the gradient stays on the device)', 'out', kindOf(c.out));
  checkCount(iterations, 'iterations', 1);
  return loadNative().timeLogprobBackwardCuda(rawBackwardArgs(c), iterations);
}

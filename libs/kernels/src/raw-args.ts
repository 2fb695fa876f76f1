// Turns checked arguments of the fused ops into what the addon's functions take: the vocabulary
// size under its native name and device tensors as their raw buffers. Used by the fused ops
// (index.ts) and by their CUDA timing functions (bench-probes.ts).
import { DeviceTensor } from './device.js';
import type { CheckedLogprobBackward, CheckedMiForward } from './validate.js';

const raw = (t: unknown) => (t instanceof DeviceTensor ? t.raw : t);

export function rawMiArgs(c: CheckedMiForward): Record<string, unknown> {
  return { ...c, vocabSize: c.v, logitsWith: raw(c.logitsWith), logitsWithout: raw(c.logitsWithout) };
}

export function rawBackwardArgs(c: CheckedLogprobBackward): Record<string, unknown> {
  return { ...c, vocabSize: c.v, logits: raw(c.logits), out: raw(c.out) };
}

import { afterEach, describe, expect, it } from 'vitest';
import { KvDecoder, layerEntries, nativeDecoderError, type DecoderLayerWeights, type DecoderShape, type DecoderWeights } from './decoder.js';
import { setMatmulImpl } from './matmul.js';
import { decodeStepReference, referenceDecoderState } from './reference/decoder.js';
import { gaussian, rng } from './test-helpers.js';
import { setCpuThreads } from './index.js';
import { loadNative } from './loader.js';

const skip = nativeDecoderError();

function shapeOf(o: Omit<DecoderShape, 'invFreq' | 'eps'>): DecoderShape {
  return { ...o, eps: 1e-5, invFreq: Float32Array.from({ length: o.headDim / 2 }, (_, i) => Math.pow(10000, (-2 * i) / o.headDim)) };
}

/** Random weights; `full` adds every bias and Qwen3's q/k norms. */
function weightsOf(s: DecoderShape, seed: number, full = false): DecoderWeights {
  const r = rng(seed);
  const arr = (n: number, scale: number, base = 0) => Float32Array.from({ length: n }, () => base + scale * gaussian(r));
  const layers = Array.from({ length: s.layers }, () => {
    const layer: Partial<DecoderLayerWeights> = {};
    for (const e of layerEntries(s)) {
      if (e.optional && !full) continue;
      const norm = /Norm$/.test(e.name);
      const bias = /Bias$/.test(e.name);
      layer[e.name] = norm ? arr(e.size, 0.1, 1) : bias ? arr(e.size, 0.1) : arr(e.size, 1 / Math.sqrt(e.name === 'down' ? s.intermediate : s.hidden));
    }
    return layer as DecoderLayerWeights;
  });
  const embed = arr(s.vocab * s.hidden, 1);
  return { embed, finalNorm: arr(s.hidden, 0.1, 1), head: full ? arr(s.vocab * s.hidden, 0.2) : embed, layers };
}

/**
 * Drives a native decoder and the float64 reference through the same calls: a prefill of
 * `prefill` tokens (sequence 0 left-padded by 2), then single-token steps, with sequence 1
 * finished (its new slots masked) after the first step. Returns the worst logit error relative
 * to the largest logit, and the worst cache error.
 */
function compare(s: DecoderShape, w: DecoderWeights, batch: number, prefill: number, steps: number, seed: number) {
  const capacity = prefill + steps;
  const dec = new KvDecoder(s, w, batch, capacity);
  const ref = referenceDecoderState(s, batch, capacity);
  const r = rng(seed);
  const lengths = Array.from({ length: batch }, (_, b) => (b === 0 ? prefill - 2 : prefill));
  const ids = new Int32Array(batch * prefill);
  const pos = new Int32Array(batch * prefill);
  for (let b = 0; b < batch; b++) {
    const pad = prefill - lengths[b]!;
    for (let t = 0; t < prefill; t++) {
      const real = t >= pad;
      ids[b * prefill + t] = real ? Math.floor(r() * s.vocab) : 0;
      pos[b * prefill + t] = real ? t - pad : 0;
      dec.keyMask[b * capacity + t] = ref.keyMask[b * capacity + t] = real ? 1 : 0;
    }
  }
  let worst = 0;
  const check = (got: Float32Array, want: Float64Array) => {
    const scale = Math.max(...want.map(Math.abs));
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / scale);
  };
  check(dec.step(ids, pos, 0, prefill), decodeStepReference(s, w, ref, ids, pos, 0, prefill));
  for (let k = 0; k < steps; k++) {
    const slot = prefill + k;
    const one = Int32Array.from({ length: batch }, () => Math.floor(r() * s.vocab));
    const p = Int32Array.from({ length: batch }, (_, b) => lengths[b]! + k);
    for (let b = 0; b < batch; b++) dec.keyMask[b * capacity + slot] = ref.keyMask[b * capacity + slot] = b === 1 && k > 0 ? 0 : 1;
    check(dec.step(one, p, slot, 1), decodeStepReference(s, w, ref, one, p, slot, 1));
  }
  let cacheErr = 0;
  for (let i = 0; i < ref.kCache.length; i++) {
    cacheErr = Math.max(cacheErr, Math.abs(dec.kCache[i]! - ref.kCache[i]!), Math.abs(dec.vCache[i]! - ref.vCache[i]!));
  }
  return { worst, cacheErr };
}

const SMALL = shapeOf({ layers: 2, hidden: 16, heads: 4, kvHeads: 2, headDim: 8, intermediate: 24, vocab: 37 });
// Big enough that the projections split over threads, by columns at one row per sequence
// and by rows (the batched matmul) during a 3 x 12 prefill.
const WIDE = shapeOf({ layers: 2, hidden: 128, heads: 4, kvHeads: 1, headDim: 32, intermediate: 512, vocab: 600 });

describe.skipIf(skip)(`native KV decoder${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    setMatmulImpl('auto');
    setCpuThreads(0);
  });

  for (const impl of ['auto', 'blocked'] as const) {
    it(`matches the float64 reference through padding, prefill and masked steps (${impl} matmul)`, () => {
      setMatmulImpl(impl);
      const small = compare(SMALL, weightsOf(SMALL, 1), 3, 5, 4, 11);
      expect(small.worst).toBeLessThan(1e-5);
      expect(small.cacheErr).toBeLessThan(1e-5);
      const wide = compare(WIDE, weightsOf(WIDE, 2), 3, 12, 3, 12);
      expect(wide.worst).toBeLessThan(1e-5);
      expect(wide.cacheErr).toBeLessThan(1e-4);
      // Enough attention work (4 x 24 queries x 4 heads over 24 keys) to split it over threads.
      const long = compare(WIDE, weightsOf(WIDE, 7), 4, 24, 2, 15);
      expect(long.worst).toBeLessThan(1e-5);
    });
  }

  it('matches the reference with every bias, Qwen3 q/k norms and an untied head, on one thread and on all', () => {
    for (const threads of [1, 0]) {
      setCpuThreads(threads);
      const r = compare(SMALL, weightsOf(SMALL, 3, true), 2, 4, 3, 13);
      expect(r.worst, `threads ${threads}`).toBeLessThan(1e-5);
      const wide = compare(WIDE, weightsOf(WIDE, 4, true), 1, 6, 2, 14);
      expect(wide.worst, `threads ${threads}`).toBeLessThan(1e-5);
    }
  });

  it('gives the same logits whether a prompt is fed at once or token by token', () => {
    const w = weightsOf(SMALL, 5);
    const ids = Int32Array.from([3, 9, 27, 1, 14]);
    const a = new KvDecoder(SMALL, w, 1, 5);
    a.keyMask.fill(1);
    const once = a.step(ids, Int32Array.from([0, 1, 2, 3, 4]), 0, 5);
    const b = new KvDecoder(SMALL, w, 1, 5);
    b.keyMask.fill(1);
    let last: Float32Array = new Float32Array(0);
    for (let t = 0; t < 5; t++) last = b.step(ids.subarray(t, t + 1), Int32Array.of(t), t, 1);
    for (let i = 0; i < once.length; i++) expect(Math.abs(once[i]! - last[i]!)).toBeLessThan(1e-5);
  });

  it('names what is wrong', () => {
    const w = weightsOf(SMALL, 6);
    expect(() => new KvDecoder(SMALL, { ...w, head: new Float32Array(5) }, 1, 4)).toThrow('Expected 592 elements for weights.head but received 5');
    const layer0 = { ...w.layers[0]!, qNorm: new Float32Array(8) };
    expect(() => new KvDecoder(SMALL, { ...w, layers: [layer0, w.layers[1]!] }, 1, 4)).toThrow(
      'Expected both qNorm and kNorm or neither for weights.layers[0] but received only qNorm',
    );
    expect(() => new KvDecoder({ ...SMALL, kvHeads: 3 }, w, 1, 4)).toThrow('Expected a divisor of shape.heads (4) for shape.kvHeads but received 3');
    const d = new KvDecoder(SMALL, w, 2, 4);
    expect(() => d.step(Int32Array.of(1, 2), Int32Array.of(0, 0), 3, 2)).toThrow('Expected start + count <= capacity (4) but received 3 + 2');
    expect(() => d.step(Int32Array.of(1), Int32Array.of(0), 0, 1)).toThrow('Expected 2 elements for ids but received 1');
    // Checked inside the addon, which reads the ids.
    expect(() => d.step(Int32Array.of(1, 37), Int32Array.of(0, 0), 0, 1)).toThrow('Expected token ids in [0, 37) but received ids[1] = 37');
    expect(() => d.step(Int32Array.of(1, 2), Int32Array.of(0, -1), 0, 1)).toThrow('Expected positions >= 0 but received positions[1] = -1');
    // Called directly, the addon checks every weight itself and names the one that is wrong.
    const flat = [w.embed, w.finalNorm, w.head, ...w.layers.flatMap((l) => layerEntries(SMALL).map((e) => l[e.name] ?? null))];
    flat[3 + 18 + 12] = new Float32Array(3);
    const args = [
      new Float32Array(2 * 1 * 2 * 4 * 8),
      new Float32Array(2 * 1 * 2 * 4 * 8),
      Int32Array.of(1),
      Int32Array.of(0),
      new Uint8Array(4),
      0,
      1,
      new Float32Array(37),
    ] as const;
    expect(() => loadNative().decodeStep({ ...SMALL, batch: 1, capacity: 4 }, flat, ...args)).toThrow(
      'Expected 384 elements for weights[33] (layer 1 gate) but received 3',
    );
    flat[3] = null;
    expect(() => loadNative().decodeStep({ ...SMALL, batch: 1, capacity: 4 }, flat, ...args)).toThrow(
      'Expected a Float32Array for weights[3] (layer 0 inputNorm) but received another type',
    );
  });
});

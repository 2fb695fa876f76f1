// KV-cached decoding of a Llama-style decoder on the native addon (native/src/cpu/decoder.cc):
// one call runs the embedding, every layer and the output head for one or more new tokens per
// sequence, reading and extending a key/value cache the caller owns. It is what @rapo/model's
// generate() uses for sampling instead of ~40 tfjs ops per layer and token. The float64 oracle
// is decodeStepReference (reference/decoder.ts).
import { loadNative } from './loader.js';
import { checkInteger, checkTypedArray } from './validate.js';
import type { RawDecoderSpec } from './native-types.js';

/** Sizes of the decoder; `invFreq` holds the rotary inverse frequencies [headDim / 2]. */
export interface DecoderShape {
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  /** RMSNorm epsilon. */
  eps: number;
  invFreq: Float32Array;
}

/** One layer's weights in the Hugging Face layout (Linear weights [out, in]). */
export interface DecoderLayerWeights {
  inputNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  postNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
  qBias?: Float32Array;
  kBias?: Float32Array;
  vBias?: Float32Array;
  oBias?: Float32Array;
  /** Qwen3's per-head RMSNorm of queries and keys [headDim]: both or neither. */
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  gateBias?: Float32Array;
  upBias?: Float32Array;
  downBias?: Float32Array;
}

export interface DecoderWeights {
  /** [vocab, hidden]. */
  embed: Float32Array;
  /** [hidden]. */
  finalNorm: Float32Array;
  /** [vocab, hidden]: the embedding itself when the head is tied. */
  head: Float32Array;
  layers: DecoderLayerWeights[];
}

/** The per-layer entries in the addon's order, with each one's length. */
export function layerEntries(s: DecoderShape): { name: keyof DecoderLayerWeights; size: number; optional: boolean }[] {
  const H = s.hidden,
    q = s.heads * s.headDim,
    kv = s.kvHeads * s.headDim,
    I = s.intermediate;
  return [
    { name: 'inputNorm', size: H, optional: false },
    { name: 'q', size: q * H, optional: false },
    { name: 'qBias', size: q, optional: true },
    { name: 'k', size: kv * H, optional: false },
    { name: 'kBias', size: kv, optional: true },
    { name: 'v', size: kv * H, optional: false },
    { name: 'vBias', size: kv, optional: true },
    { name: 'o', size: H * q, optional: false },
    { name: 'oBias', size: H, optional: true },
    { name: 'qNorm', size: s.headDim, optional: true },
    { name: 'kNorm', size: s.headDim, optional: true },
    { name: 'postNorm', size: H, optional: false },
    { name: 'gate', size: I * H, optional: false },
    { name: 'gateBias', size: I, optional: true },
    { name: 'up', size: I * H, optional: false },
    { name: 'upBias', size: I, optional: true },
    { name: 'down', size: H * I, optional: false },
    { name: 'downBias', size: H, optional: true },
  ];
}

/** Checks sizes and weight lengths; returns the addon's flat weight list. */
export function checkDecoder(s: DecoderShape, w: DecoderWeights): (Float32Array | null)[] {
  for (const k of ['layers', 'hidden', 'heads', 'kvHeads', 'intermediate', 'vocab'] as const) checkInteger(s[k], `shape.${k}`, 1);
  checkInteger(s.headDim, 'shape.headDim', 2);
  if (s.headDim % 2 !== 0) throw new RangeError(`Expected an even number for shape.headDim but received ${s.headDim}`);
  if (s.heads % s.kvHeads !== 0) throw new RangeError(`Expected a divisor of shape.heads (${s.heads}) for shape.kvHeads but received ${s.kvHeads}`);
  if (!(s.eps >= 0)) throw new RangeError(`Expected a number >= 0 for shape.eps but received ${s.eps}`);
  checkTypedArray(s.invFreq, 'Float32Array', 'shape.invFreq', s.headDim / 2);
  checkTypedArray(w.embed, 'Float32Array', 'weights.embed', s.vocab * s.hidden);
  checkTypedArray(w.finalNorm, 'Float32Array', 'weights.finalNorm', s.hidden);
  checkTypedArray(w.head, 'Float32Array', 'weights.head', s.vocab * s.hidden);
  if (w.layers.length !== s.layers) throw new RangeError(`Expected ${s.layers} entries for weights.layers but received ${w.layers.length}`);
  const flat: (Float32Array | null)[] = [w.embed, w.finalNorm, w.head];
  const entries = layerEntries(s);
  w.layers.forEach((layer, l) => {
    if ((layer.qNorm === undefined) !== (layer.kNorm === undefined)) {
      throw new TypeError(`Expected both qNorm and kNorm or neither for weights.layers[${l}] but received only ${layer.qNorm ? 'qNorm' : 'kNorm'}`);
    }
    for (const e of entries) {
      const a = layer[e.name];
      if (a === undefined && e.optional) flat.push(null);
      else {
        checkTypedArray(a, 'Float32Array', `weights.layers[${l}].${e.name}`, e.size);
        flat.push(a);
      }
    }
  });
  return flat;
}

/** Elements of one key (or value) cache: layers x batch x kvHeads x capacity x headDim. */
export function decoderCacheSize(s: DecoderShape, batch: number, capacity: number): number {
  return s.layers * batch * s.kvHeads * capacity * s.headDim;
}

/** Why the native decoder cannot run here, or undefined when it can. */
export function nativeDecoderError(): string | undefined {
  try {
    const addon = loadNative();
    if (typeof addon.decodeStep !== 'function') return 'the rapo addon predates the native decoder; rebuild it with `npm run build:native`';
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

/**
 * A batch of sequences being decoded: the weights (read, never copied), a key/value cache for
 * `capacity` slots per sequence ([layers, batch, kvHeads, capacity, headDim] each) and the key
 * mask [batch, capacity] (1 where a slot holds a token the others may attend to). `step` writes
 * `count` new tokens per sequence into slots [start, start + count), after the caller has set
 * their key mask, and returns the logits [batch, vocab] of each sequence's last new token. A
 * query at slot i attends to the slots j <= i whose key mask is 1.
 */
export class KvDecoder {
  readonly kCache: Float32Array;
  readonly vCache: Float32Array;
  readonly keyMask: Uint8Array;
  readonly #spec: RawDecoderSpec;
  readonly #weights: (Float32Array | null)[];

  constructor(
    readonly shape: DecoderShape,
    weights: DecoderWeights,
    readonly batch: number,
    readonly capacity: number,
  ) {
    checkInteger(batch, 'batch', 1);
    checkInteger(capacity, 'capacity', 1);
    this.#weights = checkDecoder(shape, weights);
    const size = decoderCacheSize(shape, batch, capacity);
    this.kCache = new Float32Array(size);
    this.vCache = new Float32Array(size);
    this.keyMask = new Uint8Array(batch * capacity);
    this.#spec = { ...shape, batch, capacity };
  }

  step(ids: Int32Array, positions: Int32Array, start: number, count: number, logits?: Float32Array): Float32Array {
    checkInteger(count, 'count', 1);
    checkInteger(start, 'start', 0);
    if (start + count > this.capacity) throw new RangeError(`Expected start + count <= capacity (${this.capacity}) but received ${start} + ${count}`);
    checkTypedArray(ids, 'Int32Array', 'ids', this.batch * count);
    checkTypedArray(positions, 'Int32Array', 'positions', this.batch * count);
    const out = logits ?? new Float32Array(this.batch * this.shape.vocab);
    checkTypedArray(out, 'Float32Array', 'logits', this.batch * this.shape.vocab);
    loadNative().decodeStep(this.#spec, this.#weights, this.kCache, this.vCache, ids, positions, this.keyMask, start, count, out);
    return out;
  }
}

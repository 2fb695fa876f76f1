// Batched sampling with a KV cache: prompts are left-padded and run once (prefill), then each
// step feeds one token per sequence and attends over the cached keys and values. Temperature,
// top-k, top-p, stop tokens, stop strings and a seed; the same seed gives the same tokens.
// Returns the tokens and their log-probabilities under softmax(logits / T) (before top-k/top-p).
// The cached steps run on the addon's native decoder (@rapo/kernels KvDecoder: one call per
// token for the whole model) where it loads and the weights live on the host; otherwise, and
// with `engine: 'tfjs'`, as tfjs ops (LlamaModel.forward and step). Both are the same arithmetic.
import { tf } from './backend.js';
import type { LayerCache, LlamaModel } from './model.js';
import { KvDecoder, nativeDecoderError } from '@rapo/kernels';
import { mulberry32 } from '@rapo/random';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 picks the most likely token. Default 1. */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP. Default 1 (off). */
  topP?: number;
  /** Keep the k most likely tokens. Default 0 (off). */
  topK?: number;
  /** Default 0. Each sequence draws from its own stream: seed and batch index. */
  seed?: number;
  /** Tokens that end a sequence (kept as its last token). */
  stopTokenIds?: number[];
  /** Strings that end a sequence once its decoded text contains one (needs `decode`). */
  stopStrings?: string[];
  decode?: (ids: number[]) => string;
  /** Default true; false recomputes the whole sequence every step (for comparison). */
  useCache?: boolean;
  /**
   * Who runs the cached steps: "native" (the addon's decoder), "tfjs" (tfjs ops), or "auto"
   * (the default: native unless the addon is missing or tfjs keeps tensors on a device, as
   * tfjs-node-gpu does). RAPO_DECODER=native|tfjs overrides "auto".
   */
  engine?: GenerateEngine;
  /** Called with each step's next-token logits [B * V] (tests compare cached and full runs). */
  onLogits?: (step: number, logits: Float32Array) => void;
  /** Called with each new token of sequence `index` as soon as it is drawn (for streaming). */
  onToken?: (index: number, token: number) => void;
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length';
export type GenerateEngine = 'auto' | 'native' | 'tfjs';

/** The engine `generate` uses for cached steps with `engine`, or why "native" cannot run. */
export function resolveEngine(engine: GenerateEngine = 'auto'): { engine: 'native' | 'tfjs'; reason?: string } {
  const env = process.env.RAPO_DECODER;
  if (engine === 'auto' && env !== undefined && env !== '') {
    if (env !== 'native' && env !== 'tfjs' && env !== 'auto') throw new TypeError(`Expected "native", "tfjs" or "auto" for RAPO_DECODER but received "${env}"`);
    engine = env;
  }
  if (engine === 'tfjs') return { engine: 'tfjs' };
  const why = nativeDecoderError() ?? (tf.getBackend() === 'tensorflow' ? 'tfjs keeps the weights in TensorFlow (tfjs-node)' : undefined);
  if (why === undefined) return { engine: 'native' };
  if (engine === 'native') throw new Error(`engine "native" cannot run: ${why}`);
  return { engine: 'tfjs', reason: why };
}

export interface Generation {
  /** New tokens per sequence (up to and including a stop token). */
  tokens: number[][];
  /** log softmax(logits / T) of each new token. */
  logprobs: number[][];
  finishReasons: FinishReason[];
}

/** Each sequence's own stream: the seed mixed with its index in the batch. */
function rngFor(seed: number, index: number): () => number {
  return mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) + index * 0x85ebca6b + 1) >>> 0);
}

/** Draws one token from a row of logits; returns it and its log-prob under softmax(row / T). */
export function sampleToken(row: Float32Array, temperature: number, topK: number, topP: number, random: () => number): { token: number; logprob: number } {
  const V = row.length;
  const T = temperature > 0 ? temperature : 1;
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, row[j]! / T);
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(row[j]! / T - max);
  const lse = max + Math.log(sum);
  const logprob = (j: number) => row[j]! / T - lse;
  if (temperature <= 0) {
    let best = 0;
    for (let j = 1; j < V; j++) if (row[j]! > row[best]!) best = j;
    return { token: best, logprob: logprob(best) };
  }
  if ((topK <= 0 || topK >= V) && topP >= 1) {
    // The whole vocabulary: an inverse-CDF draw in index order needs no sort.
    let total = 0;
    for (let j = 0; j < V; j++) total += Math.exp(logprob(j));
    let x = random() * total;
    let last = 0;
    for (let j = 0; j < V; j++) {
      const w = Math.exp(logprob(j));
      if (w <= 0) continue;
      last = j;
      x -= w;
      if (x < 0) return { token: j, logprob: logprob(j) };
    }
    return { token: last, logprob: logprob(last) };
  }
  // Candidates by descending probability, cut by top-k and top-p.
  let order = Array.from({ length: V }, (_, j) => j).sort((a, b) => row[b]! - row[a]! || a - b);
  if (topK > 0 && topK < V) order = order.slice(0, topK);
  if (topP < 1) {
    let mass = 0;
    const kept: number[] = [];
    for (const j of order) {
      kept.push(j);
      mass += Math.exp(logprob(j));
      if (mass >= topP) break;
    }
    order = kept;
  }
  const weights = order.map((j) => Math.exp(logprob(j)));
  const total = weights.reduce((a, b) => a + b, 0);
  let x = random() * total;
  for (let k = 0; k < order.length; k++) {
    x -= weights[k]!;
    if (x < 0) return { token: order[k]!, logprob: logprob(order[k]!) };
  }
  const last = order[order.length - 1]!;
  return { token: last, logprob: logprob(last) };
}

function checkOptions(o: GenerateOptions, prompts: number[][], model: LlamaModel): void {
  if (!(Number.isInteger(o.maxNewTokens) && o.maxNewTokens >= 1))
    throw new RangeError(`Expected an integer >= 1 for maxNewTokens but received ${o.maxNewTokens}`);
  if (o.temperature !== undefined && !(o.temperature >= 0)) throw new RangeError(`Expected a number >= 0 for temperature but received ${o.temperature}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new RangeError(`Expected a number in (0, 1] for topP but received ${o.topP}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) throw new RangeError(`Expected an integer >= 0 for topK but received ${o.topK}`);
  if (o.engine !== undefined && !['auto', 'native', 'tfjs'].includes(o.engine)) {
    throw new TypeError(`Expected "auto", "native" or "tfjs" for engine but received ${JSON.stringify(o.engine)}`);
  }
  if (o.stopStrings?.length && !o.decode) throw new TypeError('Expected a decode function with stopStrings but received none');
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) throw new RangeError('Expected at least one prompt, each with at least one token');
  const V = model.config.vocab_size;
  for (const [b, p] of prompts.entries()) {
    const bad = p.find((t) => !(Number.isInteger(t) && t >= 0 && t < V));
    if (bad !== undefined) throw new RangeError(`Expected token ids in [0, ${V}) but prompt ${b} holds ${bad}`);
  }
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest + o.maxNewTokens > model.config.max_position_embeddings) {
    throw new RangeError(
      `Expected prompt length + maxNewTokens <= max_position_embeddings (${model.config.max_position_embeddings}) but received ${longest} + ${o.maxNewTokens}`,
    );
  }
}

export async function generate(model: LlamaModel, prompts: number[][], options: GenerateOptions): Promise<Generation> {
  checkOptions(options, prompts, model);
  const B = prompts.length;
  const V = model.config.vocab_size;
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  const stopIds = new Set(options.stopTokenIds ?? []);
  const randoms = prompts.map((_, b) => rngFor(options.seed ?? 0, b));
  const P = Math.max(...prompts.map((p) => p.length));
  // Left padding: every sequence's next token goes in the same column.
  const ids = prompts.map((p) => [...new Array<number>(P - p.length).fill(0), ...p]);
  const mask = prompts.map((p) => [...new Array<number>(P - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
  const out: Generation = { tokens: prompts.map(() => []), logprobs: prompts.map(() => []), finishReasons: prompts.map(() => 'length') };
  const done = prompts.map(() => false);
  const useCache = options.useCache ?? true;
  const engine = useCache ? resolveEngine(options.engine).engine : 'tfjs';
  let cache: LayerCache[] | undefined;
  let decoder: KvDecoder | undefined;
  // Per sequence: tokens so far that are not padding (the next position is this count).
  const seen = mask.map((row) => row.reduce((a, b) => a + b, 0));

  const lastLogits = (logits: tf.Tensor3D): Float32Array => {
    const T = logits.shape[1];
    const last = tf.tidy(() => tf.slice(logits, [0, T - 1, 0], [B, 1, V]).reshape([B * V]));
    const data = last.dataSync() as Float32Array;
    last.dispose();
    return data;
  };

  /** Native: the prompt in one call, then each new column (one token per sequence). */
  const nativeLogits = (step: number): Float32Array => {
    if (step === 0) {
      const { shape, weights } = model.decoderInputs();
      decoder = new KvDecoder(shape, weights, B, P + options.maxNewTokens);
      const S = decoder.capacity;
      const flatIds = new Int32Array(B * P);
      const positions = new Int32Array(B * P);
      for (let b = 0; b < B; b++) {
        let n = 0;
        for (let t = 0; t < P; t++) {
          flatIds[b * P + t] = ids[b]![t]!;
          positions[b * P + t] = Math.max(0, n + mask[b]![t]! - 1);
          n += mask[b]![t]!;
          decoder.keyMask[b * S + t] = mask[b]![t]!;
        }
      }
      return decoder.step(flatIds, positions, 0, P);
    }
    const d = decoder!;
    const slot = P + step - 1;
    const last = new Int32Array(B);
    const positions = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      last[b] = ids[b]![slot]!;
      seen[b]! += mask[b]![slot]!;
      positions[b] = Math.max(0, seen[b]! - 1);
      d.keyMask[b * d.capacity + slot] = mask[b]![slot]!;
    }
    return d.step(last, positions, slot, 1);
  };

  const tfjsLogits = (step: number): Float32Array => {
    if (step === 0 || !useCache) {
      const idsT = tf.tensor2d(ids, [B, ids[0]!.length], 'int32');
      const maskT = tf.tensor2d(mask, [B, mask[0]!.length], 'int32');
      const r = model.forward(idsT, maskT, useCache);
      const logits = lastLogits(r.logits);
      tf.dispose([idsT, maskT, r.logits]);
      cache = r.cache;
      return logits;
    }
    const last = ids.map((row) => [row[row.length - 1]!]);
    const positions = mask.map((row) => [row.reduce((a, b) => a + b, 0) - 1]);
    const idsT = tf.tensor2d(last, [B, 1], 'int32');
    const maskT = tf.tensor2d(mask, [B, mask[0]!.length], 'int32');
    const posT = tf.tensor2d(positions, [B, 1], 'int32');
    const r = model.step(idsT, maskT, posT, cache!);
    const logits = lastLogits(r.logits);
    tf.dispose([idsT, maskT, posT, r.logits]);
    cache = r.cache;
    return logits;
  };

  try {
    for (let step = 0; step < options.maxNewTokens; step++) {
      if (options.signal?.aborted) throw options.signal.reason;
      const logits = engine === 'native' ? nativeLogits(step) : tfjsLogits(step);
      options.onLogits?.(step, logits);
      for (let b = 0; b < B; b++) {
        const s = sampleToken(logits.subarray(b * V, (b + 1) * V), temperature, topK, topP, randoms[b]!);
        // Finished sequences keep a column (their token is ignored and masked out).
        ids[b]!.push(done[b] ? 0 : s.token);
        mask[b]!.push(done[b] ? 0 : 1);
        if (done[b]) continue;
        out.tokens[b]!.push(s.token);
        out.logprobs[b]!.push(s.logprob);
        options.onToken?.(b, s.token);
        if (stopIds.has(s.token) || (options.stopStrings?.length && options.stopStrings.some((x) => options.decode!(out.tokens[b]!).includes(x)))) {
          done[b] = true;
          out.finishReasons[b] = 'stop';
        }
      }
      if (done.every(Boolean)) break;
      await new Promise((r) => setImmediate(r)); // let servers and timers breathe between steps
    }
  } finally {
    for (const c of cache ?? []) tf.dispose([c.k, c.v]);
  }
  return out;
}

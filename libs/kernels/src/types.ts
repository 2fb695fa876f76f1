// Public types of @rapo/kernels. Shapes: N response tokens (rows), V vocabulary entries,
// S sequences. See docs/kernels.md for the formulas.
import type { DeviceTensor } from './device.js';

/** Element type of logits: IEEE float32, or bfloat16 given as raw uint16 bit patterns. */
export type DType = 'f32' | 'bf16';

/** Where the kernels run. `js` is the pure TypeScript implementation (no addon needed). */
export type Backend = 'cuda' | 'cpu' | 'js';

/** How PMI becomes a role-specificity score s in [-1, 1]. */
export type Norm = 'robust' | 'clip' | 'tanh' | 'none';
/** Robust statistics over all response tokens of the batch, or per sequence. */
export type Scope = 'batch' | 'sequence';
/** Divide the weights by their mean over each sequence or over the batch. */
export type Renorm = 'none' | 'sequence' | 'batch';
/**
 * How scores become weights (docs/kernels.md). `paper`: asymmetric, w = 1 + lamPos * s (A > 0),
 * 1 - lamNeg * s (A < 0). `symmetric`: w = 1 + lamPos * s for either sign, s centred per group, so
 * a token every answer of a group shares with the same score nets exactly zero. `bounded`:
 * asymmetric on group-centred scores, each sequence's sum of lam * |s| capped at cap x its length,
 * then each sign's weights rescaled to GRPO's gradient mass.
 */
export type Variant = 'paper' | 'symmetric' | 'bounded';

/** Logits [N, V], row-major: Float32Array (f32), Uint16Array (bf16 bits) or device memory. */
export type Logits = Float32Array | Uint16Array | DeviceTensor;

export interface RapoParams {
  /** Logits are divided by it before the softmax (the rollout temperature). Default 1. */
  temperature?: number;
  /** Default 'robust': median-centred PMI, positive side scaled by 1/max, negative by 1/|min|. */
  norm?: Norm;
  /** Scope of the robust statistics. Default 'batch'. */
  scope?: Scope;
  /** c of the clip (clip(m, -c, c) / c) and tanh (tanh(m / c)) normalizations. Default 1. */
  scale?: number;
  /** Credit boost for role-specific tokens when A > 0: w = 1 + lamPos * s. In [0, 1]. Default 0. */
  lamPos?: number;
  /** Blame cut for role-specific tokens when A < 0: w = 1 - lamNeg * s. In [0, 1]. Default 0. */
  lamNeg?: number;
  /** Default 'none'. Must be 'none' with variant 'bounded' (it rescales each sign itself). */
  renorm?: Renorm;
  /** Default 'paper'. */
  variant?: Variant;
  /**
   * Sequences per group (consecutive, G samples of one prompt), for the per-group centring of
   * 'symmetric' and 'bounded'; must divide S. Default: all S sequences form one group.
   */
  groupSize?: number;
  /** 'bounded': per sequence, sum_t lam * |s_t| <= cap * (its unmasked rows). Default 0.25. */
  cap?: number;
}

export interface MiForwardArgs extends RapoParams {
  /** Optional; inferred from logitsWith (Float32Array: f32, Uint16Array: bf16). */
  dtype?: DType;
  /** Scorer logits with the full prompt (profile included). */
  logitsWith: Logits;
  /** Scorer logits with the profile-ablated prompt. */
  logitsWithout: Logits;
  /** [N] sampled response tokens, each in [0, vocabSize). */
  tokens: Int32Array;
  vocabSize: number;
  /** [N] 1 for response tokens, 0 for padding (masked rows are not read; their outputs are 0). */
  mask?: Uint8Array;
  /** [S + 1] rows of sequence s are [seqOffsets[s], seqOffsets[s + 1]); starts at 0, ends at N. */
  seqOffsets: Int32Array;
  /** [S] group-normalized advantage per sequence, or [N] per token with advantagesPerToken. */
  advantages: Float32Array;
  advantagesPerToken?: boolean;
  /** [N] optional: 1 marks a neutral row (format tags, end of turn) whose score is 0. */
  neutral?: Uint8Array;
  /**
   * [N] optional scores in [-1, 1] to use instead of the PMI-derived ones (norm is then not
   * applied): the testbed's oracle labels. PMI and log-probs are still computed.
   */
  scores?: Float32Array;
}

/** Per-row outputs, each [N]. Masked rows hold 0. */
export interface MiForwardResult {
  logpWith: Float32Array;
  logpWithout: Float32Array;
  /** log-sum-exp of logitsWith / T: pass it to logprobBackward. */
  lseWith: Float32Array;
  /** PMI m = logpWith - logpWithout. */
  mi: Float32Array;
  /** Role-specificity s in [-1, 1], as the weights used it (after centring, neutral rows and the cap). */
  score: Float32Array;
  /** RAPO weight w >= 0 (in [0, 2] before any renormalization). */
  weight: Float32Array;
  /** w * A. */
  weightedAdvantage: Float32Array;
  /** Entropy of softmax(logitsWith / T). */
  entropyWith: Float32Array;
}

export const MI_OUTPUTS = [
  'logpWith',
  'logpWithout',
  'lseWith',
  'mi',
  'score',
  'weight',
  'weightedAdvantage',
  'entropyWith',
] as const satisfies readonly (keyof MiForwardResult)[];

export interface LogprobBackwardArgs {
  dtype?: DType;
  /** [N, V] the logits the log-probs were computed from. */
  logits: Logits;
  tokens: Int32Array;
  vocabSize: number;
  /** [N] log-sum-exp of logits / T (miForward's lseWith). */
  lse: Float32Array;
  /** [N] dlogits is the gradient of -sum(coef * logp); 0 skips the row (its dlogits are 0). */
  coef: Float32Array;
  temperature?: number;
  /** dtype of dlogits; default: the logits dtype. */
  outDtype?: DType;
  /** Where to write dlogits [N, V]; default: a new array. */
  out?: Float32Array | Uint16Array | DeviceTensor;
}

export interface CallOptions {
  /** Overrides the backend chosen by RAPO_DEVICE for this call. */
  backend?: Backend;
}

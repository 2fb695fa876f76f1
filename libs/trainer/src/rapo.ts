// RAPO's side of an RL step, in one place: the profile-ablated prompts (one swap-partner rule),
// the scorer model, the forward pass to response rows, the token rows whose score is neutral,
// the testbed's oracle scores, and the one translation from `rl.rapo` names to the kernel's
// parameters. The RL step and the PMI-signal measurement both go through here (docs/trainer.md).
import { miForward, type MiForwardResult, type RapoParams } from '@rapo/kernels';
import { PAD_TOKEN, tf, type BpeTokenizer, type LlamaModel } from '@rapo/model';
import { TAG_RE } from '@rapo/psycot';
import type { World } from '@rapo/testbed';
import { ConfigError, type TrainConfig } from './config.js';
import type { Dataset, PromptRecord } from './data.js';
import { characterKey, encodePrompt, padBatch, promptMessages, swapPartner, type Ablation, type PromptFormat } from './format.js';
import { labelSpans, tokenLabels } from './labels.js';

export type RapoOptions = TrainConfig['rl']['rapo'];

/** The kernel parameters of `rl.rapo` for a batch of groups of `groupSize` answers. */
export function kernelParams(o: RapoOptions, temperature: number, groupSize: number): Required<RapoParams> & { groupSize: number } {
  return {
    temperature,
    norm: o.norm,
    scope: o.scope,
    scale: o.scale,
    lamPos: o.lam_pos,
    lamNeg: o.lam_neg,
    renorm: o.renorm,
    variant: o.variant,
    groupSize,
    cap: o.cap,
  };
}

/**
 * Checks what the schema alone cannot: the oracle needs the testbed's world, the name-only
 * ablation needs every RL prompt's name. Called before RL starts, so a bad setting fails at
 * once rather than at the first step that meets it.
 */
export function checkRapoSetup(config: TrainConfig, data: Pick<Dataset, 'rlTrain' | 'world'>): void {
  const o = config.rl.rapo;
  if (config.rl.algo !== 'rapo') return;
  if (o.score === 'oracle' && !data.world) {
    throw new ConfigError('rl.rapo.score oracle needs the testbed (data.source testbed): only its world labels every token; use score pmi with other data');
  }
  if (o.ablation === 'name-only') {
    const nameless = data.rlTrain.find((p) => !p.name);
    if (nameless) {
      throw new ConfigError(
        `rl.rapo.ablation name-only needs the character's name in every RL prompt, and ${nameless.id} has none: add "name" to its JSONL line or use ablation drop or swap`,
      );
    }
  }
  if (o.ablation === 'swap' && new Set(data.rlTrain.map(characterKey)).size < 2) {
    throw new ConfigError('rl.rapo.ablation swap needs RL prompts of at least two characters to swap profiles between');
  }
}

/** The model that scores PMI: the rollout policy, or the frozen reference (an error without one). */
export function scorerModel(o: RapoOptions, policy: LlamaModel, reference: LlamaModel | undefined): LlamaModel {
  if (o.scorer === 'old') return policy;
  if (!reference) throw new ConfigError('rl.rapo.scorer reference needs the frozen reference model, and none was loaded');
  return reference;
}

/**
 * The prompt ids with the profile ablated: dropped, reduced to the name, or swapped for the
 * profile of another character (entry `seed + i` of the pool's other characters, for prompt i).
 */
export function ablatedPromptIds(
  tokenizer: BpeTokenizer,
  prompts: readonly PromptRecord[],
  format: PromptFormat,
  ablation: Ablation,
  pool: readonly PromptRecord[],
  seed: number,
): number[][] {
  return prompts.map((p, i) => encodePrompt(tokenizer, promptMessages(p, format, ablation, ablation === 'swap' ? swapPartner(pool, p, seed + i) : undefined)));
}

/** Logit rows of the response tokens of every sequence, in order, `bs` sequences per forward pass. */
export function logitRows(model: LlamaModel, seqs: { prompt: number[]; response: number[] }[], pad: number, bs = 8): Float32Array {
  const V = model.config.vocab_size;
  const out = new Float32Array(seqs.reduce((a, s) => a + s.response.length, 0) * V);
  let k = 0;
  for (let i = 0; i < seqs.length; i += bs) {
    const chunk = seqs.slice(i, i + bs);
    const batch = padBatch(
      chunk.map((s) => ({ ids: [...s.prompt, ...s.response], lossMask: [] })),
      pad,
    );
    const ids = tf.tensor2d(batch.ids, [chunk.length, batch.length], 'int32');
    const att = tf.tensor2d(batch.attention, [chunk.length, batch.length], 'int32');
    const logits = model.forward(ids, att).logits;
    // Position t predicts token t + 1: a response is predicted from prompt.length - 1 on.
    const rows = responseRows(
      logits.dataSync() as Float32Array,
      V,
      batch.length,
      chunk.map((s) => s.response.map((_, j) => s.prompt.length - 1 + j)),
    );
    tf.dispose([ids, att, logits]);
    out.set(rows, k);
    k += rows.length;
  }
  return out;
}

/** Response-position rows of logits [B, T, V] (position t predicts token t + 1), sequence by sequence. */
export function responseRows(logits: Float32Array, V: number, T: number, rows: number[][]): Float32Array {
  const n = rows.reduce((s, r) => s + r.length, 0);
  const out = new Float32Array(n * V);
  let k = 0;
  rows.forEach((positions, b) => {
    for (const t of positions) {
      out.set(logits.subarray((b * T + t) * V, (b * T + t + 1) * V), k * V);
      k++;
    }
  });
  return out;
}

/**
 * 1 for the response tokens whose score is neutral under the bounded variant: the Psy-CoT format
 * tags (a token overlapping one) and the end-of-turn token. Their PMI says nothing about the
 * character, and a score on the end of turn changes when answers stop.
 */
export function neutralRows(tokenizer: BpeTokenizer, responses: readonly number[][], endOfTurn: number): Uint8Array {
  const out = new Uint8Array(responses.reduce((a, r) => a + r.length, 0));
  let k = 0;
  for (const ids of responses) {
    const pieces = ids.map((id) => tokenizer.decode([id]));
    const text = pieces.join('');
    const tags = [...text.matchAll(TAG_RE)].map((m) => [m.index!, m.index! + m[0].length] as const);
    let at = 0;
    pieces.forEach((piece, j) => {
      const start = at;
      at += piece.length;
      if (ids[j] === endOfTurn || tags.some(([s, e]) => s < at && e > start)) out[k + j] = 1;
    });
    k += ids.length;
  }
  return out;
}

/**
 * The testbed's oracle score of every response token: +1 where it spells one of the
 * character's own facts, voice or traits, -1 where it is generic empathy boilerplate, 0
 * elsewhere (the labels of the PMI-signal measurement).
 */
export function oracleScores(world: World, tokenizer: BpeTokenizer, prompts: readonly PromptRecord[], responses: readonly number[][]): Float32Array {
  const out = new Float32Array(responses.reduce((a, r) => a + r.length, 0));
  let k = 0;
  responses.forEach((ids, i) => {
    const rec = prompts[i]!;
    const c = rec.characterId ? world.byId.get(rec.characterId) : undefined;
    if (!c) throw new Error(`oracle scores: prompt ${rec.id} names no character of the testbed world`);
    const pieces = ids.map((id) => tokenizer.decode([id]));
    tokenLabels(pieces, labelSpans(pieces.join(''), c)).forEach((l, j) => (out[k + j] = l === 'role' ? 1 : l === 'generic' ? -1 : 0));
    k += ids.length;
  });
  return out;
}

export interface RapoStepInputs {
  config: TrainConfig;
  policy: LlamaModel;
  reference?: LlamaModel;
  tokenizer: BpeTokenizer;
  endOfTurn: number;
  world?: World;
  /** The step's prompts, one per group. */
  prompts: readonly PromptRecord[];
  /** Their ablated prompt ids (ablatedPromptIds), one per group. */
  ablatedIds: readonly number[][];
  /** The sampled responses, group after group (G per prompt). */
  responses: readonly number[][];
  /** The scorer's logit rows of the responses after the full prompts (the rows of `responses`, in order). */
  withRows: Float32Array;
  /** One advantage per response. */
  advantages: Float32Array;
}

/** RAPO's per-token weights (and PMI and scores) for one RL step's responses. */
export function rapoWeights(x: RapoStepInputs): MiForwardResult {
  const { config, tokenizer, responses } = x;
  const o = config.rl.rapo;
  const G = config.rl.group_size;
  const scorer = scorerModel(o, x.policy, x.reference);
  const pad = tokenizer.tokenToId(PAD_TOKEN) ?? 0;
  const ablated = logitRows(
    scorer,
    responses.map((r, i) => ({ prompt: x.ablatedIds[Math.floor(i / G)]!, response: r })),
    pad,
  );
  const tokens = Int32Array.from(responses.flat());
  if (x.withRows.length !== tokens.length * scorer.config.vocab_size) {
    throw new Error(
      `rapo: withRows holds ${x.withRows.length / scorer.config.vocab_size} rows for ${tokens.length} response tokens; pass the scorer's rows of exactly these responses`,
    );
  }
  const offsets = new Int32Array(responses.length + 1);
  responses.forEach((r, i) => (offsets[i + 1] = offsets[i]! + r.length));
  const perResponse = responses.map((_, i) => x.prompts[Math.floor(i / G)]!);
  return miForward({
    logitsWith: x.withRows,
    logitsWithout: ablated,
    tokens,
    vocabSize: scorer.config.vocab_size,
    seqOffsets: offsets,
    advantages: x.advantages,
    ...kernelParams(o, config.rl.temperature, G),
    ...(o.variant === 'bounded' ? { neutral: neutralRows(tokenizer, responses, x.endOfTurn) } : {}),
    ...(o.score === 'oracle' ? { scores: oracleScores(requireWorld(x.world), tokenizer, perResponse, responses) } : {}),
  });
}

function requireWorld(world: World | undefined): World {
  if (!world) throw new ConfigError('rl.rapo.score oracle needs the testbed (data.source testbed)');
  return world;
}

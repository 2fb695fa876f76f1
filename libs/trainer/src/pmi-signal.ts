// PMI signal quality: does the profile-token PMI that RAPO weights by single out the
// role-specific tokens? On testbed answers whose every token can be labelled (the character's
// facts, voice and trait words vs generic empathy boilerplate), a model scores each token with
// the profile and with the profile ablated, and we measure how well the PMI separates the two
// kinds (AUC: 1 = every role-specific token outranks every generic one, 0.5 = chance). The
// trainer's profile-reading probe and the study both measure through this file.
import { miForward } from '@rapo/kernels';
import { initBackend, loadCheckpoint, PAD_TOKEN, type BpeTokenizer, type LlamaModel } from '@rapo/model';
import { Rng } from '@rapo/random';
import { referenceResponse, withBoilerplate, type World } from '@rapo/testbed';
import type { TrainConfig } from './config.js';
import { loadDataset, toResponseFormat, type Dataset, type PromptRecord } from './data.js';
import { encodePrompt, encodeResponse, promptMessages, type Ablation } from './format.js';
import { labelSpans, replyMask, tokenLabels, TOKEN_LABELS, type TokenLabel } from './labels.js';
import { ablatedPromptIds, kernelParams, logitRows } from './rapo.js';

/** No labelled answer fits the model's context: the signal cannot be measured. */
export class PmiSignalError extends Error {
  override name = 'PmiSignalError';
}

/** P(a > b) over all pairs, ties counting half (the Mann-Whitney U statistic over |a||b|). NaN when either is empty. */
export function auc(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0) return NaN;
  const all = [...a.map((x) => [x, 1] as const), ...b.map((x) => [x, 0] as const)].sort((p, q) => p[0] - q[0]);
  // Sum of the ranks of `a`, ties sharing their mean rank.
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]![0] === all[i]![0]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]![1] === 1) rankSum += rank;
    i = j;
  }
  return (rankSum - (a.length * (a.length + 1)) / 2) / (a.length * b.length);
}

export interface PmiSignal {
  split: 'train' | 'heldout';
  ablation: Ablation;
  answers: number;
  /** Answers left out: prompt and answer do not fit the model's context. */
  skipped: number;
  tokens: Record<TokenLabel, number>;
  /** Mean PMI m = log p(token | profile) - log p(token | ablated profile), per label. */
  meanPmi: Record<TokenLabel, number>;
  /** Mean log p(token | profile) per label: whether the model predicts the token at all. */
  meanLogp: Record<TokenLabel, number>;
  /** P(m(role token) > m(generic token)), ties half. */
  aucRoleVsGeneric: number;
  /** P(m(role token) > m(other token)). */
  aucRoleVsOther: number;
  /** Median PMI of all answer tokens (what the robust normalization centres on). */
  medianPmi: number;
  /** Mean PMI of the end-of-turn token that closes each answer (what decides when the policy stops). */
  endOfTurnPmi: number;
  /** Share of the tokens with the top 10% PMI that are role-specific, and that are generic. */
  topDecile: { role: number; generic: number };
  /**
   * Role tokens by where they stand: in the reasoning (inside <think>) or in the reply. A Psy-CoT
   * answer names its facts in the construction step and states them again in the reply; the
   * reply's AUC against generic tokens (which are all in the reply) shows how much PMI the reply's
   * own role tokens keep.
   */
  roleByPart: Record<AnswerPart, { tokens: number; meanPmi: number; aucVsGeneric: number }>;
  /**
   * What RAPO makes of this PMI with the run's rl.rapo settings (its norm, scope and lambdas; the
   * paper's weighting, no renormalization), per label: the mean score s in [-1, 1], and the mean
   * weight the token would get in an answer with positive advantage (1 + lam_pos s) and with
   * negative advantage (1 - lam_neg s). A generic token that RAPO is to hold back needs s < 0.
   */
  rapoWeights: Record<TokenLabel, { score: number; positive: number; negative: number }>;
}

export type AnswerPart = 'reasoning' | 'reply';

export interface PmiSignalOptions {
  splits?: ('train' | 'heldout')[];
  ablations?: Ablation[];
  /** Answers per split (default 48). */
  answers?: number;
  batchSize?: number;
}

interface Item {
  record: PromptRecord;
  prompt: number[];
  response: number[];
  labels: TokenLabel[];
  inReply: boolean[];
}

function itemsFor(world: World, records: PromptRecord[], tokenizer: BpeTokenizer, config: TrainConfig, count: number): Item[] {
  return records.slice(0, count).map((record) => {
    const c = world.byId.get(record.characterId!)!;
    // The character's reference answer with two generic phrases in its reply: role-specific and
    // generic tokens in one answer, as a judge-pleasing policy writes them.
    const text = toResponseFormat(
      withBoilerplate(referenceResponse(c, record.turn!), Rng.derive(config.seed, 'pmi-signal', record.id), 2).text,
      config.data.response_format,
    );
    const response = encodeResponse(tokenizer, text);
    const pieces = response.map((id) => tokenizer.decode([id]));
    const decoded = pieces.join('');
    if (!decoded.startsWith(text))
      throw new Error(`pmi signal: the tokenizer does not decode token by token back to the answer of ${record.id}; cannot label its tokens`);
    return {
      record,
      prompt: encodePrompt(tokenizer, promptMessages(record, config.data.prompt_format)),
      response,
      labels: tokenLabels(pieces, labelSpans(text, c)),
      inReply: replyMask(pieces, text),
    };
  });
}

function safeMean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** PMI signal quality of `model` on the testbed's labelled answers, per split and ablation. */
export function measurePmiSignal(model: LlamaModel, tokenizer: BpeTokenizer, config: TrainConfig, data: Dataset, o: PmiSignalOptions = {}): PmiSignal[] {
  if (config.data.source !== 'testbed' || !data.world)
    throw new Error('pmi signal: needs a testbed run (data.source testbed): only there is every token labelled');
  const world = data.world;
  const pad = tokenizer.tokenToId(PAD_TOKEN) ?? 0;
  const count = o.answers ?? 48;
  const bs = o.batchSize ?? 8;
  const out: PmiSignal[] = [];
  for (const split of o.splits ?? ['heldout', 'train']) {
    // Answers longer than the model's context are left out (and counted).
    const all = itemsFor(world, split === 'heldout' ? data.rlEval : data.rlTrain, tokenizer, config, count);
    const fits = (it: Item) => it.prompt.length + it.response.length <= model.config.max_position_embeddings;
    const items = all.filter(fits);
    if (items.length === 0) {
      const n = all[0]!.prompt.length + all[0]!.response.length;
      throw new PmiSignalError(
        `pmi signal: no ${split} answer fits the model's ${model.config.max_position_embeddings} positions (${all[0]!.record.id} needs ${n})`,
      );
    }
    const tokens = Int32Array.from(items.flatMap((it) => it.response));
    const offsets = new Int32Array(items.length + 1);
    items.forEach((it, i) => (offsets[i + 1] = offsets[i]! + it.response.length));
    const labels = items.flatMap((it) => it.labels);
    const inReply = items.flatMap((it) => it.inReply);
    const withRows = logitRows(
      model,
      items.map((it) => ({ prompt: it.prompt, response: it.response })),
      pad,
      bs,
    );
    for (const ablation of o.ablations ?? (['drop', 'name-only', 'swap'] as Ablation[])) {
      const ablatedIds = ablatedPromptIds(
        tokenizer,
        items.map((it) => it.record),
        config.data.prompt_format,
        ablation,
        data.rlTrain,
        0,
      );
      const ablated = items.map((it, i) => ({ prompt: ablatedIds[i]!, response: it.response }));
      const withoutRows = logitRows(model, ablated, pad, bs);
      const rows = { logitsWith: withRows, logitsWithout: withoutRows, tokens, vocabSize: model.config.vocab_size, seqOffsets: offsets, temperature: 1 };
      const params = kernelParams({ ...config.rl.rapo, variant: 'paper', renorm: 'none' }, 1, 1);
      const weighted = (sign: number) => miForward({ ...rows, ...params, advantages: new Float32Array(items.length).fill(sign) });
      // PMI and log-probs do not depend on the advantages or the score settings: the pass at
      // positive advantage gives them too.
      const pos = weighted(1);
      const neg = weighted(-1);
      const r = pos;
      const by = (l: TokenLabel, xs: Float32Array) => Array.from(xs).filter((_, i) => labels[i] === l);
      const pmi = Object.fromEntries(TOKEN_LABELS.map((l) => [l, by(l, r.mi)])) as Record<TokenLabel, number[]>;
      const order = Array.from(r.mi.keys()).sort((a, b) => r.mi[b]! - r.mi[a]!);
      const top = order.slice(0, Math.max(1, Math.round(order.length / 10)));
      out.push({
        split,
        ablation,
        answers: items.length,
        skipped: all.length - items.length,
        tokens: Object.fromEntries(TOKEN_LABELS.map((l) => [l, pmi[l].length])) as Record<TokenLabel, number>,
        meanPmi: Object.fromEntries(TOKEN_LABELS.map((l) => [l, safeMean(pmi[l])])) as Record<TokenLabel, number>,
        meanLogp: Object.fromEntries(TOKEN_LABELS.map((l) => [l, safeMean(by(l, r.logpWith))])) as Record<TokenLabel, number>,
        medianPmi: r.mi[order[Math.floor(order.length / 2)]!]!,
        endOfTurnPmi: safeMean(items.map((_, i) => r.mi[offsets[i + 1]! - 1]!)),
        aucRoleVsGeneric: auc(pmi.role, pmi.generic),
        aucRoleVsOther: auc(pmi.role, pmi.other),
        topDecile: {
          role: top.filter((i) => labels[i] === 'role').length / top.length,
          generic: top.filter((i) => labels[i] === 'generic').length / top.length,
        },
        roleByPart: Object.fromEntries(
          (['reasoning', 'reply'] as AnswerPart[]).map((part) => {
            const xs = Array.from(r.mi).filter((_, i) => labels[i] === 'role' && inReply[i] === (part === 'reply'));
            return [part, { tokens: xs.length, meanPmi: safeMean(xs), aucVsGeneric: xs.length && pmi.generic.length ? auc(xs, pmi.generic) : NaN }];
          }),
        ) as PmiSignal['roleByPart'],
        rapoWeights: Object.fromEntries(
          TOKEN_LABELS.map((l) => [l, { score: safeMean(by(l, pos.score)), positive: safeMean(by(l, pos.weight)), negative: safeMean(by(l, neg.weight)) }]),
        ) as PmiSignal['rapoWeights'],
      });
    }
  }
  return out;
}

/** measurePmiSignal of a saved checkpoint (a run's final/ or checkpoints/step-N/), on the run's testbed. */
export async function measureCheckpointPmiSignal(checkpoint: string, config: TrainConfig, o: PmiSignalOptions = {}): Promise<PmiSignal[]> {
  if (config.data.source !== 'testbed') throw new Error('pmi signal: needs a testbed run (data.source testbed): only there is every token labelled');
  await initBackend();
  const { model, tokenizer } = loadCheckpoint(checkpoint);
  try {
    return measurePmiSignal(model, tokenizer, config, loadDataset(config), o);
  } finally {
    model.dispose();
  }
}

// One SFT step and one RL step. Everything random is drawn from (seed, phase, step), so a run
// resumed from a checkpoint makes exactly the batches and samples the uninterrupted run made.
import { miForward } from '@rapo/kernels';
import { END_OF_TURN, generate, stripChatMarkers, tf, tokenLogprobs, shiftTargets, type BpeTokenizer, type LlamaModel } from '@rapo/model';
import { fidelity, genericCount, summarizeFidelity, type FidelitySummary, type World } from '@rapo/testbed';
import { judgeAddressKinds, stripReasoning } from '@rapo/psycot';
import type { TrainConfig } from './config.js';
import { stepSeed } from './batches.js';
import type { PromptRecord, SftRecord } from './data.js';
import { encodeExample, encodePrompt, encodeResponse, padBatch, promptMessages, type Sequence } from './format.js';
import { ablatedPromptIds, rapoWeights, responseRows } from './rapo.js';
import { AdamW, clipGlobalNorm, learningRate } from './optim.js';
import { correlation, groupAdvantages, ppoLoss, summary } from './rl.js';
import { scoreAll, type RewardSource } from './rewards.js';
import { tokenTexts } from './token-text.js';

export interface Ctx {
  config: TrainConfig;
  model: LlamaModel;
  tokenizer: BpeTokenizer;
  world?: World;
  pad: number;
  endOfTurn: number;
}

function tensors(batch: ReturnType<typeof padBatch>) {
  const { targets, mask } = shiftTargets(batch.ids, batch.lossMask);
  const B = batch.ids.length;
  const T = batch.length;
  return {
    ids: tf.tensor2d(batch.ids, [B, T], 'int32'),
    attention: tf.tensor2d(batch.attention, [B, T], 'int32'),
    targets: tf.tensor2d(targets, [B, T], 'int32'),
    mask: tf.tensor2d(mask, [B, T], 'float32'),
    maskRows: mask,
    targetRows: targets,
  };
}

/** Mean negative log-likelihood of the response tokens of `examples` (no gradient). */
export function sftLoss(ctx: Ctx, examples: SftRecord[]): number {
  const seqs = examples.map((e) => sftSequence(ctx, e));
  const t = tensors(padBatch(seqs, ctx.pad));
  const lp = tf.tidy(() => tokenLogprobs(ctx.model.forward(t.ids, t.attention).logits, t.targets, t.mask));
  const sum = lp.sum().dataSync()[0]!;
  const n = t.mask.sum().dataSync()[0]!;
  tf.dispose([lp, t.ids, t.attention, t.targets, t.mask]);
  return -sum / Math.max(1, n);
}

export function sftSequence(ctx: Ctx, e: SftRecord): Sequence {
  const prompt = encodePrompt(ctx.tokenizer, promptMessages(e, ctx.config.data.prompt_format));
  let response = encodeResponse(ctx.tokenizer, e.response);
  const room = ctx.model.config.max_position_embeddings - prompt.length;
  if (response.length > room) response = response.slice(0, Math.max(1, room));
  return encodeExample(ctx.tokenizer, prompt, response);
}

export interface SftMetrics {
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  seconds: number;
}

export function sftStep(ctx: Ctx, optimizer: AdamW, examples: SftRecord[], step: number): SftMetrics {
  const c = ctx.config.sft;
  const t0 = performance.now();
  const t = tensors(
    padBatch(
      examples.map((e) => sftSequence(ctx, e)),
      ctx.pad,
    ),
  );
  const tokens = t.maskRows.flat().reduce((a, b) => a + b, 0);
  const { value, grads } = tf.variableGrads(
    () => tf.div(tf.neg(tf.sum(tokenLogprobs(ctx.model.forward(t.ids, t.attention).logits, t.targets, t.mask))), Math.max(1, tokens)) as tf.Scalar,
    ctx.model.trainableVariables,
  );
  const byName = gradsByParam(ctx.model, grads);
  const gradNorm = clipGlobalNorm(byName, c.grad_clip);
  const lr = learningRate(step, c.steps, c.lr, c.warmup_steps);
  optimizer.step(byName, lr);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...byName.values(), t.ids, t.attention, t.targets, t.mask]);
  return { loss, lr, gradNorm, tokens, seconds: (performance.now() - t0) / 1000 };
}

/** variableGrads keys gradients by variable name; the optimizer wants parameter names. */
function gradsByParam(model: LlamaModel, grads: Record<string, tf.Tensor>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, v] of model.params) {
    const g = grads[v.name];
    if (g) out.set(name, g);
  }
  return out;
}

// --- RL -------------------------------------------------------------------------------------------

export interface RlSample {
  prompt: PromptRecord;
  response: string;
  responseIds: number[];
  reward: number;
  advantage: number;
  /** Per response token, when RAPO scored it. */
  tokens: string[];
  mi?: number[];
  score?: number[];
}

export interface RlMetrics {
  reward: number;
  rewardParts: Record<string, number>;
  genericRate: number;
  /** Share of the sampled responses (reasoning included) that address their judge: a score line, the judge prompt's tags, grading words (judgeAddressKinds). */
  judgeAddressRate: number;
  responseLength: number;
  /** Share of the sampled answers cut at the token limit before they ended. */
  truncated: number;
  kl: number;
  entropy: number;
  clipFraction: { low: number; high: number };
  pmi?: ReturnType<typeof summary>;
  score?: ReturnType<typeof summary>;
  weight?: { pos: number; neg: number };
  corrPmiAdvantage?: number;
  lr: number;
  timing: { rollout: number; reward: number; scoring: number; ablated: number; update: number };
  tokensPerSecond: number;
  /** This step's judge answers that were unreadable or failed calls (their items got advantage 0). */
  judgeFailures: number;
}

export interface RlState {
  optimizer: AdamW;
  reference?: LlamaModel;
  rewards: RewardSource[];
  /** Profiles to swap in for the 'swap' ablation (training prompts only). */
  swapPool: PromptRecord[];
}

export async function rlStep(ctx: Ctx, state: RlState, prompts: PromptRecord[], step: number): Promise<{ metrics: RlMetrics; samples: RlSample[] }> {
  const c = ctx.config.rl;
  const { model, tokenizer } = ctx;
  const V = model.config.vocab_size;
  const G = c.group_size;
  const format = ctx.config.data.prompt_format;
  const seed = ctx.config.seed;
  const T0 = performance.now();

  // 1. Rollouts: G samples per prompt from the current policy. Under RAPO the answers are also
  // scored after the ablated prompts (a swapped-in profile can be longer), so both must fit.
  const promptIds = prompts.map((p) => encodePrompt(tokenizer, promptMessages(p, format)));
  const ablatedIds = c.algo === 'rapo' ? ablatedPromptIds(tokenizer, prompts, format, c.rapo.ablation, state.swapPool, stepSeed(seed, 'swap', step)) : [];
  const budget = answerBudget(ctx, [...promptIds, ...ablatedIds]);
  if (budget < 1) {
    const longest = Math.max(...promptIds.map((p) => p.length), ...ablatedIds.map((p) => p.length));
    throw new Error(`A prompt has ${longest} tokens: no room left to answer within max_position_embeddings ${model.config.max_position_embeddings}`);
  }
  const gen = await generate(
    model,
    promptIds.flatMap((p) => Array.from({ length: G }, () => p)),
    {
      maxNewTokens: budget,
      temperature: c.temperature,
      topP: c.top_p,
      seed: stepSeed(seed, 'rollout', step),
      stopTokenIds: [ctx.endOfTurn],
    },
  );
  const tRollout = performance.now();
  const responseIds = gen.tokens;
  const texts = responseIds.map((ids) => stripChatMarkers(tokenizer.decode(ids)));
  const items = texts.map((response, i) => ({ prompt: prompts[Math.floor(i / G)]!, response }));

  // 2. Rewards and advantages.
  // An item a judge could not score gets its group's mean reward (advantage 0); too many such stop the step here, before any update.
  const { total, parts, judgeFailures } = await scoreAll(state.rewards, items, { groupSize: G });
  const grouped = prompts.map((_, p) => total.slice(p * G, (p + 1) * G));
  const adv = groupAdvantages(grouped, c.adv_scale).flat();
  const tReward = performance.now();

  // 3. Scoring (no gradient): old log-probs, reference log-probs, RAPO weights.
  const seqs = responseIds.map((r, i) => encodeExample(tokenizer, promptIds[Math.floor(i / G)]!, r));
  const batch = padBatch(seqs, ctx.pad);
  const t = tensors(batch);
  const B = seqs.length;
  const T = batch.length;
  const rows = t.maskRows.map((r) => r.flatMap((m, pos) => (m ? [pos] : [])));
  const respTokens = Int32Array.from(rows.flatMap((r, b) => r.map((pos) => t.targetRows[b]![pos]!)));
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((r, b) => (offsets[b + 1] = offsets[b]! + r.length));
  const advantages = Float32Array.from(adv);
  const forwardData = (m: LlamaModel, ids: tf.Tensor2D, att: tf.Tensor2D) => {
    const logits = m.forward(ids, att).logits;
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    return data;
  };
  const oldLogits = forwardData(model, t.ids, t.attention);
  const oldRows = responseRows(oldLogits, V, T, rows);
  const N = respTokens.length;
  let refRows: Float32Array | undefined;
  if (state.reference && (c.beta > 0 || c.rapo.scorer === 'reference')) {
    refRows = responseRows(forwardData(state.reference, t.ids, t.attention), V, T, rows);
  }
  const base = { tokens: respTokens, vocabSize: V, seqOffsets: offsets, advantages, temperature: c.temperature };
  const own = miForward({ ...base, logitsWith: oldRows, logitsWithout: oldRows, norm: 'none' });
  const ref = refRows ? miForward({ ...base, logitsWith: refRows, logitsWithout: refRows, norm: 'none' }) : undefined;
  const tScoring = performance.now();

  let weights: Float32Array = new Float32Array(N).fill(1);
  let mi: Float32Array | undefined;
  let score: Float32Array | undefined;
  if (c.algo === 'rapo') {
    const r = rapoWeights({
      config: ctx.config,
      policy: model,
      ...(state.reference ? { reference: state.reference } : {}),
      tokenizer,
      endOfTurn: ctx.endOfTurn,
      ...(ctx.world ? { world: ctx.world } : {}),
      prompts,
      ablatedIds,
      responses: responseIds,
      // Both sides of the PMI come from the scorer: the rollout policy, or the frozen reference.
      withRows: c.rapo.scorer === 'reference' ? requireRows(refRows) : oldRows,
      advantages,
    });
    weights = r.weight;
    mi = r.mi;
    score = r.score;
  }
  const tAblated = performance.now();

  // 4. Updates: several epochs over the batch, against the old log-probs.
  const toGrid = (values: ArrayLike<number>) => {
    const grid = Array.from({ length: B }, () => new Array<number>(T).fill(0));
    let k = 0;
    rows.forEach((r, b) => r.forEach((pos) => (grid[b]![pos] = values[k++]!)));
    return tf.tensor2d(grid, [B, T], 'float32');
  };
  const oldLogp = toGrid(own.logpWith);
  const refLogp = ref ? toGrid(ref.logpWith) : undefined;
  const wT = toGrid(weights);
  const advT = toGrid(Float32Array.from(rows.flatMap((r, b) => r.map(() => adv[b]!))));
  const lr = learningRate(step, c.steps, c.lr, c.warmup_steps);
  let stats = { clipLow: 0, clipHigh: 0, kl: 0 };
  for (let epoch = 0; epoch < c.update_epochs; epoch++) {
    const { value, grads } = tf.variableGrads(() => {
      const newLogp = tokenLogprobs(model.forward(t.ids, t.attention).logits, t.targets, t.mask, { temperature: c.temperature });
      const r = ppoLoss(
        { newLogp, oldLogp, refLogp, advantages: advT, weights: wT, mask: t.mask },
        { epsLow: c.eps_low, epsHigh: c.eps_high, beta: c.beta, lossAgg: c.loss_agg, maxNewTokens: c.max_new_tokens },
      );
      // The statistics of the first pass (the on-policy one); read here, while the tensors live.
      if (epoch === 0) stats = r.stats();
      return r.loss;
    }, model.trainableVariables);
    const byName = gradsByParam(model, grads);
    clipGlobalNorm(byName, c.grad_clip);
    state.optimizer.step(byName, lr);
    tf.dispose([value, ...byName.values()]);
  }
  tf.dispose([oldLogp, wT, advT, t.ids, t.attention, t.targets, t.mask, ...(refLogp ? [refLogp] : [])]);
  const tUpdate = performance.now();

  // 5. Metrics.
  const replies = texts.map((x) => stripReasoning(x, 'psy-cot'));
  const tokenAdv = Float32Array.from(rows.flatMap((r, b) => r.map(() => adv[b]!)));
  const meanOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const posW: number[] = [];
  const negW: number[] = [];
  weights.forEach((w, i) => (tokenAdv[i]! > 0 ? posW.push(w) : tokenAdv[i]! < 0 ? negW.push(w) : undefined));
  const generated = responseIds.reduce((s, r) => s + r.length, 0);
  const seconds = (tUpdate - T0) / 1000;
  const metrics: RlMetrics = {
    reward: meanOf(total),
    rewardParts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, meanOf(v)])),
    genericRate: meanOf(replies.map((r) => (genericCount(r) > 0 ? 1 : 0))),
    judgeAddressRate: meanOf(texts.map((t) => (judgeAddressKinds(t).length > 0 ? 1 : 0))),
    responseLength: meanOf(responseIds.map((r) => r.length)),
    truncated: meanOf(gen.finishReasons.map((r) => (r === 'length' ? 1 : 0))),
    kl: stats.kl,
    entropy: meanOf(Array.from(own.entropyWith)),
    clipFraction: { low: stats.clipLow, high: stats.clipHigh },
    ...(mi && score
      ? { pmi: summary(mi), score: summary(score), weight: { pos: meanOf(posW), neg: meanOf(negW) }, corrPmiAdvantage: correlation(mi, tokenAdv) }
      : {}),
    lr,
    timing: {
      rollout: (tRollout - T0) / 1000,
      reward: (tReward - tRollout) / 1000,
      scoring: (tScoring - tReward) / 1000,
      ablated: (tAblated - tScoring) / 1000,
      update: (tUpdate - tAblated) / 1000,
    },
    tokensPerSecond: generated / seconds,
    judgeFailures,
  };
  let k = 0;
  const samples: RlSample[] = responseIds.map((r, i) => {
    const n = rows[i]!.length;
    const sample: RlSample = {
      prompt: items[i]!.prompt,
      response: texts[i]!,
      responseIds: r,
      reward: total[i]!,
      advantage: adv[i]!,
      tokens: tokenTexts(r.slice(0, n), (ids) => tokenizer.decode(ids)),
      ...(mi && score ? { mi: Array.from(mi.subarray(k, k + n)), score: Array.from(score.subarray(k, k + n)) } : {}),
    };
    k += n;
    return sample;
  });
  return { metrics, samples };
}

function requireRows(rows: Float32Array | undefined): Float32Array {
  if (!rows) throw new Error('rl.rapo.scorer reference needs the frozen reference model, and the RL step was given none');
  return rows;
}

// --- evaluation -------------------------------------------------------------------------------------

export interface EvalResult {
  /** Mean reward on the held-out prompts (greedy answers). */
  reward: number;
  fidelity?: FidelitySummary;
  genericRate: number;
  /** Share of the answers cut at the token limit before they ended. */
  truncated: number;
  /** The greedy answers, in the order of the prompts. */
  texts: string[];
  /** Judge answers that were unreadable or failed calls (their answers count at the mean of the rest). */
  judgeFailures: number;
}

/** Room left for an answer after the longest prompt: rl.max_new_tokens, or less where the context ends first. */
export function answerBudget(ctx: Ctx, promptIds: number[][]): number {
  const longest = Math.max(...promptIds.map((p) => p.length));
  return Math.min(ctx.config.rl.max_new_tokens, ctx.model.config.max_position_embeddings - longest);
}

/** Greedy answers to held-out prompts, scored by the rewards and (testbed) the fidelity metric. */
export async function evaluate(ctx: Ctx, rewards: RewardSource[], prompts: PromptRecord[]): Promise<EvalResult> {
  const ids = prompts.map((p) => encodePrompt(ctx.tokenizer, promptMessages(p, ctx.config.data.prompt_format)));
  const gen = await generate(ctx.model, ids, { maxNewTokens: Math.max(1, answerBudget(ctx, ids)), temperature: 0, stopTokenIds: [ctx.endOfTurn] });
  const texts = gen.tokens.map((t) => stripChatMarkers(ctx.tokenizer.decode(t)));
  const { total, judgeFailures } = await scoreAll(
    rewards,
    texts.map((response, i) => ({ prompt: prompts[i]!, response })),
  );
  const replies = texts.map((x) => stripReasoning(x, 'psy-cot'));
  const genericRate = replies.filter((r) => genericCount(r) > 0).length / Math.max(1, replies.length);
  let fid: FidelitySummary | undefined;
  if (ctx.world) {
    fid = summarizeFidelity(prompts.map((p, i) => fidelity(ctx.world!, ctx.world!.byId.get(p.characterId!)!, p.turn!, texts[i]!)));
  }
  const truncated = gen.finishReasons.filter((r) => r === 'length').length / Math.max(1, texts.length);
  return {
    reward: total.reduce((a, b) => a + b, 0) / Math.max(1, total.length),
    ...(fid ? { fidelity: fid } : {}),
    genericRate,
    truncated,
    texts,
    judgeFailures,
  };
}

export { END_OF_TURN };

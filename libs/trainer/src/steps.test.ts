// One RL step on a tiny model (cpu backend): GRPO is exactly RAPO with lam_pos = lam_neg = 0.
process.env.RAPO_TF_BACKEND = 'cpu';
import { END_OF_TURN, initBackend, PAD_TOKEN, shiftTargets, tf, tokenLogprobs, type LlamaModel } from '@rapo/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig, type TrainConfig } from './config.js';
import { loadDataset } from './data.js';
import { encodePrompt, promptMessages } from './format.js';
import { AdamW } from './optim.js';
import type { RewardSource } from './rewards.js';
import { scratchModel } from './run.js';
import { rlStep, sftLoss, sftStep, type Ctx } from './steps.js';

const TINY = {
  seed: 2,
  data: { characters: 4 },
  model: { init: 'scratch', vocab_size: 300, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 },
  rl: { prompts_per_step: 2, group_size: 3, max_new_tokens: 6, update_epochs: 2, beta: 0.05 },
};

/** A reward that differs between samples (a hash of the text), so advantages are not zero. */
const hashReward: RewardSource = {
  name: 'hash',
  weight: 1,
  score: async (items) =>
    items.map(({ response }) => {
      let h = 2166136261;
      for (const ch of response) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
      return (h >>> 0) / 2 ** 32;
    }),
};

function setup(over: Partial<TrainConfig['rl']['rapo']> & { algo?: 'grpo' | 'rapo' }) {
  const { algo, ...rapo } = over;
  const config = parseTrainConfig({ ...TINY, rl: { ...TINY.rl, ...(algo ? { algo } : {}), rapo } });
  const data = loadDataset(config);
  const { model, tokenizer } = scratchModel(config, data);
  const ctx: Ctx = { config, model, tokenizer, pad: tokenizer.tokenToId(PAD_TOKEN)!, endOfTurn: tokenizer.tokenToId(END_OF_TURN)!, world: data.world! };
  const { model: reference } = scratchModel(config, data);
  const state = { optimizer: new AdamW(model.params), reference, rewards: [hashReward], swapPool: data.rlTrain };
  return { ctx, state, data };
}

const params = (m: LlamaModel) => [...m.params.values()].map((v) => Array.from(v.dataSync()));

describe('RL step', () => {
  beforeAll(async () => {
    expect((await initBackend()).name).toBe('cpu');
  });

  it('GRPO and RAPO with lam_pos = lam_neg = 0 make bit-identical updates; lam > 0 changes them', async () => {
    const grpo = setup({ algo: 'grpo' });
    const rapo0 = setup({ algo: 'rapo', lam_pos: 0, lam_neg: 0 });
    const rapo = setup({ algo: 'rapo', lam_pos: 0.5, lam_neg: 0.5 });
    const before = params(grpo.ctx.model);
    const prompts = grpo.data.rlTrain.slice(0, 2);
    const a = await rlStep(grpo.ctx, grpo.state, prompts, 0);
    const b = await rlStep(rapo0.ctx, rapo0.state, prompts, 0);
    const c = await rlStep(rapo.ctx, rapo.state, prompts, 0);
    expect(b.samples.map((s) => s.response)).toEqual(a.samples.map((s) => s.response));
    expect(a.samples.some((s) => s.advantage !== 0)).toBe(true);
    const pa = params(grpo.ctx.model);
    expect(pa).not.toEqual(before); // the step did update
    expect(params(rapo0.ctx.model)).toEqual(pa);
    expect(b.metrics.weight).toEqual({ pos: 1, neg: 1 });
    expect(params(rapo.ctx.model)).not.toEqual(pa);
    // RAPO logs the PMI signals and per-token scores; GRPO has none.
    expect(c.metrics.pmi).toBeDefined();
    expect(c.metrics.corrPmiAdvantage).toBeGreaterThanOrEqual(-1);
    expect(c.samples[0]!.score!.length).toBe(c.samples[0]!.tokens.length);
    expect(a.metrics.pmi).toBeUndefined();
    expect(a.metrics.kl).toBe(0); // first pass: the policy is its own old policy, the reference differs only later
    for (const k of ['rollout', 'reward', 'scoring', 'ablated', 'update'] as const) expect(c.metrics.timing[k]).toBeGreaterThanOrEqual(0);
    expect(c.metrics.tokensPerSecond).toBeGreaterThan(0);
    const live = tf.memory().numTensors;
    await rlStep(rapo.ctx, rapo.state, prompts, 1);
    expect(tf.memory().numTensors).toBe(live); // no tensor leaks per step
  });

  it('every variant and the oracle score at lam 0 make the GRPO update bit for bit', async () => {
    const grpo = setup({ algo: 'grpo' });
    const prompts = grpo.data.rlTrain.slice(0, 2);
    await rlStep(grpo.ctx, grpo.state, prompts, 0);
    const want = params(grpo.ctx.model);
    for (const over of [
      { variant: 'symmetric' },
      { variant: 'bounded' },
      { variant: 'bounded', score: 'oracle' },
      { score: 'oracle', ablation: 'swap' },
    ] as const) {
      const run = setup({ algo: 'rapo', lam_pos: 0, lam_neg: 0, ...over });
      await rlStep(run.ctx, run.state, prompts, 0);
      expect(params(run.ctx.model), JSON.stringify(over)).toEqual(want);
    }
  });

  it('the oracle scores are the world labels: paper weights 1 + lam_pos on role tokens of answers with A > 0', async () => {
    const run = setup({ algo: 'rapo', score: 'oracle', lam_pos: 0.5, lam_neg: 0.5 });
    const { samples } = await rlStep(run.ctx, run.state, run.data.rlTrain.slice(0, 2), 0);
    for (const s of samples) for (const x of s.score!) expect([-1, 0, 1]).toContain(x);
  });

  it('scorer "reference" without a reference model is an error, not a silent fallback to the policy', async () => {
    const run = setup({ algo: 'rapo', scorer: 'reference' });
    const { reference: _dropped, ...state } = run.state;
    await expect(
      rlStep({ ...run.ctx, config: { ...run.ctx.config, rl: { ...run.ctx.config.rl, beta: 0 } } }, state, run.data.rlTrain.slice(0, 1), 0),
    ).rejects.toThrow(/scorer reference needs the frozen reference/);
  });

  it('with scorer "reference", both sides of the PMI come from the frozen reference', async () => {
    const run = setup({ algo: 'rapo', scorer: 'reference', ablation: 'drop' });
    // A reference that differs from the policy, so mixing the two would show.
    for (const v of run.state.reference.params.values()) v.assign(tf.mul(v, 0.9));
    const prompt = run.data.rlTrain[0]!;
    const { samples } = await rlStep(run.ctx, run.state, [prompt], 0);
    const s = samples[0]!;
    const logprobs = (ablation?: 'drop') => {
      const ids = [...encodePrompt(run.ctx.tokenizer, promptMessages(prompt, 'compact', ablation)), ...s.responseIds];
      const mask = ids.map((_, i) => (i >= ids.length - s.responseIds.length ? 1 : 0));
      const { targets, mask: m } = shiftTargets([ids], [mask]);
      const lp = tf.tidy(() =>
        tokenLogprobs(
          run.state.reference.forward(tf.tensor2d([ids], undefined, 'int32'), tf.ones([1, ids.length], 'int32')).logits,
          tf.tensor2d(targets, undefined, 'int32'),
          tf.tensor2d(m),
        ),
      );
      const row = (lp.arraySync() as number[][])[0]!;
      return row.filter((_, i) => m[0]![i]);
    };
    const withProfile = logprobs();
    const without = logprobs('drop');
    expect(s.mi!.length).toBe(withProfile.length);
    s.mi!.forEach((m, t) => expect(m).toBeCloseTo(withProfile[t]! - without[t]!, 4));
  });

  it('SFT steps lower the loss on their batch', () => {
    const { ctx, data } = setup({});
    const opt = new AdamW(ctx.model.params);
    const batch = data.sftBatch(0, 2);
    const start = sftLoss(ctx, batch);
    const fast = { ...ctx, config: { ...ctx.config, sft: { ...ctx.config.sft, lr: 1e-2, warmup_steps: 0 } } };
    sftStep(fast, opt, batch, 0);
    const live = tf.memory().numTensors;
    for (let s = 1; s < 5; s++) sftStep(fast, opt, batch, s);
    expect(tf.memory().numTensors).toBe(live); // no tensor leaks per step
    expect(sftLoss(ctx, batch)).toBeLessThan(start - 0.1);
  });
});

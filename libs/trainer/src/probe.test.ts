// The profile-reading probe: its scoring of reading answers, the warning before RAPO, and a
// whole probe of a small model on the testbed.
import { initBackend } from '@rapo/model';
import { readingValue } from '@rapo/testbed';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from './config.js';
import { loadDataset, readingProbeSet } from './data.js';
import { measurePmiSignal } from './pmi-signal.js';
import { MIN_SIGNAL_AUC, probeLine, profileProbe, scoreReadingAnswers, weakSignalWarning, type ProfileProbe } from './probe.js';
import { makeRewardSource } from './rewards.js';
import { scratchModel } from './run.js';
import type { Ctx } from './steps.js';
import { TINY_MODEL } from './testing.js';

beforeAll(async () => {
  process.env.RAPO_TF_BACKEND ??= 'cpu';
  await initBackend();
});

describe('reading answers', () => {
  const config = parseTrainConfig({ phases: ['sft'], data: { source: 'reading' } });
  const questions = readingProbeSet(config, 6);

  it('count a field when its line holds exactly the value, in any order', () => {
    const perfect = questions.map((q) =>
      [...q.reading!.fields!]
        .reverse()
        .map((f) => `${f}: ${readingValue(q.reading!.example.character, f)}`)
        .join('\n'),
    );
    expect(scoreReadingAnswers(questions, perfect).accuracy).toBe(1);
    // One field wrong in the first answer, nothing readable in the second.
    const q0 = questions[0]!;
    const f0 = q0.reading!.fields![0]!;
    const oneWrong = [
      perfect[0]!.replace(`${f0}: ${readingValue(q0.reading!.example.character, f0)}`, `${f0}: nothing`),
      'I do not know.',
      ...perfect.slice(2),
    ];
    const r = scoreReadingAnswers(questions, oneWrong);
    const total = questions.reduce((s, q) => s + q.reading!.fields!.length, 0);
    expect(r.accuracy).toBeCloseTo((total - 1 - questions[1]!.reading!.fields!.length) / total, 10);
    expect(r.fields[f0]).toBeLessThan(1);
    expect(
      scoreReadingAnswers(
        questions,
        questions.map(() => ''),
      ).accuracy,
    ).toBe(0);
  });
});

const probe = (auc: number, ablation = 'swap'): ProfileProbe => ({
  heldOut: { facts: 0.1, foreignRate: 0, fidelity: 0.5, genericRate: 0, truncated: 0, prompts: 8 },
  train: { facts: 0.1, foreignRate: 0, prompts: 8 },
  factsGap: 0,
  signal: [
    {
      ablation: ablation as 'swap',
      meanPmi: { role: 0, generic: 0, other: 0 },
      aucRoleVsOther: auc,
      aucRoleVsGeneric: auc,
      endOfTurnPmi: 0,
      replyRole: { meanPmi: 0, aucVsGeneric: auc },
      rapoWeight: { role: 1, generic: 1 },
    },
  ],
  seconds: 1,
});

describe('the warning before RAPO', () => {
  it('speaks up when the signal is near chance, and only for RAPO', () => {
    const rapo = parseTrainConfig({ rl: { algo: 'rapo' } });
    expect(weakSignalWarning(rapo, probe(0.55))).toMatch(/AUC role vs other 0\.55.*RAPO's weights will be mostly noise.*sft\.steps/);
    expect(weakSignalWarning(rapo, probe(MIN_SIGNAL_AUC + 0.1))).toBeUndefined();
    expect(weakSignalWarning(parseTrainConfig({ rl: { algo: 'grpo' } }), probe(0.5))).toBeUndefined();
    expect(probeLine(probe(0.55))).toMatch(/held-out facts 0\.10 \(train 0\.10\).*AUC role\/other 0\.55/);
  });
});

describe('profile probe', () => {
  it('measures a model end to end: greedy facts on both sides, the swap signal, counts', async () => {
    const config = parseTrainConfig({
      data: { characters: 8 },
      model: { ...TINY_MODEL, max_position_embeddings: 1536 },
      rl: { max_new_tokens: 8, rapo: { ablation: 'drop' } },
    });
    const data = loadDataset(config);
    const { model, tokenizer } = scratchModel(config, data);
    const ctx: Ctx = {
      config,
      model,
      tokenizer,
      pad: tokenizer.tokenToId('<|endoftext|>')!,
      endOfTurn: tokenizer.tokenToId('<|im_end|>')!,
      world: data.world!,
    };
    const p = await profileProbe(
      ctx,
      config.rl.rewards.map((r) => makeRewardSource(r, data.world, 1)),
      data,
      4,
    );
    expect(p.heldOut.prompts).toBe(4);
    expect(p.train.prompts).toBe(4);
    // An untrained model reads nothing.
    expect(p.heldOut.facts).toBeLessThan(0.5);
    expect(p.heldOut.truncated).toBeGreaterThanOrEqual(0);
    expect(p.heldOut.truncated).toBeLessThanOrEqual(1);
    expect(p.factsGap).toBeCloseTo(p.train.facts - p.heldOut.facts, 10);
    expect(p.signal.map((s) => s.ablation)).toEqual(['swap', 'drop']);
    for (const s of p.signal) {
      expect(s.aucRoleVsOther).toBeGreaterThanOrEqual(0);
      // Generic phrases stand in the reply, and so do some role tokens: the reply-only AUC exists.
      expect(s.replyRole.aucVsGeneric).toBeGreaterThanOrEqual(0);
      expect(s.replyRole.aucVsGeneric).toBeLessThanOrEqual(1);
      for (const w of [s.rapoWeight.role, s.rapoWeight.generic]) {
        expect(w).toBeGreaterThanOrEqual(0);
        expect(w).toBeLessThanOrEqual(2);
      }
    }
    // The weights are the paper's: linear in the score, for either sign of the advantage.
    const full = measurePmiSignal(model, tokenizer, config, data, { splits: ['heldout'], ablations: ['drop'], answers: 4 })[0]!;
    for (const l of ['role', 'generic', 'other'] as const) {
      const x = full.rapoWeights[l];
      expect(x.positive).toBeCloseTo(1 + config.rl.rapo.lam_pos * x.score, 5);
      expect(x.negative).toBeCloseTo(1 - config.rl.rapo.lam_neg * x.score, 5);
      expect(Math.abs(x.score)).toBeLessThanOrEqual(1);
    }
    model.dispose();
  });
});

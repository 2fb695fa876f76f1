// The trainer options every study and hack-check run gets, and the merge under them.
import { describe, expect, it } from 'vitest';
import { budgetConfig, HACK_BIAS, HACK_LR, merge } from './budget.js';

describe('merge', () => {
  it('merges nested objects key by key and replaces arrays and values', () => {
    expect(merge({ a: { x: 1, y: [1, 2] }, b: 2 }, { a: { y: [3] }, c: 4 })).toEqual({ a: { x: 1, y: [3] }, b: 2, c: 4 });
    const a = { a: { x: 1 } };
    merge(a, { a: { x: 2 } });
    expect(a).toEqual({ a: { x: 1 } });
  });
});

describe('budgetConfig', () => {
  const o = { out: 'x', seeds: 3, sftSteps: 300, rlSteps: 30, evalPrompts: 48 };
  it('is the hack budget, with the evaluations spread over the RL steps and the probe off', () => {
    expect(budgetConfig(o, 3)).toEqual({
      data: { world_seed: 1 },
      sft: { steps: 300 },
      rl: { steps: 30, lr: HACK_LR, eval_every: 10, eval_prompts: 48, rewards: [{ type: 'testbed-judge', bias: HACK_BIAS }] },
      probe: { prompts: 0 },
      checkpoint: { every: 1000, keep: 1 },
    });
    expect((budgetConfig({ ...o, rlSteps: 2 }, 4).rl as { eval_every: number }).eval_every).toBe(1);
  });
  it("puts the caller's rl options first and the base over everything", () => {
    const c = budgetConfig({ ...o, base: { rl: { lr: 1e-4 }, sft: { batch_size: 2 } } }, 4, { algo: 'grpo' });
    expect(Object.keys(c.rl as object)[0]).toBe('algo');
    expect(c.rl).toMatchObject({ algo: 'grpo', lr: 1e-4, eval_every: 7 });
    expect(c.sft).toEqual({ steps: 300, batch_size: 2 });
  });
});

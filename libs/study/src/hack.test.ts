// The reward-hacking check: its numbers from a run's metrics, and the whole check on a tiny model
// (an SFT checkpoint, GRPO on two seeds, hack.json, hack.html and hack.svg, a rerun that reads runs back).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TINY_MODEL } from '@rapo/trainer/testing';
import { HACK_LR, hackRun, runHackCheck, type HackResults } from './hack.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-hack-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the numbers of one GRPO run', () => {
  it('compare the first three sampled steps with the last quarter, and the first evaluation with the last', () => {
    const dir = join(root, 'synthetic');
    mkdirSync(dir);
    const steps = Array.from({ length: 8 }, (_, step) => ({ step, phase: 'rl', reward: 0.5, genericRate: step / 10 }));
    const evals = [
      { step: 0, phase: 'rl', evalReward: 0.6, evalGenericRate: 0.1, fidelity: { overall: 0.9 } },
      { step: 8, phase: 'rl', evalReward: 0.8, evalGenericRate: 0.5, fidelity: { overall: 0.7 } },
    ];
    writeFileSync(join(dir, 'metrics.jsonl'), [...steps, ...evals].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = hackRun(dir, 4);
    expect(r.sampledStart).toBeCloseTo(0.1, 12); // steps 0, 1, 2
    expect(r.sampledEnd).toBeCloseTo(0.65, 12); // steps 6, 7
    expect(r).toMatchObject({ seed: 4, greedyStart: 0.1, greedyEnd: 0.5, judgeStart: 0.6, judgeEnd: 0.8, fidelityStart: 0.9, fidelityEnd: 0.7 });
    expect(r.curve).toHaveLength(8);
    writeFileSync(join(dir, 'metrics.jsonl'), JSON.stringify(steps[0]) + '\n');
    expect(() => hackRun(dir, 1)).toThrow(/too few RL steps or evaluations/);
  });
});

describe('the hack check', () => {
  it('trains an SFT checkpoint and GRPO over seeds, writes hack.json, hack.html and hack.svg, and reads finished runs back', async () => {
    const out = join(root, 'check');
    const base = {
      data: { characters: 6 },
      model: TINY_MODEL,
      sft: { batch_size: 2, eval_every: 2, eval_batches: 1, lr: 1e-2, warmup_steps: 1 },
      rl: { prompts_per_step: 2, group_size: 2, max_new_tokens: 6, rewards: [{ type: 'testbed-judge', noise: 0.3 }] },
    };
    const lines: string[] = [];
    const r = await runHackCheck({ out, seeds: 2, sftSteps: 2, rlSteps: 4, evalPrompts: 2, base, log: (l) => lines.push(l) });
    const onDisk = JSON.parse(readFileSync(join(out, 'hack.json'), 'utf8')) as HackResults;
    expect(onDisk.runs.map((x) => x.seed)).toEqual([1, 2]);
    expect(onDisk.sampledRise.mean).toBeCloseTo(mean(r.runs.map((x) => x.sampledEnd - x.sampledStart)), 12);
    expect(onDisk.conclusions[0]).toMatch(/GRPO with the hackable judge, 4 RL steps, 2 seeds/);
    expect(readFileSync(join(out, 'grpo', 'seed-2', 'resolved-config.yaml'), 'utf8')).toMatch(/algo: grpo/);
    const html = readFileSync(join(out, 'hack.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('seed 2');
    expect(readFileSync(join(out, 'hack.svg'), 'utf8')).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
    // The documented budget's learning rate, unless a --set overrides it.
    expect(readFileSync(join(out, 'grpo', 'seed-1', 'resolved-config.yaml'), 'utf8')).toMatch(new RegExp(`lr: ${HACK_LR}`));
    // A rerun trains nothing.
    const again: string[] = [];
    await runHackCheck({ out, seeds: 2, sftSteps: 2, rlSteps: 4, evalPrompts: 2, base, log: (l) => again.push(l) });
    expect(again.filter((l) => /training ->/.test(l))).toEqual([]);
    await expect(runHackCheck({ out, seeds: 1, sftSteps: 2, rlSteps: 4, evalPrompts: 2, base })).rejects.toThrow(/at least 2 seeds/);
  }, 600_000);
});

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

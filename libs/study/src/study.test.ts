// The whole study on a tiny model: every run, results.json in the documented shape, the report,
// and a rerun that reads every finished run back instead of training again.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '@rapo/trainer';
import { TINY_MODEL } from '@rapo/trainer/testing';
import { driftVerdict, runStudy, selectMethods, type StudyResults, type TrainJob } from './study.js';
import { interval } from './stats.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-study-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = {
  data: { characters: 6 },
  model: TINY_MODEL,
  sft: { batch_size: 2, eval_every: 2, eval_batches: 1, lr: 1e-2, warmup_steps: 1 },
  rl: { prompts_per_step: 2, group_size: 2, max_new_tokens: 6, rewards: [{ type: 'testbed-judge', noise: 0.3 }] },
  log: { samples_every: 1, samples: 1 },
};

describe('the study', () => {
  it('runs SFT formats, GRPO, RAPO, the variants, the oracle, an ablation and the random-reward control over seeds, and resumes by reading runs back', async () => {
    const out = join(root, 'study');
    const lines: string[] = [];
    const opts = {
      out,
      seeds: 2,
      sftSteps: 3,
      rlSteps: 2,
      evalPrompts: 2,
      ablations: ['lr-half'],
      formats: true,
      base: TINY,
      log: (l: string) => lines.push(l),
    };
    const r = await runStudy(opts);
    const onDisk = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as StudyResults;
    expect(onDisk.seeds).toBe(2);
    const methods = ['grpo', 'rapo', 'rapo symmetric', 'rapo bounded', 'oracle'];
    expect(Object.keys(onDisk.methods)).toEqual([...methods, 'grpo lr=0.0001', 'rapo lr=0.0001', ...methods.map((m) => `${m} random reward`)]);
    // lr-half pairs RAPO with GRPO at the same (halved) rate; the others are paired with GRPO.
    expect(Object.keys(onDisk.ablationDifferences)).toEqual([
      'rapo symmetric - grpo',
      'rapo bounded - grpo',
      'oracle - grpo',
      'grpo lr=0.0001 - grpo',
      'rapo lr=0.0001 - grpo lr=0.0001',
    ]);
    // Holm across the 6 comparisons of each metric; the per-seed values are kept.
    expect(onDisk.familySize).toBe(6);
    for (const d of [onDisk.difference, ...Object.values(onDisk.ablationDifferences)]) {
      expect(d.heldOutFidelity.pHolm).toBeGreaterThanOrEqual(d.heldOutFidelity.p!);
      expect(d.heldOutFidelity.values).toHaveLength(2);
    }
    expect(onDisk.methods.oracle!.kl.values).toHaveLength(2);
    expect(readFileSync(join(out, 'rl', 'oracle', 'seed-1', 'resolved-config.yaml'), 'utf8')).toMatch(/score: oracle/);
    expect(readFileSync(join(out, 'rl', 'rapo_bounded', 'seed-1', 'resolved-config.yaml'), 'utf8')).toMatch(/variant: bounded/);
    // The drift control: every RAPO method against GRPO on the random reward.
    expect(Object.keys(onDisk.control!)).toEqual(methods.slice(1));
    const c = onDisk.control!['rapo bounded']!;
    const kl = (m: string, seed: number) => r.runs[`${m} random reward`]!.find((x) => x.seed === seed)!.metrics.kl;
    expect(c.kl.mean).toBeCloseTo((kl('rapo bounded', 1) - kl('grpo', 1) + kl('rapo bounded', 2) - kl('grpo', 2)) / 2, 12);
    const generic = (m: string, seed: number) => r.runs[`${m} random reward`]!.find((x) => x.seed === seed)!.metrics.genericRate;
    expect(c.genericRate.mean).toBeCloseTo((generic('rapo bounded', 1) - generic('grpo', 1) + generic('rapo bounded', 2) - generic('grpo', 2)) / 2, 12);
    expect(c.drifts).toBe(Math.abs(c.kl.mean) > 0.1 || Math.abs(c.answerTokens.mean) > 0.1 * c.grpoAnswerTokens || Math.abs(c.genericRate.mean) > 0.1);
    expect(c.drifts).toBe(c.driftsBy.length > 0);
    expect(readFileSync(join(out, 'rl', 'rapo_symmetric_random_reward', 'seed-1', 'resolved-config.yaml'), 'utf8')).toMatch(/noise: 100/);
    expect(onDisk.conclusions.filter((l) => /^(No RAPO method beats GRPO|Beats GRPO)/.test(l))).toHaveLength(1);
    const lrRun = (m: string, seed: number) => r.runs[m]!.find((x) => x.seed === seed)!.metrics.kl;
    expect(onDisk.ablationDifferences['rapo lr=0.0001 - grpo lr=0.0001']!.kl.mean).toBeCloseTo(
      (lrRun('rapo lr=0.0001', 1) - lrRun('grpo lr=0.0001', 1) + lrRun('rapo lr=0.0001', 2) - lrRun('grpo lr=0.0001', 2)) / 2,
      12,
    );
    expect(readFileSync(join(out, 'rl', 'rapo_lr=0_0001', 'seed-1', 'resolved-config.yaml'), 'utf8')).toMatch(/lr: 0\.0001/);
    // The PMI signal of the SFT checkpoint (both splits, every ablation mode) and of every final policy.
    const ps = onDisk.pmiSignal!;
    expect(ps.base.map((x) => `${x.split} ${x.ablation}`)).toEqual([
      'heldout drop',
      'heldout name-only',
      'heldout swap',
      'train drop',
      'train name-only',
      'train swap',
    ]);
    for (const x of ps.base) {
      expect(x.tokens.role).toBeGreaterThan(0);
      expect(x.tokens.generic).toBeGreaterThan(0);
      expect(x.aucRoleVsGeneric).toBeGreaterThanOrEqual(0);
      expect(x.aucRoleVsGeneric).toBeLessThanOrEqual(1);
      expect(Number.isFinite(x.endOfTurnPmi) && Number.isFinite(x.medianPmi)).toBe(true);
      expect(x.answers + x.skipped).toBe(2);
      expect(x.rapoWeights.generic.positive).toBeCloseTo(1 + 0.5 * x.rapoWeights.generic.score, 5);
    }
    expect(Object.keys(ps.finals)).toEqual(Object.keys(onDisk.methods).filter((m) => !m.endsWith('random reward')));
    expect(ps.finals.grpo!.corrPmiAdvantage.mean).toBe(0);
    for (const m of ['heldOutFidelity', 'judgeReward', 'genericRate', 'kl']) {
      const x = onDisk.methods.rapo![m as 'kl'];
      expect(x.ci95[0]).toBeLessThanOrEqual(x.mean);
      expect(x.ci95[1]).toBeGreaterThanOrEqual(x.mean);
      expect(onDisk.difference[m as 'kl'].mean).toBeCloseTo(
        (r.runs.rapo![0]!.metrics[m as 'kl'] -
          r.runs.grpo![0]!.metrics[m as 'kl'] +
          r.runs.rapo![1]!.metrics[m as 'kl'] -
          r.runs.grpo![1]!.metrics[m as 'kl']) /
          2,
        12,
      );
    }
    expect(onDisk.overheadRatio).toBeGreaterThan(0);
    expect(Object.keys(onDisk.sftFormats!)).toEqual(['psy-cot', 'reply', 'generic-cot']);
    // The same token budget: shorter answers get more steps.
    expect(onDisk.sftFormats!.reply.steps).toBeGreaterThan(onDisk.sftFormats!['psy-cot'].steps);
    expect(onDisk.conclusions[0]).toMatch(/^RAPO - GRPO, held-out fidelity: (significantly (higher|lower)|no significant difference)/);
    expect(lines.filter((l) => /: training ->/.test(l))).toHaveLength(6 + 24);
    // Every RL run started from the same SFT checkpoint.
    const cfg = readFileSync(join(out, 'rl', 'rapo', 'seed-2', 'resolved-config.yaml'), 'utf8');
    expect(cfg).toContain(join(out, 'sft', 'psy-cot', 'seed-1', 'final'));
    expect(cfg).toMatch(/seed: 2/);
    // The hack budget's learning rate (the judge's bias comes with it unless rewards are set, as here).
    expect(cfg).toMatch(/\n {2}lr: 0\.0002\n/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('RAPO vs GRPO');
    expect(html).toContain('Random-reward control');
    expect(html).toContain('per seed');
    expect(html).toContain('<svg');
    expect(html).toContain('PMI signal quality');
    expect(html).toContain('RAPO weight, A &gt; 0');
    expect(
      onDisk.conclusions.some((l) => /^RAPO's weights there \(the paper's form\): in an answer with positive advantage role-specific tokens \d/.test(l)),
    ).toBe(true);

    lines.length = 0;
    const again = await runStudy(opts);
    expect(lines.filter((l) => /done before/.test(l))).toHaveLength(30);
    expect(again.methods).toEqual(r.methods);
    // From a given SFT checkpoint: no SFT run, RL only.
    lines.length = 0;
    const init = join(out, 'sft', 'psy-cot', 'seed-1', 'final');
    const fromInit = await runStudy({
      ...opts,
      out: join(root, 'from-init'),
      init,
      formats: false,
      methods: [],
      control: false,
      ablations: [],
      pmiSignal: false,
    });
    expect(Object.keys(fromInit.methods)).toEqual(['grpo', 'rapo']);
    expect(lines.filter((l) => /^\[\d+\/4\] rl (grpo|rapo) seed \d: training ->/.test(l))).toHaveLength(4);
    expect(readFileSync(join(root, 'from-init', 'rl', 'grpo', 'seed-1', 'resolved-config.yaml'), 'utf8')).toContain(init);
    await expect(runStudy({ ...opts, init: join(root, 'nowhere') })).rejects.toThrow('no model.safetensors');
    await expect(runStudy({ ...opts, seeds: 1 })).rejects.toThrow('Expected at least 2 seeds');
    await expect(runStudy({ ...opts, jobs: 2 })).rejects.toThrow('2 jobs at once need a runner');
    await expect(runStudy({ ...opts, controlSeeds: 3 })).rejects.toThrow("Expected 2..2 (the study's seeds) control seeds but received 3");
    await expect(runStudy({ ...opts, methods: ['symetric'] })).rejects.toThrow('Unknown method "symetric"');
    await expect(runStudy({ ...opts, ablations: ['norm-cube'] })).rejects.toThrow('Unknown ablation "norm-cube"');
  }, 900_000); // about 30 tiny runs: a minute alone, several on a busy machine
});

describe('driftVerdict', () => {
  const d = (...xs: number[]) => interval(xs);
  it('names each margin a method exceeds on the random reward, and none within them', () => {
    expect(driftVerdict(d(0.05, 0.08), d(-3, 2), d(0.02, -0.05), 100)).toMatchObject({ driftsBy: [], drifts: false });
    expect(driftVerdict(d(0.2, 0.3), d(0, 0), d(0, 0), 100).driftsBy).toEqual(['KL']);
    expect(driftVerdict(d(-0.2, -0.3), d(-12, -14), d(0, 0), 100).driftsBy).toEqual(['KL', 'length']);
    // The push a weighting gives on pure noise: KL and length like GRPO's, boilerplate cleared.
    const push = driftVerdict(d(0.01, -0.02, 0.0), d(1, -2, 0), d(-0.15, -0.2, -0.12), 100);
    expect(push).toMatchObject({ driftsBy: ['generic-phrase rate'], drifts: true });
    // Length is measured against GRPO's own answer length.
    expect(driftVerdict(d(0, 0), d(9, 9), d(0, 0), 100).drifts).toBe(false);
    expect(driftVerdict(d(0, 0), d(9, 9), d(0, 0), 80).driftsBy).toEqual(['length']);
  });
});

describe('selectMethods', () => {
  it('keeps the study\'s order, always runs GRPO and RAPO, and takes names with or without "rapo "', () => {
    expect(selectMethods([]).map((m) => m.name)).toEqual(['grpo', 'rapo']);
    expect(selectMethods(['oracle', 'symmetric']).map((m) => m.name)).toEqual(['grpo', 'rapo', 'rapo symmetric', 'oracle']);
    expect(selectMethods(['rapo bounded', ' grpo ']).map((m) => m.name)).toEqual(['grpo', 'rapo', 'rapo bounded']);
    expect(() => selectMethods(['oracle', 'sym', 'paper'])).toThrow(
      'Unknown methods "sym", "paper"; expected some of grpo, rapo, rapo symmetric, rapo bounded, oracle',
    );
  });
});

describe('the study with several jobs', () => {
  it('hands runs to the runner, several at once, and reads the same results back', async () => {
    let running = 0;
    let most = 0;
    const seen: TrainJob[] = [];
    // Trains in this process one at a time (tfjs is not shared between overlapping runs), but
    // counts how many runs the study had handed out at once.
    let queue = Promise.resolve();
    const runner = (job: TrainJob) => {
      seen.push(job);
      most = Math.max(most, ++running);
      const turn = queue.then(() => train({ config: job.config, out: job.dir, resume: job.resume }).then(() => undefined));
      queue = turn.catch(() => undefined);
      return turn.finally(() => running--);
    };
    const out = join(root, 'jobs');
    const opts = {
      out,
      seeds: 3,
      sftSteps: 2,
      rlSteps: 1,
      evalPrompts: 2,
      ablations: [],
      formats: false,
      methods: ['oracle'],
      controlSeeds: 2,
      pmiSignal: false,
      base: TINY,
      jobs: 3,
      runner,
    };
    const r = await runStudy(opts);
    expect(most).toBe(3);
    // Three seeds of every method, the random-reward control on the first two.
    expect(seen.map((j) => j.label.replace(/^\[\d+\/16\] /, ''))).toEqual([
      'sft psy-cot seed 1 (2 steps)',
      ...['grpo', 'rapo', 'oracle'].flatMap((m) => [1, 2, 3].map((s) => `rl ${m} seed ${s}`)),
      ...['grpo', 'rapo', 'oracle'].flatMap((m) => [1, 2].map((s) => `rl ${m} random reward seed ${s}`)),
    ]);
    expect(seen.every((j) => !j.resume)).toBe(true);
    expect(Object.keys(r.methods)).toEqual(['grpo', 'rapo', 'oracle', 'grpo random reward', 'rapo random reward', 'oracle random reward']);
    expect(r.runs.oracle!.map((x) => x.seed)).toEqual([1, 2, 3]);
    expect(r.methods.oracle!.kl.values).toHaveLength(3);
    expect(r.control!.oracle!.kl.values).toHaveLength(2);
    expect(r.difference.kl.values).toHaveLength(3);
    expect(readFileSync(join(out, 'rl', 'oracle', 'seed-2', 'resolved-config.yaml'), 'utf8')).toMatch(/score: oracle/);
    seen.length = 0;
    const again = await runStudy(opts);
    expect(seen).toHaveLength(0);
    expect(again.methods).toEqual(r.methods);
  }, 300_000);
});

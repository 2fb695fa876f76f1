// Whole runs on a tiny model (cpu backend): the run folder, resume after a crash, refusals.
process.env.RAPO_TF_BACKEND = 'cpu';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, readSafetensors } from '@rapo/model';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, configToYaml, parseTrainConfig } from './config.js';
import type { MetricRow } from './report/types.js';
import { RunError, train } from './run.js';
import { TINY_MODEL } from './testing.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = {
  seed: 5,
  data: { characters: 4 },
  model: { init: 'scratch', vocab_size: 300, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 },
  sft: { steps: 4, batch_size: 2, eval_every: 2, eval_batches: 1, lr: 1e-2, warmup_steps: 1 },
  rl: { steps: 4, prompts_per_step: 2, group_size: 2, max_new_tokens: 6, eval_every: 2, eval_prompts: 2, rewards: [{ type: 'testbed-judge', noise: 0.3 }] },
  probe: { prompts: 2 },
  checkpoint: { every: 2, keep: 2 },
  log: { samples_every: 1, samples: 1 },
};
const config = parseTrainConfig(TINY);

const rows = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricRow);
/** Rows without the fields that measure time. */
const timeless = (dir: string) =>
  rows(dir).map(({ time: _t, timing: _timing, tokensPerSecond: _tps, ...rest }) => (rest.probe ? { ...rest, probe: { ...rest.probe, seconds: 0 } } : rest));
const weights = (dir: string) => Object.fromEntries([...readSafetensors(join(dir, 'model.safetensors')).tensors].map(([k, v]) => [k, Array.from(v.data)]));

class Crash extends Error {}
const crashAt = (phase: 'sft' | 'rl', step: number) => (row: MetricRow) => {
  if (row.phase === phase && row.step === step && row.loss !== undefined) throw new Crash(`simulated crash at ${phase} ${step}`);
  if (row.phase === phase && row.step === step && row.reward !== undefined) throw new Crash(`simulated crash at ${phase} ${step}`);
};

let reference = '';

describe('a training run', () => {
  it('writes its folder: config, metrics, samples, checkpoints, reference, final model, report', async () => {
    reference = join(root, 'straight');
    const lines: string[] = [];
    const r = await train({ config, out: reference, log: (l) => lines.push(l) });
    expect(r.complete).toBe(true);
    expect(r.final?.fidelity?.overall).toBeGreaterThanOrEqual(0);
    expect(YAML.parse(readFileSync(join(reference, 'resolved-config.yaml'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(config)));
    const m = rows(reference);
    const sft = m.filter((x) => x.phase === 'sft' && x.loss !== undefined);
    const rl = m.filter((x) => x.phase === 'rl' && x.reward !== undefined);
    expect(sft.map((x) => x.step)).toEqual([0, 1, 2, 3]);
    expect(rl.map((x) => x.step)).toEqual([0, 1, 2, 3]);
    expect(m.filter((x) => x.evalLoss !== undefined).map((x) => x.step)).toEqual([0, 2, 4]);
    expect(m.filter((x) => x.fidelity !== undefined).map((x) => x.step)).toEqual([0, 2, 4]);
    // The profile-reading probe after SFT and at the end (RAPO after an SFT probe needs no other).
    expect(m.filter((x) => x.probe).map((x) => `${x.phase} ${x.step}`)).toEqual(['sft 4', 'rl 4']);
    expect(m.find((x) => x.probe)!.probe!.heldOut.prompts).toBe(2);
    expect(lines.filter((l) => / probe after /.test(l))).toHaveLength(2);
    for (const x of rl) {
      for (const k of [
        'reward',
        'rewardParts',
        'genericRate',
        'judgeAddressRate',
        'responseLength',
        'truncated',
        'kl',
        'entropy',
        'clipFraction',
        'pmi',
        'score',
        'weight',
        'corrPmiAdvantage',
        'timing',
        'tokensPerSecond',
        'lr',
      ] as const) {
        expect(x[k], `${k} at rl step ${x.step}`).toBeDefined();
      }
      expect(Object.keys(x.timing!)).toEqual(['rollout', 'reward', 'scoring', 'ablated', 'update']);
    }
    const samples = readFileSync(join(reference, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(samples.length).toBe(4);
    expect(samples[0].score.length).toBe(samples[0].tokens.length);
    expect(samples[0].pmi.length).toBe(samples[0].tokens.length);
    // The last `keep` checkpoints, complete; no temporary folders left.
    const ckpts = readdirSync(join(reference, 'checkpoints'));
    expect(ckpts).toEqual(['step-000006', 'step-000008']);
    const state = JSON.parse(readFileSync(join(reference, 'checkpoints', 'step-000008', 'state.json'), 'utf8'));
    expect(state).toMatchObject({ phase: 'rl', step: 4, globalStep: 8, seed: 5 });
    expect(existsSync(join(reference, 'checkpoints', 'step-000008', 'optimizer.safetensors'))).toBe(true);
    expect(readdirSync(reference).filter((f) => f.includes('.tmp'))).toEqual([]);
    // The final model loads as a checkpoint (and so serves with rapo-serve).
    const final = loadCheckpoint(join(reference, 'final'));
    expect(final.model.config.hidden_size).toBe(16);
    final.model.dispose();
    expect(existsSync(join(reference, 'reference', 'model.safetensors'))).toBe(true);
    const html = readFileSync(join(reference, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('class="tok"');
    // The console line of an RL step carries every signal of its metrics row.
    expect(lines.find((l) => /^rl 4\/4/.test(l))).toMatch(
      /reward [\d.]+ .*generic \d+% .*kl .*ent .*clip .*pmi .*score .*w\+ .*w- .*corr .*rollout .*ablated .*update .*tok\/s .*eta/,
    );
    expect(lines.at(-1)).toMatch(/^done in .*report\.html$/);
  });

  it('crashed in SFT and again in RL, then resumed, ends with the same parameters and metrics as the uninterrupted run', async () => {
    const out = join(root, 'crashed');
    await expect(train({ config, out, onRow: crashAt('sft', 3) })).rejects.toThrow(/simulated crash at sft 3[\s\S]*continued from .*step-000002 with --resume/);
    await expect(train({ config, out, resume: true, onRow: crashAt('rl', 3) })).rejects.toThrow(Crash);
    const r = await train({ config, out, resume: true });
    expect(r.complete).toBe(true);
    expect(weights(join(out, 'final'))).toEqual(weights(join(reference, 'final')));
    expect(timeless(out)).toEqual(timeless(reference));
    expect(readFileSync(join(out, 'samples.jsonl'), 'utf8')).toBe(readFileSync(join(reference, 'samples.jsonl'), 'utf8'));
  });

  it('resumed from its last checkpoint after every step was done, writes the final evaluation as an uninterrupted run', async () => {
    // A run stopped after its final save (killed before final/ and the report): the last
    // checkpoint has every step; what followed it, the final evaluation and probe, must be made again.
    const out = join(root, 'resumed-at-end');
    cpSync(reference, out, { recursive: true });
    rmSync(join(out, 'final'), { recursive: true });
    rmSync(join(out, 'report.html'));
    const lines: string[] = [];
    const r = await train({ config, out, resume: true, log: (l) => lines.push(l) });
    expect(r.complete).toBe(true);
    expect(r.final).toMatchObject({ phase: 'rl', step: 4 });
    expect(r.final!.fidelity!.overall).toBeGreaterThanOrEqual(0);
    expect(timeless(out)).toEqual(timeless(reference));
    expect(lines.some((l) => /^rl eval after 4 steps: .*fidelity/.test(l))).toBe(true);
    expect(weights(join(out, 'final'))).toEqual(weights(join(reference, 'final')));
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });

  it('checks every input before it makes the run folder, and a failed start blocks no later one', async () => {
    const jsonl = (over: object) =>
      parseTrainConfig({ ...TINY, data: { source: 'jsonl', sft_file: join(root, 'none.jsonl'), prompts_file: join(root, 'none.jsonl') }, ...over });
    const out = join(root, 'bad-start');
    await expect(train({ config: jsonl({}), out })).rejects.toThrow(/none\.jsonl: cannot read the SFT example file/);
    expect(existsSync(out)).toBe(false);
    await expect(train({ config: parseTrainConfig({ ...TINY, model: { init: join(root, 'no-checkpoint') } }), out })).rejects.toThrow(
      /model\.init: cannot start from .*no-checkpoint.*no such directory/,
    );
    const badJudge = parseTrainConfig({ ...TINY, rl: { ...TINY.rl, rewards: [{ type: 'llm-judge', model: 'openai:nowhere' }] } });
    await expect(train({ config: badJudge, out })).rejects.toThrow(/rl\.rewards\[0\]: Expected a model spec/);
    expect(existsSync(out)).toBe(false);
    // What an earlier version left after such a start: the config, empty logs, a stale reference.
    mkdirSync(join(out, 'reference'), { recursive: true });
    writeFileSync(join(out, 'resolved-config.yaml'), configToYaml(jsonl({})));
    writeFileSync(join(out, 'metrics.jsonl'), '');
    writeFileSync(join(out, 'samples.jsonl'), '');
    const resumed = (await train({ config: jsonl({}), out, resume: true }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(resumed).toBeInstanceOf(ConfigError);
    expect(resumed.message).toMatch(
      /--resume: the run in .*bad-start has no checkpoint and no metrics: its start failed, and its saved config still fails: .*cannot read/,
    );
    expect(resumed.message).toMatch(/Start it again without --resume/);
    // Starting again over it (not "already holds a run") with a good config replaces it.
    // (One SFT step: the room TINY_MODEL leaves for the prompts of a tokenizer learned from one step's texts.)
    const good = parseTrainConfig({ ...TINY, model: TINY_MODEL, phases: ['sft'], sft: { ...TINY.sft, steps: 1 }, probe: { prompts: 0 } });
    const r = await train({ config: good, out });
    expect(r.complete).toBe(true);
    expect(YAML.parse(readFileSync(join(out, 'resolved-config.yaml'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(good)));
    expect(existsSync(join(out, 'reference'))).toBe(false);
    // Now it holds a run.
    await expect(train({ config: good, out })).rejects.toThrow(/already holds a run/);
  });

  it('trains the same with and without the probe (it reads the model, never the random streams)', async () => {
    const out = join(root, 'no-probe');
    await train({ config: parseTrainConfig({ ...TINY, probe: { prompts: 0 } }), out });
    expect(weights(join(out, 'final'))).toEqual(weights(join(reference, 'final')));
    expect(rows(out).some((x) => x.probe)).toBe(false);
    expect(timeless(out)).toEqual(timeless(reference).filter((x) => !x.probe));
  });

  it('stops cleanly on abort with a checkpoint, and resumes to the same end', async () => {
    const out = join(root, 'aborted');
    const ac = new AbortController();
    const r = await train({
      config,
      out,
      signal: ac.signal,
      onRow: (row) => (row.phase === 'rl' && row.step === 0 && row.reward !== undefined ? ac.abort() : undefined),
    });
    expect(r).toMatchObject({ complete: false, position: { phase: 'rl', step: 1 } });
    expect(existsSync(join(out, 'final'))).toBe(false);
    const done = await train({ config, out, resume: true });
    expect(done.complete).toBe(true);
    expect(weights(join(out, 'final'))).toEqual(weights(join(reference, 'final')));
  });

  it('stops on an abort that comes from outside the loop (a signal handler, a timer), in SFT and in RL', async () => {
    for (const phase of ['sft', 'rl'] as const) {
      const out = join(root, `aborted-outside-${phase}`);
      const ac = new AbortController();
      // The abort is queued, as a SIGINT handler's would be, not called from inside the step.
      const r = await train({
        config,
        out,
        signal: ac.signal,
        onRow: (row) => (row.phase === phase && row.step === 0 && (row.loss ?? row.reward) !== undefined ? void setTimeout(() => ac.abort(), 0) : undefined),
      });
      expect(r.complete).toBe(false);
      expect(r.position.phase).toBe(phase);
      expect(r.position.step).toBeLessThan(4);
      const done = await train({ config, out, resume: true });
      expect(done.complete).toBe(true);
      expect(weights(join(out, 'final'))).toEqual(weights(join(reference, 'final')));
    }
  });

  it('an SFT-only run ends with a held-out evaluation too, in any response format', async () => {
    for (const format of ['reply', 'generic-cot'] as const) {
      const out = join(root, `sft-only-${format}`);
      const sftOnly = parseTrainConfig({ ...TINY, phases: ['sft'], data: { ...TINY.data, response_format: format } });
      const r = await train({ config: sftOnly, out });
      expect(r.final).toMatchObject({ phase: 'sft', step: 4 });
      expect(r.final!.fidelity!.overall).toBeGreaterThanOrEqual(0);
      expect(
        rows(out)
          .filter((x) => x.evalReward !== undefined)
          .at(-1),
      ).toMatchObject({ phase: 'sft', step: 4, evalReward: r.final!.evalReward });
      expect(rows(out).at(-1)!.probe).toBeDefined();
      if (format === 'reply') {
        // Resumed from the end of SFT (its last checkpoint), it makes the final evaluation and probe again.
        const again = join(root, 'sft-only-resumed-at-end');
        cpSync(out, again, { recursive: true });
        rmSync(join(again, 'final'), { recursive: true });
        const resumed = await train({ config: sftOnly, out: again, resume: true });
        expect(resumed.final).toEqual({ ...r.final, time: resumed.final!.time });
        expect(timeless(again)).toEqual(timeless(out));
      }
    }
  });

  it('refuses to overwrite a run, and to resume one with another config', async () => {
    await expect(train({ config, out: reference })).rejects.toThrow(/already holds a run\. Pass --resume/);
    const other = parseTrainConfig({ ...TINY, rl: { ...TINY.rl, algo: 'grpo' } });
    await expect(train({ config: other, out: reference, resume: true })).rejects.toThrow(RunError);
    await expect(train({ config: other, out: reference, resume: true })).rejects.toThrow(/rl\.algo: "rapo" -> "grpo"/);
    const stray = join(root, 'stray');
    mkdirSync(stray);
    writeFileSync(join(stray, 'notes.txt'), 'mine');
    await expect(train({ config, out: stray, resume: true })).rejects.toThrow(/has no resolved-config\.yaml, so it is not a training run/);
  });
});

// The rapo-study command line (the bundle): --help, the PMI signal of any run's checkpoint, and
// the message for a folder that is not a run.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainConfig, train } from '@rapo/trainer';
import { TINY_MODEL, TINY_MODEL_SETS } from '@rapo/trainer/testing';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'rapo-study-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const BUNDLE = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/rapo-study.mjs');

describe('rapo-study', () => {
  it('--help lists the study, the hack check and the PMI signal of a run', () => {
    const help = execFileSync(process.execPath, [BUNDLE, '--help'], { encoding: 'utf8' });
    for (const flag of ['--quick', '--no-control', '--init', '--pmi-signal-of', '--hack', '--methods', '--jobs']) expect(help).toContain(flag);
  });

  it('--jobs 2 trains the runs in child processes, each with its own log, and a rerun reads them back', () => {
    const out = join(root, 'jobs');
    const tiny = [
      'data.characters=6',
      ...TINY_MODEL_SETS,
      'sft.batch_size=2',
      'sft.eval_every=2',
      'rl.prompts_per_step=2',
      'rl.group_size=2',
      'rl.max_new_tokens=6',
    ];
    const args = [
      BUNDLE,
      '--seeds',
      '2',
      '--no-variants',
      '--no-control',
      '--no-formats',
      '--no-pmi-signal',
      '--jobs',
      '2',
      '--sft-steps',
      '2',
      '--rl-steps',
      '1',
      '--eval-prompts',
      '2',
      '--out',
      out,
      ...tiny.flatMap((x) => ['--set', x]),
    ];
    const first = spawnSync(process.execPath, args, { encoding: 'utf8' });
    expect(first.stderr).not.toContain('study: ');
    expect(first.status).toBe(0);
    expect(first.stderr.match(/rl (grpo|rapo) seed \d: training ->/g)).toHaveLength(4);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(Object.keys(results.methods)).toEqual(['grpo', 'rapo']);
    expect(results.settings.jobs).toBe(2);
    for (const run of ['rl/grpo/seed-1', 'rl/rapo/seed-2', 'sft/psy-cot/seed-1']) {
      expect(existsSync(join(out, run, 'final', 'model.safetensors'))).toBe(true);
      expect(readFileSync(join(out, `${run}.log`), 'utf8')).toMatch(/\S/);
    }
    const again = spawnSync(process.execPath, args, { encoding: 'utf8' });
    expect(again.status).toBe(0);
    expect(again.stderr.match(/done before/g)).toHaveLength(5);
    const bad = spawnSync(process.execPath, [BUNDLE, '--methods', 'symetric', '--out', join(root, 'bad')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--methods: Unknown method "symetric"');
    const badAblation = spawnSync(process.execPath, [BUNDLE, '--ablations', 'norm-cube', '--out', join(root, 'bad')], { encoding: 'utf8' });
    expect(badAblation.status).toBe(2);
    expect(badAblation.stderr).toContain('--ablations: unknown "norm-cube"');
    expect(existsSync(join(root, 'bad'))).toBe(false);
  }, 300_000);

  it('passes a SIGTERM on to its training processes, which stop with a checkpoint before it exits', async () => {
    const out = join(root, 'stop');
    const tiny = ['data.characters=6', ...TINY_MODEL_SETS, 'sft.batch_size=2', 'sft.eval_every=1000', 'probe.prompts=0', 'checkpoint.every=1000'];
    const args = [
      BUNDLE,
      '--seeds',
      '2',
      '--no-variants',
      '--no-control',
      '--no-pmi-signal',
      '--jobs',
      '2',
      '--sft-steps',
      '100000',
      '--rl-steps',
      '1',
      '--eval-prompts',
      '2',
      '--out',
      out,
      ...tiny.flatMap((x) => ['--set', x]),
    ];
    const study = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    study.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => study.on('exit', (code) => res(code)));
    // On a failed expectation, stop the study and its children (its process group) all the same.
    const group = (sig: NodeJS.Signals | 0) => {
      try {
        process.kill(-study.pid!, sig);
        return true;
      } catch {
        return false; // no process left in the group
      }
    };
    onTestFinished(() => void group('SIGKILL'));
    // Wait until the SFT run trains in its child process, then stop the study alone (not its group).
    const log = join(out, 'sft', 'psy-cot', 'seed-1.log');
    for (let i = 0; i < 600 && !(existsSync(log) && /sft\s+\d+\//.test(readFileSync(log, 'utf8'))); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(log, 'utf8')).toMatch(/sft\s+\d+\//);
    study.kill('SIGTERM');
    expect(await exited).toBe(130);
    // The study waited for its training process: nothing of it is left running.
    expect(group(0)).toBe(false);
    expect(stderr).toContain('SIGTERM: stopping 1 training run at their next checkpoint');
    // The child got the signal too: it saved a checkpoint and said how to continue.
    expect(readFileSync(log, 'utf8')).toMatch(/stopped after sft step \d+/);
    expect(existsSync(join(out, 'sft', 'psy-cot', 'seed-1', 'checkpoints'))).toBe(true);
  }, 120_000);

  it("measures the PMI signal of a run's checkpoint, and names a folder that is not a run", async () => {
    const run = join(root, 'run');
    const config = parseTrainConfig({
      phases: ['sft'],
      data: { characters: 6 },
      model: TINY_MODEL,
      sft: { steps: 2, batch_size: 2, eval_every: 2, eval_batches: 1 },
      probe: { prompts: 2 },
    });
    await train({ config, out: run });
    const printed = execFileSync(process.execPath, [BUNDLE, '--pmi-signal-of', run, '--checkpoint', join(run, 'final')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(printed).toMatch(/heldout\s+drop/);
    expect(JSON.parse(readFileSync(join(run, 'final', 'pmi-signal.json'), 'utf8'))).toHaveLength(6);
    const missing = spawnSync(process.execPath, [BUNDLE, '--pmi-signal-of', join(root, 'nothing-here')], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no resolved-config.yaml; give a rapo-train run folder');
    expect(existsSync(join(root, 'nothing-here'))).toBe(false);
  });
});

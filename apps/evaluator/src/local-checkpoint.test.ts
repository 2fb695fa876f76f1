// A model trained with rapo-train's defaults is evaluated by rapo-eval as documented in
// docs/eval.md: its checkpoint records the compact prompt format, so the testbed prompts fit its
// context of a few hundred tokens (with the full instructions they did not: "The prompt has 472
// tokens; this model reads at most 447").
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '@rapo/model';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const root = mkdtempSync(join(tmpdir(), 'rapo-eval-local-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(bin: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(repo, bin), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((res) => child.on('close', (code) => res({ code, output })));
}

describe('rapo-eval on a checkpoint rapo-train made with the defaults', () => {
  it('runs the testbed benchmark end to end within the model context', async () => {
    const out = join(root, 'run');
    // The default model (the shipped base), two SFT steps: the format is what matters.
    const sets = ['phases=["sft"]', 'sft.steps=2', 'sft.batch_size=2', 'sft.eval_every=2', 'sft.eval_batches=1', 'probe.prompts=0'];
    const trained = await run('apps/trainer/bin/rapo-train.mjs', ['--out', out, ...sets.flatMap((s) => ['--set', s])]);
    expect(trained.code, trained.output).toBe(0);
    const ckpt = loadCheckpoint(join(out, 'final'));
    expect(ckpt.metadata.prompt_format).toBe('compact');
    expect(ckpt.model.config.max_position_embeddings).toBeLessThanOrEqual(512);

    const evalOut = join(root, 'eval');
    const args = ['run', '--benchmark', 'testbed', '--data', out, '--model', `local:${join(out, 'final')}`, '--judge', 'testbed'];
    const r = await run('apps/evaluator/bin/rapo-eval.mjs', [...args, '--reasoning', 'psy-cot', '--limit', '3', '--out', evalOut]);
    expect(r.code, r.output).toBe(0);
    const results = JSON.parse(readFileSync(join(evalOut, 'results.json'), 'utf8')) as {
      cases: { total: number; ok: number; failures: Record<string, number> };
    };
    expect(results.cases).toMatchObject({ total: 3, ok: 3 });
    expect(results.cases.failures).toEqual({});
  }, 600_000);
});

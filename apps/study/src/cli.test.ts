// The rapo-study command line (the bundle): --help, the PMI signal of any run's checkpoint, and
// the message for a folder that is not a run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainConfig, train } from '@rapo/trainer';
import { afterAll, describe, expect, it } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'rapo-study-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const BUNDLE = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/rapo-study.mjs');

describe('rapo-study', () => {
  it('--help lists the study, the hack check and the PMI signal of a run', () => {
    const help = execFileSync(process.execPath, [BUNDLE, '--help'], { encoding: 'utf8' });
    for (const flag of ['--quick', '--no-control', '--init', '--pmi-signal-of', '--hack']) expect(help).toContain(flag);
  });

  it('measures the PMI signal of a run\'s checkpoint, and names a folder that is not a run', async () => {
    const run = join(root, 'run');
    const config = parseTrainConfig({
      phases: ['sft'],
      data: { characters: 6 },
      model: { init: 'scratch', vocab_size: 300, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32, max_position_embeddings: 1024 },
      sft: { steps: 2, batch_size: 2, eval_every: 2, eval_batches: 1 },
      probe: { prompts: 2 },
    });
    await train({ config, out: run });
    const printed = execFileSync(process.execPath, [BUNDLE, '--pmi-signal-of', run, '--checkpoint', join(run, 'final')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(printed).toMatch(/heldout\s+drop/);
    expect(JSON.parse(readFileSync(join(run, 'final', 'pmi-signal.json'), 'utf8'))).toHaveLength(6);
    const missing = spawnSync(process.execPath, [BUNDLE, '--pmi-signal-of', join(root, 'nothing-here')], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no resolved-config.yaml; give a rapo-train run folder');
    expect(existsSync(join(root, 'nothing-here'))).toBe(false);
  });
});

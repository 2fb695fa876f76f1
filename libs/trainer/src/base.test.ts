// The shipped base model: that its recipe still makes it (the same tokenizer, the same first
// losses), that model.init "base" finds it, and how it is installed from a pretraining run.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@rapo/model';
import { afterAll, describe, expect, it } from 'vitest';
import { baseDir, BASE_INIT, installBase, pretrainConfig, readBaseInfo, RECORDED_LOSSES, resolveInit } from './base.js';
import { parseTrainConfig } from './config.js';
import { train } from './run.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-base-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the shipped base', () => {
  it('is found from the repository and loads as a checkpoint with its recipe and record', () => {
    const dir = resolveInit(BASE_INIT);
    expect(dir).toBe(baseDir());
    const { model, tokenizer } = loadCheckpoint(dir);
    const info = readBaseInfo(dir);
    const recipe = pretrainConfig(dir);
    // What shapes pretraining is the recipe's (the RL and evaluation defaults it never uses may
    // have changed since): the same seed, model, SFT schedule and reading data.
    for (const key of ['seed', 'phases', 'model', 'sft', 'probe'] as const) expect(info.config[key], key).toEqual(recipe[key]);
    const { source, curriculum, reading_mix, world_seed, mix, prompt_format } = recipe.data;
    const made = info.config.data;
    expect({ source, curriculum, reading_mix, world_seed, mix, prompt_format }).toEqual({
      source: made.source,
      curriculum: made.curriculum,
      reading_mix: made.reading_mix,
      world_seed: made.world_seed,
      mix: made.mix,
      prompt_format: made.prompt_format,
    });
    expect(recipe.data.source).toBe('reading');
    expect(model.config.vocab_size).toBe(tokenizer.vocabSize);
    expect(info.firstLosses).toHaveLength(RECORDED_LOSSES);
    // It reads: most held-out reading fields are copied exactly.
    expect(info.reading!.accuracy).toBeGreaterThan(0.8);
    model.dispose();
  });

  it('is what its recipe makes: the same tokenizer and the same first losses', async () => {
    const dir = baseDir();
    const info = readBaseInfo(dir);
    const out = join(root, 'pretrain');
    const ac = new AbortController();
    const losses: number[] = [];
    const r = await train({
      config: pretrainConfig(dir),
      out,
      signal: ac.signal,
      onRow: (row) => {
        if (row.loss === undefined) return;
        losses.push(row.loss);
        if (losses.length === RECORDED_LOSSES) ac.abort();
      },
    });
    expect(r.complete).toBe(false);
    const checkpoints = join(out, 'checkpoints');
    const last = join(checkpoints, readdirSync(checkpoints).sort().at(-1)!);
    expect(readFileSync(join(last, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    expect(losses).toHaveLength(RECORDED_LOSSES);
    // The same arithmetic on another backend or BLAS differs in the last bits only.
    losses.forEach((l, i) => expect(Math.abs(l - info.firstLosses[i]!), `loss of step ${i}`).toBeLessThan(2e-3));
  }, 300_000);
});

describe('resolving and installing', () => {
  it('passes other model.init values through, and names a missing base', () => {
    expect(resolveInit('/some/checkpoint')).toBe('/some/checkpoint');
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(() => resolveInit(BASE_INIT, empty)).toThrow(/has none \(model\.safetensors is missing\)\. Run `npm run base:pretrain`/);
  });

  it('installs a finished run: the checkpoint files and base.json with the first losses and the reading probe', () => {
    const run = join(root, 'run');
    const final = join(run, 'final');
    mkdirSync(final, { recursive: true });
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
      writeFileSync(join(final, f), `${f} bytes`);
    const rows = [
      ...Array.from({ length: 12 }, (_, step) => ({ step, phase: 'sft', loss: 10 - step })),
      { step: 12, phase: 'sft', reading: { accuracy: 0.9, fields: { name: 1 }, questions: 4, seconds: 1 } },
    ];
    writeFileSync(join(run, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const dest = join(root, 'installed');
    const config = parseTrainConfig({ phases: ['sft'], data: { source: 'reading' } });
    const info = installBase(run, dest, { command: 'test', config, seconds: 5, backend: 'cpu' });
    expect(info.firstLosses).toEqual([10, 9, 8, 7, 6, 5, 4, 3]);
    expect(info.reading!.accuracy).toBe(0.9);
    expect(readFileSync(join(dest, 'model.safetensors'), 'utf8')).toBe('model.safetensors bytes');
    expect(JSON.parse(readFileSync(join(dest, 'base.json'), 'utf8'))).toEqual(info);
    expect(existsSync(join(dest, 'model.safetensors.tmp'))).toBe(false);
    rmSync(join(final, 'tokenizer.json'));
    expect(() => installBase(run, dest, { command: 'test', config, seconds: 5, backend: 'cpu' })).toThrow(
      /tokenizer\.json is missing: the pretraining run did not finish/,
    );
  });
});

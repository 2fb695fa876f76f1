// The configs in examples/ stay runnable: the default one equals the built-in defaults, and the
// two on your own JSONL data (one with an OpenAI-compatible judge) train end to end, made tiny
// with --set so the test is quick.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeChatServer } from '@rapo/llm/testing';
import { parseTrainConfig } from '@rapo/trainer';
import { TINY_MODEL_SETS } from '@rapo/trainer/testing';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BUNDLE = join(repo, 'apps/trainer/dist/rapo-train.mjs');
const root = mkdtempSync(join(tmpdir(), 'rapo-examples-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = [
  ...TINY_MODEL_SETS,
  ...['sft.steps=2', 'sft.batch_size=2', 'sft.eval_every=2', 'rl.steps=1', 'rl.prompts_per_step=2', 'rl.group_size=2', 'rl.max_new_tokens=6'],
  ...['rl.eval_every=1', 'rl.eval_prompts=1'],
].flatMap((s) => ['--set', s]);

function train(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  // Run from the repository root, as `npm run train` does: the examples' data paths are relative to it.
  const child = spawn(process.execPath, [BUNDLE, ...args, ...TINY], { cwd: repo, env: { ...process.env, RAPO_TF_BACKEND: 'cpu', ...env }, stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((res) => child.on('close', (code) => res({ code, output })));
}

const rlRows = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { phase: string; reward?: number })
    .filter((r) => r.phase === 'rl' && r.reward !== undefined);

describe('examples/', () => {
  it('testbed.yaml is the default run written out', () => {
    const file = YAML.parse(readFileSync(join(repo, 'examples/testbed.yaml'), 'utf8')) as unknown;
    expect(parseTrainConfig(file, 'examples/testbed.yaml'), 'the defaults changed: regenerate examples/testbed.yaml').toEqual(parseTrainConfig({}));
    expect(file).toEqual(parseTrainConfig({}));
  });

  it('jsonl.yaml trains on the example data', async () => {
    const out = join(root, 'jsonl');
    const r = await train(['--config', 'examples/jsonl.yaml', '--out', out]);
    expect(r.code, r.output).toBe(0);
    expect(rlRows(out)).toHaveLength(1);
  }, 300_000);

  it('openai-judge.yaml trains with its judge behind an OpenAI-compatible server', async () => {
    const server = new FakeChatServer().fallback({ kind: 'answer', content: 'Score: 6\nIn character, a little flat.' });
    const url = await server.start();
    try {
      const config = YAML.parse(readFileSync(join(repo, 'examples/openai-judge.yaml'), 'utf8')) as { rl: { rewards: { type: string; model?: string }[] } };
      const judge = config.rl.rewards.find((x) => x.type === 'llm-judge')!;
      expect(judge.model).toMatch(/^openai:http:\/\/localhost:8000\/v1#/);
      judge.model = `openai:${url}#judge`;
      const file = join(root, 'openai-judge.yaml');
      writeFileSync(file, YAML.stringify(config));
      const out = join(root, 'judged');
      const r = await train(['--config', file, '--out', out], { OPENAI_API_KEY: 'sk-example' });
      expect(r.code, r.output).toBe(0);
      expect(server.received.length).toBeGreaterThan(0);
      expect(rlRows(out)[0]!.reward).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  }, 300_000);
});

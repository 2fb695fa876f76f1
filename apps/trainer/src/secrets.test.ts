// API keys never touch disk: rapo-train runs RL with an llm-judge reward whose key comes from the
// environment, against a judge server that once echoes the key in an error, and no file of the
// run folder (config, metrics, samples, checkpoints, judge cache, report), nor the output, holds it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeChatServer } from '@rapo/llm/testing';
import { TINY_MODEL } from '@rapo/trainer/testing';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'rapo-train-secrets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const BUNDLE = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/rapo-train.mjs');
const KEY = 'sk-rapo-test-0d9e8c7b6a5f4e3d2c1b';

/** Every file under `dir`, recursively, with its bytes read as latin1 (so binary files are searched too). */
function filesUnder(dir: string): [string, string][] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return [path, readFileSync(path).toString('latin1')];
    });
}

describe('rapo-train with a judge behind an API key', () => {
  it('sends the key and writes it nowhere', async () => {
    let calls = 0;
    const server = new FakeChatServer().respond(() =>
      calls++ === 0
        ? { kind: 'status', status: 500, body: `{"error":{"message":"upstream rejected key ${KEY}"}}` }
        : { kind: 'answer', content: 'Score: 6\nIn character.' },
    );
    const url = await server.start();
    try {
      const config = join(root, 'judge.yaml');
      writeFileSync(
        config,
        YAML.stringify({
          seed: 3,
          data: { characters: 4 },
          model: TINY_MODEL,
          sft: { steps: 2, batch_size: 2, eval_every: 2, eval_batches: 1 },
          rl: {
            algo: 'grpo',
            steps: 2,
            prompts_per_step: 2,
            group_size: 2,
            max_new_tokens: 6,
            eval_every: 2,
            eval_prompts: 2,
            rewards: [{ type: 'llm-judge', model: `openai:${url}#judge`, api_key_env: 'RAPO_TEST_KEY' }],
          },
          probe: { prompts: 2 },
        }),
      );
      const out = join(root, 'run');
      const child = spawn(process.execPath, [BUNDLE, '--config', config, '--out', out], {
        env: { ...process.env, RAPO_TEST_KEY: KEY, RAPO_TF_BACKEND: 'cpu' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const code = await new Promise<number | null>((res) => child.on('close', res));
      expect(code, output).toBe(0);
      expect(calls).toBeGreaterThanOrEqual(5);
      expect(server.received.every((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
      const files = filesUnder(out);
      const names = files.map(([p]) => p.slice(out.length + 1));
      expect(names).toEqual(expect.arrayContaining(['resolved-config.yaml', 'metrics.jsonl', 'report.html']));
      expect(names.some((n) => n.endsWith('.safetensors'))).toBe(true);
      expect(readFileSync(join(out, 'resolved-config.yaml'), 'utf8')).toContain('RAPO_TEST_KEY');
      expect(files.filter(([, text]) => text.includes(KEY)).map(([p]) => p)).toEqual([]);
      expect(output).not.toContain(KEY);
    } finally {
      await server.stop();
    }
  }, 300_000);
});

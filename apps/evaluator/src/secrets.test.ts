// API keys never touch disk: rapo-eval runs against a model and a judge that need a key (read
// from the environment), with a server that echoes the key in an error, and no file it writes,
// nor its output, holds the key.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeChatServer } from '@rapo/llm/testing';
import { afterAll, describe, expect, it } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'rapo-eval-secrets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const BUNDLE = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/rapo-eval.mjs');
const KEY = 'sk-rapo-test-7f3a9c1e5b2d4f6a8c0e';

/** Every file under `dir`, recursively, with its bytes read as latin1 (so binary files are searched too). */
function filesUnder(dir: string): [string, string][] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return [path, readFileSync(path).toString('latin1')];
    });
}

describe('rapo-eval with an API key', () => {
  it('sends the key and writes it nowhere: not in the run folder, its cache, its report, or its output', async () => {
    let judged = 0;
    let acted = 0;
    const server = new FakeChatServer().respond((body) => {
      // Errors whose bodies quote the key, as some servers do: the first judge call gets a 500 (tried
      // again), the first actor call a 401 (not tried again: its case fails and records the error).
      const echo = (status: number) => ({ kind: 'status' as const, status, body: `{"error":{"message":"upstream rejected key ${KEY}"}}` });
      if (body.model === 'judge') return judged++ === 0 ? echo(500) : { kind: 'answer', content: 'Score: 7\nIn character.' };
      return acted++ === 0 ? echo(401) : { kind: 'answer', content: 'Aye, the harbour keeps its secrets.' };
    });
    const url = await server.start();
    try {
      const out = join(root, 'run');
      const args = ['run', '--benchmark', 'testbed', '--data', 'testbed:seed=3,characters=6,heldout=0.34,per=2', '--limit', '2'];
      const child = spawn(
        process.execPath,
        [BUNDLE, ...args, '--model', `openai:${url}#actor`, '--judge', `openai:${url}#judge`, '--api-key-env', 'RAPO_TEST_KEY', '--out', out],
        { env: { ...process.env, RAPO_TEST_KEY: KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const code = await new Promise<number | null>((res) => child.on('close', res));
      // One case failed on its call error, so the exit status may say so; the other was scored.
      expect([0, 1], output).toContain(code);
      expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toMatchObject({ cases: { total: 2, ok: 1, failed: 1 } });
      // The key was used: every request carried it.
      expect(server.received.length).toBeGreaterThanOrEqual(4);
      expect(server.received.every((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
      expect(judged).toBeGreaterThan(1);
      // The failed case keeps the server's message, with the key masked.
      expect(readFileSync(join(out, 'cases.jsonl'), 'utf8')).toContain('upstream rejected key ***');
      const files = filesUnder(out);
      expect(files.map(([p]) => p.slice(out.length + 1)).sort()).toEqual(expect.arrayContaining(['cases.jsonl', 'report.html', 'results.json']));
      expect(files.some(([p]) => p.includes('llm-cache'))).toBe(true);
      expect(files.filter(([, text]) => text.includes(KEY)).map(([p]) => p)).toEqual([]);
      expect(output).not.toContain(KEY);
    } finally {
      await server.stop();
    }
  });
});

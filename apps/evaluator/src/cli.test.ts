import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { EvalResults } from '@rapo/eval';
import { BpeTokenizer, CHAT_SPECIAL_TOKENS, LlamaModel, parseConfig, saveCheckpoint } from '@rapo/model';
import { FakeChatServer } from '@rapo/llm/testing';
import { parseEvalArgs, UsageError } from './cli.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-eval-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const BUNDLE = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/rapo-eval.mjs');

describe('rapo-eval arguments', () => {
  it('parses run and compare, with defaults', () => {
    expect(
      parseEvalArgs([
        'run',
        '--benchmark',
        'coser',
        '--data',
        'd.json',
        '--model',
        'local:ck',
        '--judge',
        'openai:http://x/v1#j',
        '--out',
        'o',
        '--reasoning',
        'psy-cot',
        '--limit',
        '3',
      ]),
    ).toEqual({
      command: 'run',
      benchmark: 'coser',
      data: 'd.json',
      model: 'local:ck',
      judge: 'openai:http://x/v1#j',
      out: 'o',
      reasoning: 'psy-cot',
      lang: 'en',
      limit: 3,
      concurrency: 4,
      judgeAttempts: 3,
      timeoutS: 120,
    });
    expect(parseEvalArgs(['compare', 'a', 'b', '--out', 'c'])).toEqual({ command: 'compare', dirs: ['a', 'b'], out: 'c' });
    const base = ['run', '--benchmark', 'testbed', '--data', 'd', '--model', 'm', '--judge', 'j', '--out', 'o'];
    expect(parseEvalArgs([...base, '--verbose'])).toMatchObject({ verbose: true });
    expect(parseEvalArgs([...base, '-v'])).toMatchObject({ verbose: true });
    expect(parseEvalArgs(base)).not.toHaveProperty('verbose');
    expect(parseEvalArgs(['--help'])).toBe('help');
    // No command is a usage error (exit 2), not a silent success.
    expect(() => parseEvalArgs([])).toThrow(/give a command: "run" to evaluate a model, "compare"/);
    const strict = ['run', '--benchmark', 'coser', '--data', 'd', '--model', 'm', '--judge', 'j', '--out', 'o', '--strict-judge'];
    expect(parseEvalArgs(strict)).toMatchObject({ strictJudge: true });
    expect(parseEvalArgs(strict.slice(0, -1))).not.toHaveProperty('strictJudge');
  });

  it('names what is wrong', () => {
    const base = ['--data', 'd', '--model', 'm', '--judge', 'j', '--out', 'o'];
    expect(() => parseEvalArgs(['run', '--benchmark', 'mmlu', ...base])).toThrow(
      '--benchmark: expected one of coser, characterbench, charactereval, testbed but received "mmlu"',
    );
    expect(() => parseEvalArgs(['run', '--benchmark', 'coser'])).toThrow('run: missing --data, --model, --judge, --out');
    expect(() => parseEvalArgs(['run', '--benchmark', 'coser', ...base, '--limit', '0'])).toThrow('--limit: expected an integer >= 1 but received "0"');
    expect(() => parseEvalArgs(['run', '--benchmark', 'coser', ...base, '--reasoning', 'cot'])).toThrow(
      /--reasoning: expected one of none, generic-cot, inner-monologue, psy-cot/,
    );
    expect(() => parseEvalArgs(['evaluate'])).toThrow(UsageError);
    expect(() => parseEvalArgs(['compare'])).toThrow('compare: give at least one rapo-eval output folder');
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BUNDLE, ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

describe('the rapo-eval bundle', () => {
  it('evaluates a model on the testbed with the local judge, resumes, and compares', async () => {
    const server = new FakeChatServer().respond(() => ({ kind: 'answer', content: 'Aye, the harbour keeps its secrets.' }));
    const url = await server.start();
    try {
      const out = join(root, 'out');
      const args = [
        'run',
        '--benchmark',
        'testbed',
        '--data',
        'testbed:seed=3,characters=6,heldout=0.34,per=2',
        '--model',
        `openai:${url}#actor`,
        '--judge',
        'testbed',
        '--out',
        out,
        '--limit',
        '2',
      ];
      const first = await runCli(args);
      expect(first.stderr).toContain('[2/2]');
      expect(first.code).toBe(0);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as EvalResults;
      expect(results).toMatchObject({ benchmark: 'testbed', judge: 'testbed-judge', complete: true, cases: { total: 2, ok: 2 } });
      expect(Object.keys(results.scores).sort()).toEqual(['fidelity', 'generic_rate', 'judge']);
      expect(existsSync(join(out, 'report.html'))).toBe(true);
      expect(first.stdout).toContain('Report:');
      expect(server.received).toHaveLength(2);

      // Two more cases: the first two are not run again, and nothing is asked twice.
      const more = await runCli([...args.slice(0, -1), '4']);
      expect(more.code).toBe(0);
      expect(more.stderr).not.toContain('[1/4]');
      expect(more.stderr).toContain('[4/4]');
      expect(server.received).toHaveLength(4);

      const cmp = await runCli(['compare', out, out, '--out', join(root, 'cmp')]);
      expect(cmp.code).toBe(0);
      expect(cmp.stdout).toMatch(/\| fidelity \|/);
      expect(existsSync(join(root, 'cmp', 'compare.html'))).toBe(true);

      const bad = await runCli([
        'run',
        '--benchmark',
        'testbed',
        '--data',
        join(root, 'nowhere'),
        '--model',
        `openai:${url}#actor`,
        '--judge',
        'testbed',
        '--out',
        join(root, 'o2'),
      ]);
      // A wrong --data is the caller's mistake (exit 2), found before anything is written.
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/rapo-eval: --judge testbed \(its world comes from --data .*nowhere\): Expected a rapo-train run folder .* does not exist/);
      expect(existsSync(join(root, 'o2'))).toBe(false);
      const badJudged = await runCli([
        'run',
        '--benchmark',
        'testbed',
        '--data',
        join(root, 'nowhere'),
        '--model',
        `openai:${url}#actor`,
        '--judge',
        `openai:${url}#judge`,
        '--out',
        join(root, 'o2'),
      ]);
      expect(badJudged.code).toBe(2);
      expect(badJudged.stderr).toMatch(/rapo-eval: cannot read the testbed data \(--data .*nowhere\): Expected a rapo-train run folder/);
      expect(existsSync(join(root, 'o2'))).toBe(false);
      const badSpec = await runCli([...args.slice(0, 6), 'openai:nowhere', ...args.slice(7)]);
      expect(badSpec.code).toBe(2);
      expect(badSpec.stderr).toMatch(/rapo-eval: --model openai:nowhere: Expected a model spec/);
    } finally {
      await server.stop();
    }
  });

  it('runs a local checkpoint (local:<dir>) as the model under test', async () => {
    // A tiny untrained checkpoint: whatever it says, the bundle must load it, ask it and record
    // the case. Its context is long enough for the testbed prompt at one token per byte.
    const tokenizer = BpeTokenizer.train(['Hello there, traveller. The harbour is quiet tonight.'], {
      vocabSize: 300,
      specialTokens: [...CHAT_SPECIAL_TOKENS],
    });
    const model = LlamaModel.init(
      parseConfig({
        vocab_size: tokenizer.vocabSize,
        hidden_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        intermediate_size: 32,
        max_position_embeddings: 4096,
      }),
      3,
    );
    const ckpt = join(root, 'ckpt');
    saveCheckpoint(ckpt, model, tokenizer, { generation: { max_new_tokens: 8 } });
    model.dispose();
    const out = join(root, 'local');
    const r = await runCli([
      'run',
      '--benchmark',
      'testbed',
      '--data',
      'testbed:seed=3,characters=6,heldout=0.34,per=1',
      '--model',
      `local:${ckpt}`,
      '--judge',
      'testbed',
      '--out',
      out,
      '--limit',
      '1',
    ]);
    expect(r.stderr).toContain('[1/1]');
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as EvalResults;
    expect(results.model).toBe(`local:${ckpt}`);
    expect(results.cases.total).toBe(1);
    expect(results.usage.model.requests).toBeGreaterThanOrEqual(1);
    expect(readFileSync(join(out, 'cases.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('counts the judge apart when --judge equals --model, and shows stack traces only with --verbose', async () => {
    const isJudge = (body: Record<string, unknown>) => (body.messages as { content: string }[])[0]!.content.startsWith('You grade one reply');
    const server = new FakeChatServer();
    const url = await server.start();
    const run = (out: string, spec: string, ...extra: string[]) =>
      runCli([
        'run',
        '--benchmark',
        'testbed',
        '--data',
        'testbed:seed=3,characters=6,heldout=0.34,per=1',
        '--model',
        spec,
        '--judge',
        spec,
        '--out',
        join(root, out),
        ...extra,
      ]);
    try {
      server.respond((body) => ({ kind: 'answer', content: isJudge(body) ? 'Score: 6' : 'The tide is high.' }));
      const same = await run('same', `openai:${url}#one`, '--limit', '2');
      expect(same.code).toBe(0);
      const results = JSON.parse(readFileSync(join(root, 'same', 'results.json'), 'utf8')) as EvalResults;
      expect(results.cases.ok).toBe(2);
      expect(results.usage.model).toMatchObject({ requests: 2, promptTokens: 22, completionTokens: 14 });
      expect(results.usage.judge).toMatchObject({ requests: 2, promptTokens: 22, completionTokens: 14 });

      // The model answers after one 503; the judge's prompt is too long for its context.
      server.script({ kind: 'status', status: 503, headers: { 'retry-after': '0' } });
      server.respond((body) =>
        isJudge(body)
          ? {
              kind: 'status',
              status: 400,
              body: JSON.stringify({ error: { message: "This model's maximum context length is 64 tokens.", code: 'context_length_exceeded' } }),
            }
          : { kind: 'answer', content: 'The tide is high.' },
      );
      const plain = await run('plain', `openai:${url}#one`, '--limit', '1');
      expect(plain.stderr).toMatch(/FAILED, context-overflow \(the prompt for the judge is longer than its context/);
      expect(plain.stderr).not.toMatch(/^\s+at /m);
      expect(plain.stderr).not.toContain('trying again');
      server.script({ kind: 'status', status: 503, headers: { 'retry-after': '0' } });
      const verbose = await run('verbose', `openai:${url}#one`, '--limit', '1', '--verbose');
      expect(verbose.stderr).toMatch(/try 1 failed, trying again in 0 ms: .*answered HTTP 503/);
      expect(verbose.stderr).toMatch(/^LlmContextOverflowError: .*answered HTTP 400/m);
      expect(verbose.stderr).toMatch(/^\s+at /m);
      // A context overflow is for good: no call error left, so a rerun has nothing to do.
      expect(JSON.parse(readFileSync(join(root, 'verbose', 'results.json'), 'utf8'))).toMatchObject({
        complete: true,
        cases: { failures: { 'context-overflow': 1 } },
      });

      // A server that is gone: a message per case and a hint to rerun, no stack trace.
      await server.stop();
      const down = await run('down', `openai:${url}#one`, '--limit', '1', '--timeout', '1');
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/FAILED, call-error \(the model under test failed \(the case runs again on the next run\): could not reach/);
      expect(down.stderr).toContain('rerun the same command to run them again');
      expect(down.stderr).not.toMatch(/^\s+at /m);
    } finally {
      await server.stop().catch(() => undefined);
    }
  });
});

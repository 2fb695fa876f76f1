// The runner on the testbed protocol, against a scripted OpenAI-compatible server on 127.0.0.1:
// results.json, cases.jsonl and report.html; resume after an interruption without repeating a
// finished call; judge answers that never parse; call errors retried on the next run.
import { mkdtempSync, readFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatModel, type ChatMessage } from '@rapo/llm';
import { FakeChatServer } from '@rapo/llm/testing';
import { fidelity, generateWorld, prompts } from '@rapo/testbed';
import { CachedChatModel } from './cached-model.js';
import { comparisonHtml, comparisonMarkdown, loadComparison } from './compare.js';
import { readCases } from './files.js';
import { testbed } from './testbed/index.js';
import { EvalRunError, runEval } from './run.js';
import type { EvalResults } from './types.js';

const DATA = 'testbed:seed=5,characters=10,heldout=0.3,per=2';
let server: FakeChatServer;
let url: string;
let out: string;

const lastUser = (body: Record<string, unknown>) => [...(body.messages as ChatMessage[])].reverse().find((m) => m.role === 'user')!.content;
const isJudge = (body: Record<string, unknown>) => (body.messages as ChatMessage[])[0]!.content.startsWith('You grade one reply');

beforeEach(async () => {
  server = new FakeChatServer();
  url = await server.start();
  out = mkdtempSync(join(tmpdir(), 'rapo-eval-run-'));
});
afterEach(async () => {
  await server.stop();
});

function models(cacheDir = join(out, 'llm-cache')) {
  const make = (name: string) =>
    new CachedChatModel(createChatModel(`openai:${url}#${name}`, { timeoutMs: 2000, retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 10 } }), cacheDir);
  return { model: make('actor'), judge: make('judge') };
}

describe('runEval on the testbed', () => {
  it('scores every case and writes results.json, cases.jsonl and report.html', async () => {
    // The model echoes a fixed reply; the judge gives 7 to replies with "harbour", else 4.
    const reply = 'I keep my harbour ledger close, as always.';
    server.respond((body) =>
      isJudge(body) ? { kind: 'answer', content: lastUser(body).includes('harbour') ? 'Solid.\nScore: 7' : 'Score: 4' } : { kind: 'answer', content: reply },
    );
    const { model, judge } = models();
    const results = await runEval({ protocol: testbed as never, benchmark: 'testbed', data: DATA, model, judge, out, reasoning: 'none', concurrency: 3 });

    // Independently: the same held-out prompts and the testbed's own fidelity of that reply.
    const world = generateWorld({ seed: 5, characters: 10, heldOutFraction: 0.3 });
    const held = prompts(world, 'heldout', { perCharacter: 2, seed: 6 });
    const want = held.map((p) => fidelity(world, world.byId.get(p.characterId)!, p.turn, reply).overall);
    expect(results.cases).toEqual({ total: held.length, ok: held.length, failed: 0, pending: 0 });
    expect(results.scores.fidelity).toBeCloseTo(want.reduce((a, b) => a + b, 0) / want.length, 10);
    expect(results.scores.judge).toBe(7);
    expect(results.complete).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toEqual(results);
    const records = readCases(join(out, 'cases.jsonl'));
    expect([...records.keys()].sort()).toEqual(held.map((p) => p.id).sort());
    const one = records.get(held[0]!.id)!;
    expect(one.transcript.map((t) => t.role)).toEqual(['context', 'model']);
    expect(one.transcript[1]!.content).toBe(reply);
    expect(one.judgements[0]!.raw).toEqual(['Solid.\nScore: 7']);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg class="bars"');
    expect(html).toContain('fidelity');
    expect(html).toContain('Deviations from the official protocol');
  });

  it('resumes an interrupted run without repeating a finished call, and survives a torn last line', async () => {
    // Interrupted while the third case waits for its judge: that case's reply had finished and
    // must come from the cache next time; the judge call it was waiting for is asked again.
    const ac = new AbortController();
    let judgeCalls = 0;
    server.respond((body) => {
      if (!isJudge(body)) return { kind: 'answer', content: `Reply to: ${lastUser(body).slice(-40)}` };
      if (++judgeCalls === 3) {
        ac.abort(new Error('interrupted by the test'));
        return { kind: 'hang' };
      }
      return { kind: 'answer', content: 'Score: 5' };
    });
    const first = models();
    await expect(
      runEval({ protocol: testbed as never, benchmark: 'testbed', data: DATA, ...first, out, reasoning: 'none', concurrency: 1, signal: ac.signal }),
    ).rejects.toThrow();
    const partial = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as EvalResults;
    expect(partial.complete).toBe(false);
    expect(partial.cases.ok).toBe(2);
    const hung = JSON.stringify(server.received.at(-1)!.body);
    const answeredBefore = new Set(server.received.slice(0, -1).map((r) => JSON.stringify(r.body)));
    expect(answeredBefore.size).toBe(5); // two whole cases (reply + judge) and the third reply
    server.respond((body) => ({ kind: 'answer', content: isJudge(body) ? 'Score: 5' : `Reply to: ${lastUser(body).slice(-40)}` }));
    appendFileSync(join(out, 'cases.jsonl'), '{"id": "torn-by-a-cra'); // a crash mid-write

    const before = server.received.length;
    const second = models();
    const results = await runEval({ protocol: testbed as never, benchmark: 'testbed', data: DATA, ...second, out, reasoning: 'none', concurrency: 2 });
    const asked = server.received.slice(before).map((r) => JSON.stringify(r.body));
    expect(asked.filter((b) => answeredBefore.has(b))).toEqual([]);
    expect(asked[0]).toBe(hung); // the unanswered judge call comes first, its reply from the cache
    expect(results.complete).toBe(true);
    expect(results.cases.ok).toBe(results.cases.total);
    expect(readFileSync(join(out, 'cases.jsonl'), 'utf8').trim().split('\n')).toHaveLength(results.cases.total);

    // A third run has nothing left to do and asks nothing.
    const n = server.received.length;
    await runEval({ protocol: testbed as never, benchmark: 'testbed', data: DATA, ...models(), out, reasoning: 'none' });
    expect(server.received.length).toBe(n);
  });

  it('a judge answer that never parses fails its case, counted and not scored', async () => {
    let judgeCalls = 0;
    server.respond((body) => {
      if (!isJudge(body)) return { kind: 'answer', content: 'Fine words.' };
      judgeCalls++;
      return { kind: 'answer', content: 'I would rather not give a number.' };
    });
    const results = await runEval({
      protocol: testbed as never,
      benchmark: 'testbed',
      data: 'testbed:seed=5,characters=10,heldout=0.3,per=1',
      ...models(),
      out,
      reasoning: 'none',
      judgeAttempts: 2,
      limit: 2,
    });
    expect(results.cases).toEqual({ total: 2, ok: 0, failed: 2, pending: 0 });
    expect(results.scores).toEqual({});
    expect(judgeCalls).toBe(4); // two attempts per case, the second showing the bad answer
    const r = [...readCases(join(out, 'cases.jsonl')).values()][0]!;
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/judge answer unreadable after 2 attempts: Expected "Score: <number>"/);
    expect(r.judgements[0]!.raw).toHaveLength(2);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('2 failed');
  });

  it('a case whose calls fail is recorded as a call error and runs again next time', async () => {
    server.respond(() => ({ kind: 'status', status: 500 }));
    const data = 'testbed:seed=5,characters=10,heldout=0.3,per=1';
    const results = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1 });
    expect(results.cases.failed).toBe(1);
    expect(results.complete).toBe(false);
    const r = [...readCases(join(out, 'cases.jsonl')).values()][0]!;
    expect(r.meta.failure).toBe('call-error');
    expect(r.error).toMatch(/status 500/);
    server.respond((body) => ({ kind: 'answer', content: isJudge(body) ? 'Score: 8' : 'Better now.' }));
    const again = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1 });
    expect(again.cases).toEqual({ total: 1, ok: 1, failed: 0, pending: 0 });
    expect(again.scores.judge).toBe(8);
  });

  it('refuses to mix runs in one folder and names what differs', async () => {
    server.respond((body) => ({ kind: 'answer', content: isJudge(body) ? 'Score: 5' : 'Hm.' }));
    const data = 'testbed:seed=5,characters=10,heldout=0.3,per=1';
    await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1 });
    await expect(runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'psy-cot', limit: 1 })).rejects.toThrow(
      EvalRunError,
    );
    await expect(runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'psy-cot', limit: 1 })).rejects.toThrow(
      /holds a run with another reasoning \(reasoning: "none" there, "psy-cot" now\)/,
    );
    expect(() => readCases(join(out, 'missing.jsonl'))).not.toThrow();
  });

  it('compare puts runs side by side', async () => {
    server.respond((body) => ({ kind: 'answer', content: isJudge(body) ? 'Score: 5' : 'Hm.' }));
    const data = 'testbed:seed=5,characters=10,heldout=0.3,per=1';
    const a = join(out, 'a');
    const b = join(out, 'b');
    await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(join(a, 'cache')), out: a, reasoning: 'none', limit: 2 });
    server.respond((body) => ({ kind: 'answer', content: isJudge(body) ? 'Score: 9' : 'Hm.' }));
    await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(join(b, 'cache')), out: b, reasoning: 'none', limit: 2 });
    const md = comparisonMarkdown(loadComparison([a, b]));
    expect(md).toMatch(/\| judge \| 5\.000 \| 9\.000 \|/);
    expect(md).toMatch(/\| cases scored \/ total \| 2 \/ 2 \| 2 \/ 2 \|/);
    expect(() => loadComparison([join(out, 'nothing')])).toThrow(/has no results.json/);
    // Labels are escaped in the page, quotes of both kinds included.
    const c = loadComparison([a, b]);
    c.runs[0]!.label = `<b>it's "a"</b>`;
    const html = comparisonHtml(c);
    expect(html).toContain('&lt;b&gt;it&#39;s &quot;a&quot;&lt;/b&gt;');
    expect(html).not.toContain(`<b>it's`);
    expect(existsSync(join(a, 'report.html'))).toBe(true);
  });
});

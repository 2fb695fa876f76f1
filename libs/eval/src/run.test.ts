// The runner on the testbed protocol, against a scripted OpenAI-compatible server on 127.0.0.1:
// results.json, cases.jsonl and report.html; resume after an interruption without repeating a
// finished call; judge answers that never parse; call errors retried on the next run, context
// overflows not; usage per role; bad input refused before the folder is touched.
import { mkdtempSync, readFileSync, appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatModel, LlmContextOverflowError, type ChatMessage, type ChatModel } from '@rapo/llm';
import { FakeChatServer } from '@rapo/llm/testing';
import { fidelity, generateWorld, prompts } from '@rapo/testbed';
import { CachedChatModel } from './cached-model.js';
import { comparisonHtml, comparisonMarkdown, loadComparison } from './compare.js';
import { readCases } from './files.js';
import { testbed } from './testbed/index.js';
import { EvalRunError, runEval } from './run.js';
import type { EvalResults, Protocol } from './types.js';

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
    expect(results.cases).toEqual({ total: held.length, ok: held.length, failed: 0, pending: 0, failures: {} });
    expect(results.scores.fidelity).toBeCloseTo(want.reduce((a, b) => a + b, 0) / want.length, 10);
    expect(results.scores.judge).toBe(7);
    expect(results.complete).toBe(true);
    // The scales the report draws bars on: the judge's 0-10 rubric, fidelity and generic rate as shares.
    expect(results.ranges?.scores).toEqual({ fidelity: [0, 1], judge: [0, 10], generic_rate: [0, 1] });
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
    expect(results.cases).toEqual({ total: 2, ok: 0, failed: 2, pending: 0, failures: { unscorable: 2 } });
    expect(results.scores).toEqual({});
    expect(judgeCalls).toBe(4); // two attempts per case, the second showing the bad answer
    const r = [...readCases(join(out, 'cases.jsonl')).values()][0]!;
    expect(r.status).toBe('failed');
    expect(r.meta.failure).toBe('unscorable');
    expect(r.error).toMatch(/judge answer unreadable after 2 attempts: Expected "Score: <number>"/);
    expect(r.judgements[0]!.raw).toHaveLength(2);
    // The failed case keeps every answer raw, in order: the reply, then both judge answers.
    expect(r.returned).toEqual([
      { role: 'model', text: 'Fine words.' },
      { role: 'judge', text: 'I would rather not give a number.' },
      { role: 'judge', text: 'I would rather not give a number.' },
    ]);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('2 failed');
    expect(html).toContain('what the models returned (3 answers, raw)');
    // Every case ran (and failed for good): nothing is pending, so no "Incomplete" notice.
    expect(html).not.toContain('Incomplete');
  });

  it('a case whose judge call fails keeps what the model had answered, and the report says it runs again', async () => {
    server.respond((body) => (isJudge(body) ? { kind: 'status', status: 500 } : { kind: 'answer', content: 'My <b>ledger</b> stays shut.' }));
    const data = 'testbed:seed=5,characters=10,heldout=0.3,per=1';
    const results = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1 });
    expect(results.cases).toMatchObject({ total: 1, failed: 1, pending: 0, failures: { 'call-error': 1 } });
    const r = [...readCases(join(out, 'cases.jsonl')).values()][0]!;
    expect(r.meta).toMatchObject({ failure: 'call-error', role: 'judge' });
    expect(r.returned).toEqual([{ role: 'model', text: 'My <b>ledger</b> stays shut.' }]);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<pre>My &lt;b&gt;ledger&lt;/b&gt; stays shut.</pre>');
    expect(html).toContain('Incomplete: 1 case failed on a call error and will run again (of 1 case in all).');
    expect(html).not.toContain('not run');
  });

  it('a case whose calls fail is recorded as a call error and runs again next time', async () => {
    server.respond(() => ({ kind: 'status', status: 500 }));
    const data = 'testbed:seed=5,characters=10,heldout=0.3,per=1';
    const results = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1 });
    expect(results.cases.failed).toBe(1);
    expect(results.complete).toBe(false);
    const r = [...readCases(join(out, 'cases.jsonl')).values()][0]!;
    expect(r.meta).toMatchObject({ failure: 'call-error', role: 'model' });
    expect(r.error).toMatch(/^the model under test failed \(the case runs again on the next run\): .*answered HTTP 500/);
    expect(results.cases.failures).toEqual({ 'call-error': 1 });
    server.respond((body) => ({ kind: 'answer', content: isJudge(body) ? 'Score: 8' : 'Better now.' }));
    const again = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1 });
    expect(again.cases).toEqual({ total: 1, ok: 1, failed: 0, pending: 0, failures: {} });
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
    // Nor the official judge-answer rules and strict ones (--strict-judge).
    await expect(
      runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1, options: { strictJudge: true } }),
    ).rejects.toThrow(/another judgeRules \(judgeRules: "official" there, "strict" now\)/);
    // A run recorded before judgeRules existed re-asked unreadable answers: it continues in strict mode only.
    const old = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
    delete old.judgeRules;
    writeFileSync(join(out, 'run.json'), JSON.stringify(old));
    await expect(runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1 })).rejects.toThrow(
      /judgeRules: "strict" there, "official" now/,
    );
    await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 1, options: { strictJudge: true } });
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
  it('counts the judge apart from the model when both are one model object', async () => {
    server.respond((body) => (isJudge(body) ? { kind: 'answer', content: 'Score: 6', usage: [100, 3] } : { kind: 'answer', content: 'Hm.', usage: [40, 2] }));
    const { model } = models();
    const data = 'testbed:seed=5,characters=10,heldout=0.3,per=1';
    const results = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, model, judge: model, out, reasoning: 'none', limit: 2 });
    expect(results.cases.ok).toBe(2);
    expect(results.usage.model).toEqual({ requests: 2, cachedResponses: 0, retries: 0, promptTokens: 80, completionTokens: 4 });
    expect(results.usage.judge).toEqual({ requests: 2, cachedResponses: 0, retries: 0, promptTokens: 200, completionTokens: 6 });

    // A rerun with one more case: the first two come from nowhere (already recorded), the third
    // case's calls are fresh; a retry is counted for the role that made it.
    server.script({ kind: 'status', status: 503 });
    const more = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, model, judge: model, out, reasoning: 'none', limit: 3 });
    expect(more.usage.model).toEqual({ requests: 1, cachedResponses: 0, retries: 1, promptTokens: 40, completionTokens: 2 });
    expect(more.usage.judge).toEqual({ requests: 1, cachedResponses: 0, retries: 0, promptTokens: 100, completionTokens: 3 });
  });

  it('a prompt longer than the context fails its case for good: not retried, not asked again on a rerun', async () => {
    // The server says so as OpenAI does (HTTP 400, code context_length_exceeded) for the model
    // under test on the first case, and for the judge on the second.
    const overflow = {
      kind: 'status' as const,
      status: 400,
      body: JSON.stringify({ error: { message: "This model's maximum context length is 16 tokens.", code: 'context_length_exceeded' } }),
    };
    const data = 'testbed:seed=5,characters=10,heldout=0.3,per=1';
    const cases = testbed.load(data, { lang: 'en' }).slice(0, 3);
    server.respond((body) => {
      const text = JSON.stringify(body.messages);
      if (!isJudge(body))
        return text.includes(JSON.stringify(cases[0]!.turn.text).slice(1, -1))
          ? overflow
          : { kind: 'answer', content: `Reply to ${lastUser(body).slice(0, 30)}` };
      return text.includes(JSON.stringify(`Reply to ${cases[1]!.turn.text.slice(0, 30)}`).slice(1, -1)) ? overflow : { kind: 'answer', content: 'Score: 7' };
    });
    const first = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 3 });
    expect(first.cases).toEqual({ total: 3, ok: 1, failed: 2, pending: 0, failures: { 'context-overflow': 2 } });
    expect(first.complete).toBe(true);
    const records = readCases(join(out, 'cases.jsonl'));
    expect(records.get(cases[0]!.id)!.meta).toMatchObject({ failure: 'context-overflow', role: 'model' });
    expect(records.get(cases[0]!.id)!.error).toMatch(/^the prompt for the model under test is longer than its context .*maximum context length is 16/);
    expect(records.get(cases[1]!.id)!.meta).toMatchObject({ failure: 'context-overflow', role: 'judge' });
    expect(records.get(cases[1]!.id)!.error).toMatch(/^the prompt for the judge is longer than its context/);
    expect(server.received).toHaveLength(5); // 3 replies, 2 judge questions, none retried
    await runEval({ protocol: testbed as never, benchmark: 'testbed', data, ...models(), out, reasoning: 'none', limit: 3 });
    expect(server.received).toHaveLength(5);

    // A local checkpoint throws the same error class (no HTTP involved).
    const local: ChatModel = {
      name: 'local:tiny',
      chat: async () => {
        throw new LlmContextOverflowError('The prompt has 900 tokens; this model reads at most 255 before answering');
      },
      usage: () => ({ requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 }),
    };
    const out2 = mkdtempSync(join(tmpdir(), 'rapo-eval-run-'));
    const r = await runEval({ protocol: testbed as never, benchmark: 'testbed', data, model: local, judge: local, out: out2, reasoning: 'none', limit: 1 });
    expect(r.cases.failures).toEqual({ 'context-overflow': 1 });
    expect([...readCases(join(out2, 'cases.jsonl')).values()][0]!.error).toMatch(/this model reads at most 255/);
  });

  it('checks every input before it writes: a failed start leaves nothing that refuses the next one', async () => {
    server.respond((body) => ({ kind: 'answer', content: isJudge(body) ? 'Score: 5' : 'Hm.' }));
    const folder = join(out, 'run');
    const wrong = join(out, 'no-such-run');
    const start = (data: string, protocol: Protocol = testbed as never) =>
      runEval({ protocol, benchmark: 'testbed', data, ...models(join(folder, 'llm-cache')), out: folder, reasoning: 'none', limit: 1 });
    await expect(start(wrong)).rejects.toThrow(EvalRunError);
    await expect(start(wrong)).rejects.toThrow(new RegExp(`cannot read the testbed data \\(--data ${wrong}\\): Expected a rapo-train run folder`));
    expect(existsSync(folder)).toBe(false);
    const empty = { ...testbed, load: () => [] } as unknown as Protocol;
    await expect(start('testbed', empty)).rejects.toThrow('--data testbed holds no testbed cases');
    const twice = { ...testbed, load: () => [{ id: 'a' }, { id: 'a' }] } as unknown as Protocol;
    await expect(start('testbed', twice)).rejects.toThrow('two cases share the id "a"');
    expect(existsSync(folder)).toBe(false);
    expect(server.received).toHaveLength(0);

    // The corrected command starts in the same folder.
    const ok = await start('testbed:seed=5,characters=10,heldout=0.3,per=1');
    expect(ok.cases.ok).toBe(1);
    expect(readdirSync(folder).sort()).toEqual(['cases.jsonl', 'llm-cache', 'report.html', 'results.json', 'run.json']);
    // A wrong --data on a folder with a run: refused, and the run in it is untouched.
    const before = readFileSync(join(folder, 'run.json'), 'utf8');
    await expect(start(wrong)).rejects.toThrow(EvalRunError);
    expect(readFileSync(join(folder, 'run.json'), 'utf8')).toBe(before);
    const file = join(out, 'a-file');
    appendFileSync(file, 'x');
    await expect(
      runEval({ protocol: testbed as never, benchmark: 'testbed', data: 'testbed', ...models(), out: file, reasoning: 'none', limit: 1 }),
    ).rejects.toThrow(`--out ${file} is a file, not a folder`);
  });
});

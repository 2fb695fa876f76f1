// Fault injection: a small testbed run whose model and judge are one local OpenAI-compatible
// server misbehaving in every way the evaluator meets in practice (429 with Retry-After, 500s, a
// hung request, cut connections, malformed JSON, judge prose with no score, a prompt too long for
// the context), then shut down mid-run and started again for a rerun. Whatever happens, no case
// is lost (each ends ok, failed with a reason, or runs again next time), no case is scored from
// a call that failed, and the rerun repeats no call that had finished (counted on the server).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatModel, type ChatMessage } from '@rapo/llm';
import { FakeChatServer, type Behaviour } from '@rapo/llm/testing';
import { CachedChatModel } from './cached-model.js';
import { readCases } from './files.js';
import { FAILURE_KINDS, failureOf, runEval } from './run.js';
import { testbed, type TestbedCase } from './testbed/index.js';
import type { CaseRecord } from './types.js';

const DATA = 'testbed:seed=7,characters=20,heldout=0.3,per=2';
const cases = testbed.load(DATA, { lang: 'en' }) as TestbedCase[];

const marker = (i: number) => `case${String(i).padStart(2, '0')}x`;
const replyOf = (i: number) => `Aye, ${marker(i)}: the tide waits for no one, and neither do I.`;
const scoreOf = (i: number) => 3 + (i % 6);
const OVERFLOW = JSON.stringify({
  error: { message: "This model's maximum context length is 512 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' },
});
const PROSE = 'What a charming reply; the character really shines through here.';

type Role = 'model' | 'judge';
const text = (body: Record<string, unknown>) => JSON.stringify(body.messages ?? []);
const roleOf = (body: Record<string, unknown>): Role => ((body.messages as ChatMessage[])[0]!.content.startsWith('You grade one reply') ? 'judge' : 'model');
/** The case a request belongs to: the judge's by the marker in the reply it grades, the model's by its prompt. */
function caseOf(body: Record<string, unknown>): number {
  const t = text(body);
  if (roleOf(body) === 'judge') return Number(/case(\d\d)x/.exec(t)![1]);
  const i = cases.findIndex((c) => t.includes(JSON.stringify(c.turn.text).slice(1, -1)) && t.includes(c.characterName));
  if (i < 0) throw new Error(`no case for the request ${t.slice(0, 200)}`);
  return i;
}

let server: FakeChatServer;
let url: string;
let out: string;
beforeEach(async () => {
  server = new FakeChatServer();
  url = await server.start();
  out = mkdtempSync(join(tmpdir(), 'rapo-eval-faults-'));
});
afterEach(() => server.stop().catch(() => undefined));

/** Fresh model objects over the run folder's cache, as a new rapo-eval process makes them. */
function models() {
  const make = (name: string) =>
    new CachedChatModel(
      createChatModel(`openai:${url}#${name}`, { timeoutMs: 400, retry: { maxRetries: 3, baseDelayMs: 2, maxDelayMs: 10 } }),
      join(out, 'llm-cache'),
    );
  return { model: make('actor'), judge: make('judge') };
}

describe('rapo-eval under faults', () => {
  it('loses no case, scores none from a failed call, and repeats no finished call on the rerun', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
    expect(
      new Set(
        cases.map((_, i) =>
          caseOf({
            messages: [
              { role: 'system', content: cases[i]!.characterName },
              { role: 'user', content: cases[i]!.turn.text },
            ],
          }),
        ),
      ).size,
    ).toBe(cases.length);
    let phase: 1 | 2 = 1;
    const seen = new Map<string, number>();
    const recorded = new Set<string>();
    server.respond((body): Behaviour => {
      const key = JSON.stringify(body);
      const nth = (seen.get(key) ?? 0) + 1;
      seen.set(key, nth);
      const i = caseOf(body);
      const answer = (content: string): Behaviour => ({ kind: 'answer', content });
      if (roleOf(body) === 'model') {
        if (i === 1 && nth === 1) return { kind: 'status', status: 429, headers: { 'retry-after': '0' } };
        if (i === 2 && nth <= 2) return { kind: 'status', status: nth === 1 ? 500 : 503 };
        if (i === 3 && nth === 1) return { kind: 'garbage', body: '{"choices": [{"message": ' };
        if (i === 8 && phase === 1) return { kind: 'status', status: 500 };
        if (i === 9) return { kind: 'status', status: 400, body: OVERFLOW };
        if (i === 11 && phase === 1) {
          // The server goes down with this request in flight, once every other case has its
          // record (so each fault above is seen through, the timeout of case 5 included).
          const stop = () => (recorded.size === cases.length - 1 ? void server.stop() : setTimeout(stop, 5));
          stop();
          return { kind: 'hang' };
        }
        return answer(replyOf(i));
      }
      const reask = (body.messages as ChatMessage[]).length > 2;
      if (i === 4 && nth === 1) return { kind: 'cut', afterHeaders: true };
      if (i === 5 && nth === 1) return { kind: 'hang' };
      if (i === 6 && !reask) return answer(PROSE);
      if (i === 7) return answer(PROSE);
      if (i === 10 && phase === 1) return { kind: 'garbage', body: 'Score: 9 (this is not a chat completion)' };
      if (i === 0) return answer(`Solid work, in character.\nScore: ${scoreOf(i)}`);
      return answer(`Score: ${scoreOf(i)}\nIn character throughout.`);
    });

    const run = () =>
      runEval({
        protocol: testbed as never,
        benchmark: 'testbed',
        data: DATA,
        ...models(),
        out,
        reasoning: 'none',
        concurrency: 3,
        judgeAttempts: 2,
        onCase: (r) => recorded.add(r.id),
      });
    const records = () => readCases(join(out, 'cases.jsonl'));

    /** Every case ok, failed with a reason and a kind, or pending; an ok case was scored from answers that arrived. */
    const checkFaithful = (all: Map<string, CaseRecord>, pending: number) => {
      expect(all.size + pending).toBe(cases.length);
      const deliveredModel = new Set(server.delivered.filter((r) => roleOf(r.body) === 'model').map((r) => caseOf(r.body)));
      const deliveredJudge = new Set(server.delivered.filter((r) => roleOf(r.body) === 'judge').map((r) => caseOf(r.body)));
      for (const [id, r] of all) {
        const i = cases.findIndex((c) => c.id === id);
        expect(i).toBeGreaterThanOrEqual(0);
        if (r.status === 'failed') {
          expect(r.error, id).toBeTruthy();
          expect(FAILURE_KINDS, id).toContain(failureOf(r));
          expect(r.scores.judge, id).toBeUndefined();
          continue;
        }
        expect(r.status).toBe('ok');
        expect(deliveredModel.has(i) && deliveredJudge.has(i), id).toBe(true);
        expect(r.transcript[1]!.content, id).toBe(replyOf(i));
        expect(r.scores.judge, id).toBe(scoreOf(i));
        expect(r.judgements[0]!.raw.at(-1), id).toMatch(new RegExp(`Score: ${scoreOf(i)}`));
      }
    };

    // Run 1: the faults, and the server stops when case 11 asks its model.
    const first = await run();
    const after1 = records();
    checkFaithful(after1, first.cases.pending);
    expect(first.complete).toBe(false);
    const at = (i: number) => after1.get(cases[i]!.id);
    expect(at(11)).toMatchObject({ status: 'failed', meta: { failure: 'call-error', role: 'model' } });
    // A model that kept failing, and a judge that sent no chat completion: failed, never scored.
    expect(failureOf(at(8)!)).toBe('call-error');
    expect(failureOf(at(10)!)).toBe('call-error');
    expect(at(10)!.error).toMatch(/^the judge failed \(the case runs again on the next run\)/);
    // Faults the client's retries absorb leave ok cases: 429, 500/503, malformed JSON, a cut
    // connection, a timeout; judge prose with no score is asked again and then read.
    for (const i of [0, 1, 2, 3, 4, 5, 6]) expect(at(i)!.status, cases[i]!.id).toBe('ok');
    expect(at(6)!.judgements[0]!.raw[0]).toBe(PROSE);
    expect(first.usage.judge.requests).toBeGreaterThan(0);
    expect(first.usage.model.retries).toBeGreaterThan(0);

    // Run 2: the server is back on the same address; only unfinished calls are asked.
    const finished = new Set(server.delivered.map((r) => JSON.stringify(r.body)));
    const before = server.received.length;
    phase = 2;
    expect(await server.startAgain()).toBe(url);
    const second = await run();
    const asked = server.received.slice(before).map((r) => JSON.stringify(r.body));
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.filter((b) => finished.has(b))).toEqual([]);
    const after2 = records();
    checkFaithful(after2, second.cases.pending);
    expect(second.complete).toBe(true);
    expect(second.cases.pending).toBe(0);
    const final = (i: number) => after2.get(cases[i]!.id)!;
    const failedKinds = Object.fromEntries(cases.map((c, i) => [i, failureOf(final(i)) ?? 'ok']).filter(([, k]) => k !== 'ok'));
    expect(failedKinds).toEqual({ 7: 'unscorable', 9: 'context-overflow' });
    expect(second.cases).toMatchObject({ total: cases.length, ok: cases.length - 2, failed: 2, failures: { unscorable: 1, 'context-overflow': 1 } });
    expect(final(6).judgements[0]!.raw).toEqual([PROSE, `Score: ${scoreOf(6)}\nIn character throughout.`]);
    expect(final(7).judgements[0]!.raw).toEqual([PROSE, PROSE]);
    // The overflowing prompt was sent once in all: neither retried nor asked again on the rerun.
    expect(server.received.filter((r) => roleOf(r.body) === 'model' && caseOf(r.body) === 9)).toHaveLength(1);
    const okScores = cases.map((_, i) => i).filter((i) => final(i).status === 'ok');
    expect(second.scores.judge).toBeCloseTo(okScores.reduce((a, i) => a + scoreOf(i), 0) / okScores.length, 10);

    // Run 3: nothing left, nothing asked.
    const n = server.received.length;
    const third = await run();
    expect(server.received.length).toBe(n);
    expect(third.cases).toEqual(second.cases);
  });
});

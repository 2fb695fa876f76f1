// Fault injection: a local OpenAI-compatible server plays the judge of an llm-judge reward in a
// tiny RL run. Rate limits, server errors, timeouts, cut connections, malformed JSON and careless
// prose are retried or read, and training goes on; an unreadable answer is never trained on as a
// real score; a judge that stays broken (or a server that went away) stops the run before the
// step's update, with what the judge said; a resume asks the judge nothing it had answered.
process.env.RAPO_TF_BACKEND = 'cpu';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '@rapo/llm';
import { FakeChatServer, type Behaviour } from '@rapo/llm/testing';
import { judgeMaterial, readJudgeRequest } from '@rapo/psycot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from './config.js';
import type { MetricRow, SampleRow } from './report/types.js';
import { train } from './run.js';
import { TINY_MODEL } from './testing.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-judge-faults-'));
const server = new FakeChatServer();
let url = '';
beforeAll(async () => {
  url = await server.start();
});
afterAll(async () => {
  await server.stop().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

const G = 3;
const config = () =>
  parseTrainConfig({
    seed: 7,
    phases: ['rl'],
    data: { characters: 4 },
    model: TINY_MODEL,
    rl: {
      algo: 'grpo',
      steps: 4,
      prompts_per_step: 2,
      group_size: G,
      max_new_tokens: 6,
      beta: 0,
      eval_every: 2,
      eval_prompts: 2,
      rewards: [{ type: 'llm-judge', model: `openai:${url}#judge`, concurrency: 2, timeout_s: 1, max_retries: 3 }],
    },
    probe: { prompts: 0 },
    checkpoint: { every: 1, keep: 2 },
    log: { samples_every: 1, samples: 2 * G },
  });

/** The judge's score of a response: a hash of its text, 0..10. */
function judgeScore(response: string): number {
  let h = 2166136261;
  for (const ch of response) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0) % 11;
}
/** How a careless judge words a score: text after it, text before it, markdown around it. */
const PROSE = [
  (n: number) => `Score: ${n} — it stays in character.\nIt could say more about where they live.`,
  (n: number) => `Let me weigh this reply.\nScore: ${n}\nIt answers what was asked.`,
  (n: number) => `**Score:** ${n}/10\nFine.`,
];
const FAULTS: Behaviour[] = [
  { kind: 'status', status: 429, headers: { 'retry-after': '0' } },
  { kind: 'status', status: 500 },
  { kind: 'hang' },
  { kind: 'cut' },
  { kind: 'garbage', body: '{"choices": [{"message": ' },
];

const judged = (body: Record<string, unknown>) => {
  const messages = body.messages as { content: string }[];
  return readJudgeRequest(messages.at(-1)!.content);
};

/** The judge: faults for the first distinct requests (each retried into an answer), then scores in careless prose. */
function judge(state: { faults: Behaviour[]; unreadable: number; broken: boolean }): (body: Record<string, unknown>) => Behaviour {
  const faulted = new Set<string>();
  return (body) => {
    const req = judged(body);
    if (!req) return { kind: 'status', status: 400, body: '{"error": {"message": "not a judge request"}}' };
    const key = canonicalJson(body);
    if (state.faults.length && !faulted.has(key)) {
      faulted.add(key);
      return state.faults.shift()!;
    }
    if (state.broken) return { kind: 'answer', content: `Honestly, every reply here is lovely and ${'I could not possibly pick a number for it. '.repeat(6)}` };
    if (state.unreadable > 0) {
      state.unreadable--;
      return { kind: 'answer', content: 'I would rather not grade this one.' };
    }
    const n = judgeScore(req.response);
    return { kind: 'answer', content: PROSE[n % 3]!(n) };
  };
}

const rows = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MetricRow);
const samples = (dir: string) =>
  readFileSync(join(dir, 'samples.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SampleRow);
const rlRows = (dir: string) => rows(dir).filter((r) => r.reward !== undefined);
/** What the judge scores a sample, had it answered readably. */
const expected = (s: SampleRow) => judgeScore(judgeMaterial(s.response)) / 10;

class Crash extends Error {}

describe('an llm-judge that misbehaves, in a tiny RL run', () => {
  it('retries or reads every fault, trains on no missing reward, stops when the server goes away, and a resume repeats no finished call', async () => {
    const out = join(root, 'faulty');
    const state = { faults: [...FAULTS], unreadable: 0, broken: false };
    server.respond(judge(state));
    const lines: string[] = [];

    // 1. Faults, one unreadable answer at step 1, then a crash after step 2's judge calls (before its checkpoint).
    await expect(
      train({
        config: config(),
        out,
        log: (l) => lines.push(l),
        onRow: (row) => {
          if (row.phase === 'rl' && row.step === 0 && row.reward !== undefined) state.unreadable = 1;
          if (row.phase === 'rl' && row.step === 2 && row.reward !== undefined) throw new Crash('simulated kill after rl step 2');
        },
      }),
    ).rejects.toThrow(Crash);
    expect(state.faults).toEqual([]); // every fault was served, and retried into an answer
    expect(rlRows(out).map((r) => [r.step, r.judgeFailures, r.judgeFailuresTotal])).toEqual([
      [0, 0, 0],
      [1, 1, 1],
      [2, 0, 1],
    ]);
    expect(lines.find((l) => /^rl 2\/4/.test(l))).toMatch(/judge failures 1 \(1 in the run\) \(advantage 0\)/);
    expect(lines.find((l) => /^rl 1\/4/.test(l))).not.toMatch(/judge failures/);
    // The calls that finished: at least steps 0 to 2 (greedy evaluations may repeat a request, which the cache answers).
    const finished = new Set(server.delivered.map((d) => canonicalJson(d.body)));
    expect(server.delivered.length).toBeGreaterThanOrEqual(3 * 2 * G);

    // 2. Resume from the checkpoint after step 1: step 2 (and the evaluation before it) come
    // from the judge cache. Then the server goes away: step 3 fails whole and stops the run.
    const asked = server.received.length;
    const stopped = await train({
      config: config(),
      out,
      resume: true,
      onRow: (row) => {
        if (row.phase === 'rl' && row.step === 2 && row.reward !== undefined) void server.stop();
      },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(server.received.length).toBe(asked); // nothing asked again
    expect(stopped?.message).toMatch(
      /^rl step 4 of \d+: rl\.rewards\[0\] \(llm-judge openai:http:\/\/127\.0\.0\.1:\d+\/v1#judge\) could not score 6 of 6 answers \(0 unreadable, 6 failed calls\), more than rl\.rewards\[0\]\.max_failure_share 0\.5 allows\./,
    );
    expect(stopped?.message).toMatch(/The first failed call: could not reach http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
    expect(stopped?.message).toMatch(/No update was made from these answers/);
    expect(stopped?.message).toMatch(/can be continued from .*step-000003 with --resume: npm run train -- --resume /);
    // No row and no update for step 3: the last checkpoint is the one after step 2.
    expect(rlRows(out).map((r) => r.step)).toEqual([0, 1, 2]);
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['step-000002', 'step-000003']);
    expect(existsSync(join(out, 'final'))).toBe(false);

    // 3. The server is back (same address): the resumed run asks only what no run had answered.
    await server.startAgain();
    const before = server.received.length;
    const r = await train({ config: config(), out, resume: true });
    expect(r.complete).toBe(true);
    expect(r.final?.fidelity?.overall).toBeGreaterThanOrEqual(0);
    const again = server.received.slice(before).map((x) => canonicalJson(x.body));
    // Step 3's samples, and the final evaluation unless its greedy answers were judged before.
    expect(again.length).toBeGreaterThanOrEqual(2 * G);
    expect(again.length).toBeLessThanOrEqual(2 * G + 2);
    expect(again.filter((k) => finished.has(k))).toEqual([]);

    // The run: every step once, the failure count carried across both resumes, evaluations whole.
    const m = rows(out);
    expect(rlRows(out).map((x) => [x.step, x.judgeFailures, x.judgeFailuresTotal])).toEqual([
      [0, 0, 0],
      [1, 1, 1],
      [2, 0, 1],
      [3, 0, 1],
    ]);
    expect(m.filter((x) => x.evalReward !== undefined).map((x) => [x.step, x.judgeFailures ?? 0])).toEqual([
      [0, 0],
      [2, 0],
      [4, 0],
    ]);
    // Every sample of a step without failures has the judge's own score; at step 1 exactly one
    // item has none: it got its group's mean (of the others' real scores) and advantage 0.
    const all = samples(out);
    for (const step of [0, 2, 3]) {
      for (const s of all.filter((x) => x.step === step)) expect(s.reward).toBeCloseTo(expected(s), 9);
    }
    const one = all.filter((x) => x.step === 1);
    expect(one).toHaveLength(2 * G);
    const fits = one.map((_, missing) =>
      one.every((s, i) => {
        if (i !== missing) return Math.abs(s.reward! - expected(s)) < 1e-9;
        const mates = one.filter((_, j) => j !== i && Math.floor(j / G) === Math.floor(i / G));
        return Math.abs(s.reward! - mates.reduce((a, b) => a + expected(b), 0) / mates.length) < 1e-9 && s.advantage === 0;
      }),
    );
    expect(fits.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('id="judge-failures"');
    expect(html).toMatch(/<th>judge failures<\/th><td>1<\/td>/);
  });

  it('stops loudly at the first step when the judge stays unreadable, with what it said, having trained on nothing', async () => {
    const out = join(root, 'broken');
    const state = { faults: [] as Behaviour[], unreadable: 0, broken: false };
    server.respond(judge(state));
    // The evaluation before step 0 is judged well; then every answer is prose without a score.
    const err = await train({
      config: config(),
      out,
      onRow: (row) => {
        if (row.evalReward !== undefined) state.broken = true;
      },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^rl step 1 of \d+: rl\.rewards\[0\] .* could not score 6 of 6 answers \(6 unreadable, 0 failed calls\)/);
    expect(err?.message).toContain('The first unreadable answer: "Honestly, every reply here is lovely and I could not possibly pick a number for it.');
    expect(err?.message).toMatch(/…"\n/); // shortened
    expect(err?.message).toMatch(/can be continued from the start with --resume/);
    expect(rows(out).map((r) => [r.step, r.evalReward !== undefined, r.reward !== undefined])).toEqual([[0, true, false]]);
    expect(samples(out)).toEqual([]);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false);
    // Only the two readable answers of the evaluation were kept.
    const cached = readdirSync(join(out, 'judge-cache'), { recursive: true }).filter((f) => String(f).endsWith('.json'));
    expect(cached).toHaveLength(2);
  });
});

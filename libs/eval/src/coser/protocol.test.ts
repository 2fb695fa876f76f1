// The whole protocol against a scripted OpenAI-compatible server on 127.0.0.1: actors (Psy-CoT),
// the environment, the next-speaker predictor and the four judges answer known texts, so the
// scene, the scores and the status of each case are known exactly.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChatModel, type ChatMessage, type ChatModel } from '@rapo/llm';
import { FakeChatServer, type Behaviour } from '@rapo/llm/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { benchmarksDir, BENCHMARKS_MISSING, sample } from '@rapo/psycot/testing';
import type { EvalContext } from '../types.js';
import { bleu } from '../metrics/bleu.js';
import { rougeL } from '../metrics/rouge.js';
import { coser, coserCast, type CoserCase } from './index.js';
import { DIMENSIONS, type Dimension } from './judging.js';

const tmp = mkdtempSync(join(tmpdir(), 'coser-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A made-up two-character scene in CoSER's shape. */
function loadCase(): CoserCase {
  const file = join(tmp, 'test_set.json');
  writeFileSync(
    file,
    JSON.stringify([
      {
        book: 'The Lighthouse Keepers',
        scenario: 'A storm night in the lamp room of a lighthouse.',
        key_characters: [
          { name: 'Alice', thought: 'I fear the lamp will fail tonight.' },
          { name: 'Bob', thought: 'I must keep Alice calm.' },
        ],
        dialogues: [
          { character: 'Alice', message: '[The glass is cracked.] Hello, Bob. Is the lamp lit?' },
          { character: 'Bob', message: 'It is lit, Alice. (trims the wick)' },
          { character: 'Environment', message: 'Rain lashes the windows.' },
        ],
        speaking_characters_w_env: ['Alice', 'Bob', 'Environment'],
        major_characters: ['Alice', 'Bob'],
        plot: { i_p: 7, summary: 'The keepers save a ship in a storm.', key_characters: [{ name: 'Alice', description: 'The head keeper.' }] },
        character_profiles: { Alice: 'Alice has kept the light for twenty years.', Bob: 'Bob is her young assistant.' },
        i_c: 0,
        tag: 'ood',
      },
    ]),
  );
  return coser.load(file, { lang: 'en' })[0]!;
}

const answer = (content: string): Behaviour => ({ kind: 'answer', content });
const psycot = (name: string, n: number, reply: string) =>
  `<think>\n<perception>SECRET-${name}-${n}: the storm is loud</perception>\n<empathy>worry</empathy>\n<construction>speak plainly</construction>\n</think>\n${name}: ${reply}`;

const REPLIES: Record<string, string[]> = {
  Alice: ['Hello, Bob. Is the lamp lit?', 'The glass is cracked, Bob.'],
  Bob: ['It is lit, Alice. (trims the wick)', 'Then we mend it together.'],
};
const ENV = 'Rain lashes the windows.';
// r0 Alice -> "Bob"; r1 Bob -> "Environment"; r2 Env -> "alice."; r3 Alice -> "Gandalf" (unknown:
// fallback to Bob, who acted longer ago than Environment); r4 Bob -> "<END CHAT>" (too early:
// fallback to Environment); r5 Env -> "<END CHAT>" (accepted). Six turns, four by actors.
const NSP = ['Bob', 'Environment', 'alice.', 'Gandalf', '<END CHAT>', '<END CHAT>'];

const fence = (o: unknown) => `Here is my assessment.\n\n\`\`\`json\n${JSON.stringify(o, null, 2)}\n\`\`\`\nI hope this helps.`;
const flaws = (d: Dimension, severities: number[]) => ({ [d]: { flaws: severities.map((severity, i) => ({ instance: `flaw ${i}`, type: d, severity })) } });

interface Server {
  server: FakeChatServer;
  url: string;
  /** Requests by who was asked. */
  asked: (who: string) => ChatMessage[][];
}

let current: Server | undefined;
afterEach(async () => {
  await current?.server.stop();
  current = undefined;
});

/** Who a request is for, from its system message. */
function whoIsAsked(messages: ChatMessage[]): string {
  const sys = messages[0]?.content ?? '';
  if (sys.startsWith('You direct the turn order')) return 'nsp';
  if (sys.startsWith('You narrate the surroundings')) return 'environment';
  const dim = DIMENSIONS.find((d) => sys.includes(`one dimension only: ${d}.`));
  if (dim) return `judge:${dim}`;
  const actor = /^You are (.+?), one of the characters/.exec(sys);
  if (actor) return `actor:${actor[1]}`;
  return 'unknown';
}

async function startServer(judges: Record<Dimension, (attempt: number) => string>, opts: { hangFor?: string } = {}): Promise<Server> {
  const server = new FakeChatServer();
  let nsp = 0;
  const turns: Record<string, number> = {};
  server.respond((body) => {
    const messages = body.messages as ChatMessage[];
    if (opts.hangFor && body.model === opts.hangFor) return { kind: 'hang' };
    const who = whoIsAsked(messages);
    if (who === 'nsp') return answer(NSP[nsp++] ?? '<END CHAT>');
    if (who === 'environment') return answer(`Environment: ${ENV}`);
    if (who.startsWith('actor:')) {
      const name = who.slice('actor:'.length);
      const n = (turns[name] = (turns[name] ?? 0) + 1);
      return answer(psycot(name, n, REPLIES[name]![n - 1]!));
    }
    if (who.startsWith('judge:')) {
      const attempt = messages.filter((m) => m.role === 'assistant').length; // 0 on the first ask
      return answer(judges[who.slice('judge:'.length) as Dimension](attempt));
    }
    return { kind: 'status', status: 400, body: 'unexpected request' };
  });
  const url = await server.start();
  current = {
    server,
    url,
    asked: (who) => server.received.map((r) => r.body.messages as ChatMessage[]).filter((m) => whoIsAsked(m) === who),
  };
  return current;
}

const model = (url: string, name: string, extra: Parameters<typeof createChatModel>[1] = {}): ChatModel =>
  createChatModel(`openai:${url}#${name}`, { retry: { maxRetries: 0 }, timeoutMs: 5000, ...extra });

function context(url: string, overrides: Partial<EvalContext> = {}): EvalContext {
  return {
    model: model(url, 'actor'),
    judge: model(url, 'judge'),
    reasoning: 'psy-cot',
    lang: 'en',
    judgeAttempts: 3,
    options: { environment: model(url, 'env'), nextSpeaker: model(url, 'nsp') },
    ...overrides,
  };
}

const GOOD_JUDGES: Record<Dimension, (attempt: number) => string> = {
  // wrapped in prose and a code fence: severities 2 + 3
  'Storyline Consistency': () => fence(flaws('Storyline Consistency', [2, 3])),
  // first answer holds no JSON; the re-ask gets a valid one: 4
  Anthropomorphism: (attempt) => (attempt === 0 ? 'Let me think about the characters first.' : JSON.stringify(flaws('Anthropomorphism', [4]))),
  // no flaws
  'Character Fidelity': () => JSON.stringify({ 'Character Fidelity': { flaws: [] } }),
  // 5 + 5 + 5 + 5
  'Storyline Quality': () => JSON.stringify(flaws('Storyline Quality', [5, 5, 5, 5])),
};

describe('CoSER end to end against a scripted server', () => {
  let c: CoserCase;
  beforeAll(() => {
    c = loadCase();
  });

  it('plays the scene, strips reasoning, judges four dimensions and scores them exactly', async () => {
    const { url, asked, server } = await startServer(GOOD_JUDGES);
    const rec = await coser.runCase(c, context(url));

    expect(rec.status).toBe('ok');
    expect(rec.error).toBeUndefined();
    expect(rec.id).toBe('The Lighthouse Keepers-7-0');

    // the scene: first speaker from speaking_characters_w_env[0], NSP answers followed or replaced
    const scene = rec.transcript.filter((t) => t.role === 'model' || t.role === 'environment');
    expect(scene.map((t) => t.speaker)).toEqual(['Alice', 'Bob', 'Environment', 'Alice', 'Bob', 'Environment']);
    expect(rec.meta.actorTurns).toBe(4);
    expect(rec.meta.environmentTurns).toBe(2);
    expect(rec.meta.ended).toBe('end-chat');
    const decisions = rec.meta.nextSpeaker as { round: number; next: string; fallback?: string }[];
    expect(decisions.map((d) => d.next)).toEqual(['Bob', 'Environment', 'Alice', 'Bob', 'Environment', '<END CHAT>']);
    expect(decisions[3]!.fallback).toMatch(/names none of the speakers; chose Bob/);
    expect(decisions[4]!.fallback).toMatch(/too early/);
    expect(rec.meta.nextSpeakerFallbacks).toBe(2);

    // the transcript keeps the reasoning in raw, and only there
    expect(scene[0]!.content).toBe('Hello, Bob. Is the lamp lit?');
    expect(scene[0]!.raw).toContain('SECRET-Alice-1');
    expect(scene[2]!.content).toBe(ENV);
    expect(rec.transcript[0]).toEqual({ speaker: 'scenario', role: 'context', content: c.item.scenario });
    expect(rec.transcript.filter((t) => t.role === 'reference')).toHaveLength(3);
    // no agent and no judge ever saw anyone's reasoning
    for (const r of server.received) expect(JSON.stringify(r.body)).not.toContain('SECRET');
    // each actor saw its own inner state, never the other's
    expect(asked('actor:Alice')[0]![0]!.content).toContain('I fear the lamp will fail tonight.');
    expect(asked('actor:Alice')[0]![0]!.content).not.toContain('I must keep Alice calm.');
    expect(asked('actor:Alice')).toHaveLength(2);
    expect(asked('actor:Bob')).toHaveLength(2);
    expect(asked('environment')).toHaveLength(2);
    expect(asked('nsp')).toHaveLength(6);

    // the judge saw the reference and the simulated conversation
    const sc = asked('judge:Storyline Consistency')[0]!;
    expect(sc[0]!.content).toContain('Alice: Hello, Bob. Is the lamp lit?'); // reference, [thought] removed
    expect(sc[0]!.content).not.toContain('The glass is cracked.]');
    expect(sc[1]!.content).toContain('Alice: Hello, Bob. Is the lamp lit?\n\nBob: It is lit, Alice. (trims the wick)\n\nEnvironment: Rain lashes the windows.');
    // the malformed answer was asked again, with the answer and the error
    const anth = asked('judge:Anthropomorphism');
    expect(anth).toHaveLength(2);
    expect(anth[1]![3]!.content).toMatch(/no JSON object found in the answer/);
    expect(rec.judgements.find((j) => j.dimension === 'Anthropomorphism')!.raw).toHaveLength(2);

    // 4 actor turns forgive 1.2 severity points:
    //   Storyline Consistency 100 - (5 - 1.2) * 5 = 81
    //   Anthropomorphism      100 - (4 - 1.2) * 5 = 86
    //   Character Fidelity    100 - (0 - 1.2) * 5 = 106 -> 100
    //   Storyline Quality     100 - (20 - 1.2) * 5 = 6
    expect(rec.scores['Storyline Consistency']).toBeCloseTo(81, 10);
    expect(rec.scores.Anthropomorphism).toBeCloseTo(86, 10);
    expect(rec.scores['Character Fidelity']).toBe(100);
    expect(rec.scores['Storyline Quality']).toBeCloseTo(6, 10);

    // BLEU and ROUGE-L of the simulated against the original conversation
    const reference = 'Alice: Hello, Bob. Is the lamp lit?\n\nBob: It is lit, Alice. (trims the wick)\n\nEnvironment: Rain lashes the windows.';
    const simulation = [
      'Alice: Hello, Bob. Is the lamp lit?',
      'Bob: It is lit, Alice. (trims the wick)',
      `Environment: ${ENV}`,
      'Alice: The glass is cracked, Bob.',
      'Bob: Then we mend it together.',
      `Environment: ${ENV}`,
    ].join('\n\n');
    expect(rec.scores.bleu).toBeCloseTo(bleu(reference, simulation).score, 12);
    expect(rec.scores.bleu).toBeGreaterThan(0);
    expect(rec.scores.rouge_l).toBeCloseTo(rougeL(reference, simulation).f, 12);
    expect(rec.scores.rouge_l).toBeGreaterThan(0);

    const agg = coser.aggregate([rec]);
    expect(agg.scores.avg).toBeCloseTo((81 + 86 + 100 + 6) / 4, 10);
    expect(agg.scores.avg).toBeCloseTo(68.25, 10);
    expect(agg.breakdown?.['tag: ood']).toMatchObject({ cases: 1 });
    // Dimensions and their mean on 0-100, BLEU and ROUGE-L on 0-1; a count has no scale.
    expect(agg.ranges!.scores).toMatchObject({ avg: [0, 100], 'Character Fidelity': [0, 100], bleu: [0, 1], rouge_l: [0, 1] });
    expect(Object.keys(agg.ranges!.scores!).sort()).toEqual(Object.keys(agg.scores).sort());
    expect(agg.ranges!.breakdown!['tag: ood']).toMatchObject({ avg: [0, 100], bleu: [0, 1] });
    expect(agg.ranges!.breakdown!['tag: ood']!.cases).toBeUndefined();
  });

  it('fails a case whose judge answer never parses: counted, never scored', async () => {
    const judges = { ...GOOD_JUDGES, 'Character Fidelity': () => 'I would rather not give a list.' };
    const { url, asked } = await startServer(judges);
    const failed = await coser.runCase(c, context(url, { judgeAttempts: 2 }));
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/judge's answer on "Character Fidelity" could not be read after 2 attempt\(s\): no JSON object found/);
    expect(failed.scores).toEqual({});
    expect(asked('judge:Character Fidelity')).toHaveLength(2);
    expect(failed.judgements.find((j) => j.dimension === 'Character Fidelity')).toMatchObject({
      parsed: null,
      raw: ['I would rather not give a list.', 'I would rather not give a list.'],
    });
    // the simulation is still there to read
    expect(failed.transcript.filter((t) => t.role === 'model')).toHaveLength(4);

    // next to an ok case, the failed one changes no number
    await current!.server.stop();
    current = undefined;
    const { url: url2 } = await startServer(GOOD_JUDGES);
    const ok = await coser.runCase(c, context(url2));
    expect(coser.aggregate([ok, failed]).scores).toEqual(coser.aggregate([ok]).scores);
  });

  // Issue "Faithful scores": the reporter's judge answers, scored by CoSER's own rules
  // (gca_evaluation/main.py): a severity of 2.5 or "3" is left out of the sum, a missing one counts 1.
  const MESSY_JUDGES: Record<Dimension, (attempt: number) => string> = {
    'Storyline Consistency': () =>
      JSON.stringify({
        'Storyline Consistency': {
          flaws: [
            { instance: 'Bob forgets the cracked glass', type: 'Storyline Consistency', severity: 2 },
            { instance: 'Alice shrugs off the storm', type: 'Storyline Consistency', severity: 2.5 },
          ],
        },
      }),
    Anthropomorphism: () => JSON.stringify({ Anthropomorphism: { flaws: [{ instance: 'Bob explains too much', type: 'Self-identity' }] } }),
    'Character Fidelity': () => fence({ 'Character Fidelity': { flaws: [{ instance: 'Alice sounds modern', type: 'Character Language', severity: '3' }] } }),
    'Storyline Quality': () => 'No flaws worth listing.\n{"Storyline Quality": {"flaws": []}}',
  };

  it("scores messy judge answers by CoSER's rules: 96, 100, 100, 100 (the non-integer severities kept, noted, left out)", async () => {
    const { url, asked } = await startServer(MESSY_JUDGES);
    const rec = await coser.runCase(c, context(url));
    expect(rec.status).toBe('ok');
    expect(rec.meta.actorTurns).toBe(4); // 1.2 severity points forgiven
    // 2 counted, 2.5 left out: 100 - (2 - 1.2) * 5 = 96
    expect(rec.scores['Storyline Consistency']).toBeCloseTo(96, 10);
    // a missing severity counts 1: 100 - (1 - 1.2) * 5 = 101 -> 100
    expect(rec.scores.Anthropomorphism).toBe(100);
    // "3" is a string, not an integer: left out, nothing counted -> 100
    expect(rec.scores['Character Fidelity']).toBe(100);
    expect(rec.scores['Storyline Quality']).toBe(100);
    for (const d of DIMENSIONS) expect(asked(`judge:${d}`), d).toHaveLength(1); // nothing asked again
    expect(rec.meta.judgeRules).toBe('official');
    expect(rec.meta.ignoredSeverities).toEqual({ 'Storyline Consistency': [2.5], 'Character Fidelity': ['3'] });
    const sc = rec.judgements.find((j) => j.dimension === 'Storyline Consistency')!.parsed as { flaws: unknown[]; ignoredSeverities: unknown[] };
    expect(sc.flaws[1]).toEqual({
      instance: 'Alice shrugs off the storm',
      type: 'Storyline Consistency',
      severity: null,
      given: 2.5,
      note: 'severity is not an integer: left out of the sum, as CoSER does',
    });
    const an = rec.judgements.find((j) => j.dimension === 'Anthropomorphism')!.parsed as { flaws: unknown[] };
    expect(an.flaws[0]).toMatchObject({ severity: 1, note: 'no severity given: counted as 1, as CoSER does' });
  });

  it('with strictJudge asks again about a non-integer severity and fails the case when it stays', async () => {
    const { url, asked } = await startServer(MESSY_JUDGES);
    const rec = await coser.runCase(c, context(url, { options: { environment: model(url, 'env'), nextSpeaker: model(url, 'nsp'), strictJudge: true } }));
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatch(
      /"Storyline Consistency" could not be read after 3 attempt\(s\): flaws\[1\]\.severity must be an integer from 1 to 5 but is 2\.5/,
    );
    expect(asked('judge:Storyline Consistency')).toHaveLength(3);
    expect(asked('judge:Storyline Quality')).toHaveLength(1);
    expect(rec.scores).toEqual({});
  });

  it('stops at maxRounds when the predictor never ends the scene', async () => {
    const { url, asked } = await startServer(GOOD_JUDGES);
    const rec = await coser.runCase(c, context(url, { options: { environment: model(url, 'env'), nextSpeaker: model(url, 'nsp'), maxRounds: 3 } }));
    expect(rec.meta.rounds).toBe(3);
    expect(rec.meta.ended).toBe('max-rounds');
    expect(asked('nsp')).toHaveLength(2); // none after the last round
    expect(rec.status).toBe('ok');
  });

  it('rejects when a model does not answer in time (the runner records the error)', async () => {
    const { url } = await startServer(GOOD_JUDGES, { hangFor: 'env-slow' });
    const ctx = context(url, { options: { environment: model(url, 'env-slow', { timeoutMs: 200 }), nextSpeaker: model(url, 'nsp') } });
    const started = Date.now();
    await expect(coser.runCase(c, ctx)).rejects.toMatchObject({ name: 'LlmTimeoutError' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('uses the model under test for the environment and the predictor when none is given', async () => {
    const { url, server } = await startServer(GOOD_JUDGES);
    const rec = await coser.runCase(c, context(url, { options: {} }));
    expect(rec.status).toBe('ok');
    const models = new Set(
      server.received
        .filter((r) => whoIsAsked(r.body.messages as ChatMessage[]) !== 'unknown' && !whoIsAsked(r.body.messages as ChatMessage[]).startsWith('judge:'))
        .map((r) => r.body.model),
    );
    expect(models).toEqual(new Set(['actor']));
  });
});

describe('CoSER end to end on sample items', () => {
  const have = benchmarksDir() !== undefined && existsSync(join(benchmarksDir()!, 'coser'));

  it.skipIf(!have)(`plays real items: the environment may open, minor speakers get played, every judge sees every actor (${BENCHMARKS_MISSING})`, async () => {
    const all = [
      ...coser.load(sample('coser/data/test/example_test_set.json'), { lang: 'en' }),
      ...coser.load(sample('coser/data/test/test_set.json'), { lang: 'en' }),
    ];
    const envFirst = all.find((c) => c.item.speaking_characters_w_env[0] === 'Environment')!;
    const withMinor = all.find((c) => coserCast(c.item).some((n) => !(n in c.item.character_profiles)))!;
    const server = new FakeChatServer();
    server.respond((body) => {
      const messages = body.messages as ChatMessage[];
      const who = whoIsAsked(messages);
      if (who === 'nsp') return answer('random');
      if (who === 'environment') return answer('Thunder rolls.');
      if (who.startsWith('actor:')) return answer(psycot(who.slice(6), 0, 'I hear you.'));
      if (who.startsWith('judge:')) return answer('{"flaws": []}');
      return { kind: 'status', status: 400, body: 'unexpected request' };
    });
    const url = await server.start();
    current = { server, url, asked: () => [] };
    for (const c of [envFirst, withMinor]) {
      const rec = await coser.runCase(c, context(url, { options: { maxRounds: 8 } }));
      expect(rec.status, c.id).toBe('ok');
      const scene = rec.transcript.filter((t) => t.role === 'model' || t.role === 'environment');
      expect(scene[0]!.speaker).toBe(c.item.speaking_characters_w_env[0]);
      expect(scene).toHaveLength(8); // "random" never ends the scene
      expect(new Set(scene.map((t) => t.speaker)).size).toBeGreaterThan(1);
      expect((rec.meta.nextSpeaker as { fallback?: string }[]).every((d) => d.fallback)).toBe(true);
      for (const d of DIMENSIONS) expect(rec.scores[d]).toBe(100);
    }
    const judged = server.received.map((r) => r.body.messages as ChatMessage[]).filter((m) => whoIsAsked(m).startsWith('judge:'));
    for (const n of coserCast(withMinor.item)) expect(judged.some((m) => m[0]!.content.includes(`## ${n}`))).toBe(true);
  });
});

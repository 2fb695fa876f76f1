// The persona testbed as a benchmark: the held-out characters of a rapo-train run's world (never
// trained on), one reply per prompt from the model under test, scored by the testbed's fidelity
// metric (no judge involved) and by the judge with @rapo/psycot's rubric (0-10). With
// `--judge testbed` the judge is the testbed's own local judge, so nothing leaves the machine.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { buildJudgeMessages, Character, JUDGE_RESPONSE_BUDGET, parseJudgeScore, parseProfile } from '@rapo/psycot';
import { fidelity, FIDELITY_DIMENSIONS, generateWorld, prompts, summarizeFidelity, type FidelityScore, type Prompt, type World } from '@rapo/testbed';
import { askJudge } from '../judge.js';
import type { CaseRecord, EvalContext, Protocol, ScoreRange } from '../types.js';

/** The world a testbed evaluation uses: the same rules as rapo-train's data section. */
export interface TestbedWorldSpec {
  seed: number;
  characters: number;
  heldOutFraction: number;
  /** Prompts per held-out character. */
  perCharacter: number;
}

export const DEFAULT_TESTBED: TestbedWorldSpec = { seed: 1, characters: 60, heldOutFraction: 0.2, perCharacter: 6 };

/**
 * `--data` for the testbed: a rapo-train run folder (its resolved-config.yaml gives the seed and
 * the world), a config file, or `testbed[:seed=N,characters=N,heldout=F,per=N]`.
 */
export function parseTestbedData(data: string): TestbedWorldSpec {
  const spec = { ...DEFAULT_TESTBED };
  if (data === 'testbed' || data.startsWith('testbed:')) {
    for (const part of data.slice('testbed:'.length).split(',').filter(Boolean)) {
      const [k, v] = part.split('=');
      const n = Number(v);
      const key = { seed: 'seed', characters: 'characters', heldout: 'heldOutFraction', per: 'perCharacter' }[k!.trim()] as keyof TestbedWorldSpec | undefined;
      if (!key || v === undefined || !Number.isFinite(n)) {
        throw new Error(`Expected testbed[:seed=N,characters=N,heldout=F,per=N] for --data but received "${data}" (the part "${part}" is not one of those)`);
      }
      spec[key] = n;
    }
    return spec;
  }
  const file = existsSync(data) && statSync(data).isDirectory() ? join(data, 'resolved-config.yaml') : data;
  if (!existsSync(file)) {
    throw new Error(`Expected a rapo-train run folder (with resolved-config.yaml), a config file or "testbed" for --data but ${file} does not exist`);
  }
  let cfg: { seed?: number; data?: { source?: string; characters?: number; held_out_fraction?: number; world_seed?: number } };
  try {
    cfg = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (e) {
    throw new Error(`${file} is not YAML or JSON: ${(e as Error).message}`, { cause: e });
  }
  if (cfg.data?.source && cfg.data.source !== 'testbed')
    throw new Error(`${file}: the run trained on data.source "${cfg.data.source}", not the testbed; there are no held-out characters to evaluate`);
  return {
    ...spec,
    seed: cfg.data?.world_seed ?? cfg.seed ?? spec.seed,
    characters: cfg.data?.characters ?? spec.characters,
    heldOutFraction: cfg.data?.held_out_fraction ?? spec.heldOutFraction,
  };
}

export interface TestbedCase extends Prompt {
  spec: TestbedWorldSpec;
}

const worlds = new Map<string, World>();
function worldOf(spec: TestbedWorldSpec): World {
  const key = `${spec.seed}/${spec.characters}/${spec.heldOutFraction}`;
  let w = worlds.get(key);
  if (!w) {
    w = generateWorld({ seed: spec.seed, characters: spec.characters, heldOutFraction: spec.heldOutFraction });
    worlds.set(key, w);
  }
  return w;
}

/** The world behind a testbed --data value (for `--judge testbed`). */
export function testbedWorld(data: string): World {
  return worldOf(parseTestbedData(data));
}

export const testbed: Protocol<TestbedCase> = {
  name: 'testbed',

  load(data) {
    const spec = parseTestbedData(data);
    // The same held-out prompts rapo-train evaluates its SFT phase on (seed + 1).
    return prompts(worldOf(spec), 'heldout', { perCharacter: spec.perCharacter, seed: spec.seed + 1 }).map((p) => ({ ...p, spec }));
  },

  async runCase(c: TestbedCase, ctx: EvalContext): Promise<CaseRecord> {
    const world = worldOf(c.spec);
    const character = world.byId.get(c.characterId)!;
    const profile = parseProfile(c.profile, { name: c.characterName });
    const agent = new Character({
      profile,
      model: ctx.model,
      style: ctx.reasoning,
      lang: 'en',
      lenient: true,
      params: { temperature: 0, max_tokens: ctx.options.maxTokens ?? 256 },
    });
    const turn = await agent.turn({ message: c.turn.text }, ctx.signal ? { signal: ctx.signal } : {});
    // The fidelity metric reads the reply; the raw answer keeps the reasoning for the record.
    const fid: FidelityScore = fidelity(world, character, c.turn, turn.reply);
    const judgement = await askJudge(
      ctx.judge,
      'judge',
      buildJudgeMessages({ profile, message: c.turn.text, response: turn.reply }),
      (a) => parseJudgeScore(a, 10),
      {
        attempts: ctx.judgeAttempts,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      },
    );
    const scores: Record<string, number> = Object.fromEntries(FIDELITY_DIMENSIONS.map((d) => [d, fid[d]]));
    scores.fidelity = fid.overall;
    scores.generic = fid.hasGeneric ? 1 : 0;
    const failed = judgement.parsed === null;
    if (!failed) scores.judge = judgement.parsed!;
    return {
      id: c.id,
      benchmark: 'testbed',
      status: failed ? 'failed' : 'ok',
      ...(failed ? { error: `judge answer unreadable after ${judgement.raw.length} attempts: ${judgement.error}` } : {}),
      transcript: [
        { speaker: 'user', role: 'context', content: c.turn.text },
        { speaker: c.characterName, role: 'model', content: turn.reply, ...(turn.raw !== turn.reply ? { raw: turn.raw } : {}) },
      ],
      judgements: [judgement],
      scores,
      meta: {
        character: c.characterName,
        kind: c.turn.kind,
        repairs: turn.repairs,
        ...(turn.reply.length > JUDGE_RESPONSE_BUDGET ? { judgeMaterialCut: turn.reply.length - JUDGE_RESPONSE_BUDGET } : {}),
      },
      seconds: 0,
    };
  },

  aggregate(records) {
    const fid = summarizeFidelity(
      records.map((r) => ({
        ...(Object.fromEntries(FIDELITY_DIMENSIONS.map((d) => [d, r.scores[d] ?? 0])) as Record<(typeof FIDELITY_DIMENSIONS)[number], number>),
        overall: r.scores.fidelity ?? 0,
        genericShare: 0,
        hasGeneric: r.scores.generic === 1,
      })),
    );
    const judge = records.reduce((a, r) => a + (r.scores.judge ?? 0), 0) / Math.max(1, records.length);
    const byKind: Record<string, number> = {};
    const kinds = new Map<string, number[]>();
    for (const r of records) {
      const k = String(r.meta.kind);
      kinds.set(k, [...(kinds.get(k) ?? []), r.scores.fidelity ?? 0]);
    }
    for (const [k, v] of kinds) byKind[k] = v.reduce((a, b) => a + b, 0) / v.length;
    return {
      scores: { fidelity: fid.overall, judge, generic_rate: fid.genericRate },
      breakdown: {
        'fidelity by dimension': Object.fromEntries(FIDELITY_DIMENSIONS.map((d) => [d, fid[d]])),
        'fidelity by kind of user turn': byKind,
      },
      // Fidelity and its dimensions are shares in [0, 1]; the judge rates on psycot's 0-10 rubric.
      ranges: {
        scores: { fidelity: [0, 1], judge: [0, 10], generic_rate: [0, 1] },
        breakdown: {
          'fidelity by dimension': Object.fromEntries(FIDELITY_DIMENSIONS.map((d): [string, ScoreRange] => [d, [0, 1]])),
          'fidelity by kind of user turn': Object.fromEntries(Object.keys(byKind).map((k): [string, ScoreRange] => [k, [0, 1]])),
        },
      },
    };
  },

  deviations: () => [
    "The testbed is rapo's own synthetic benchmark (docs/testbed.md): its fidelity metric is computed from the world's ground truth, not judged.",
    'Replies are greedy (temperature 0) so reruns give the same numbers.',
  ],
};

// Reward sources, summed with their weights: the testbed's local judge, a Psy-CoT format reward,
// and an LLM judge over any ChatModel (an OpenAI-compatible endpoint, a local checkpoint, or the
// testbed judge behind the same interface) with our rubric and a parsed score.
import { createChatModel, type ChatModel } from '@rapo/llm';
import { buildJudgeMessages, JudgeScoreError, parseJudgeScore, parsePsyCot, parsePsyCotLenient, PsyCotParseError } from '@rapo/psycot';
import { LocalJudge, TestbedJudgeModel, type World } from '@rapo/testbed';
import type { RewardConfig } from './config.js';
import { ConfigError } from './config.js';
import type { PromptRecord } from './data.js';

export interface RewardSource {
  name: string;
  weight: number;
  /** Scores of the responses, in [0, 1]. */
  score(items: { prompt: PromptRecord; response: string }[]): Promise<number[]>;
  /** Judge answers that could not be parsed (scored 0), so far. */
  failures(): number;
}

/**
 * 1 for a strict Psy-CoT answer; for one only the lenient parser reads, 0.5 times the share of
 * the three reasoning sections it found; 0 for an answer with no reasoning or no reply.
 */
export function formatScore(response: string): number {
  try {
    parsePsyCot(response);
    return 1;
  } catch (e) {
    if (!(e instanceof PsyCotParseError)) throw e;
  }
  try {
    const r = parsePsyCotLenient(response);
    return (0.5 * [r.perception, r.empathy, r.construction].filter((x) => x.trim()).length) / 3;
  } catch (e) {
    if (!(e instanceof PsyCotParseError)) throw e;
    return 0;
  }
}

export function makeRewardSource(r: RewardConfig, world: World | undefined, seed: number): RewardSource {
  if (r.type === 'format') {
    return { name: 'format', weight: r.weight, failures: () => 0, score: async (items) => items.map((i) => formatScore(i.response)) };
  }
  if (r.type === 'testbed-judge') {
    if (!world) throw new ConfigError('rl.rewards: "testbed-judge" needs data.source "testbed"');
    const judge = new LocalJudge({ noise: r.noise, seed, weights: { generic: r.bias } });
    return {
      name: 'testbed-judge',
      weight: r.weight,
      failures: () => 0,
      score: async (items) =>
        items.map(({ prompt, response }) => {
          const c = world.byId.get(prompt.characterId!);
          if (!c || !prompt.turn) throw new Error(`prompt ${prompt.id} is not a testbed prompt`);
          return judge.score(c, prompt.turn, response).total;
        }),
    };
  }
  let model: ChatModel;
  if (r.model === 'testbed') {
    if (!world) throw new ConfigError('rl.rewards: an llm-judge with model "testbed" needs data.source "testbed"');
    model = new TestbedJudgeModel(world, new LocalJudge({ noise: 0, seed }));
  } else {
    model = createChatModel(r.model, { apiKeyEnv: r.api_key_env, cache: r.cache, concurrency: r.concurrency });
  }
  let failed = 0;
  return {
    name: 'llm-judge',
    weight: r.weight,
    failures: () => failed,
    score: (items) =>
      Promise.all(
        items.map(async ({ prompt, response }) => {
          const messages = buildJudgeMessages({ profile: prompt.profile, message: prompt.message, response, rubric: r.rubric });
          const answer = await model.chat({ messages, temperature: 0, max_tokens: 64 });
          try {
            return parseJudgeScore(answer.choices[0]!.content) / 10;
          } catch (e) {
            if (!(e instanceof JudgeScoreError)) throw e;
            failed++;
            return 0;
          }
        }),
      ),
  };
}

/** Weighted sum of every source, with each source's scores kept for logging. */
export async function scoreAll(
  sources: RewardSource[],
  items: { prompt: PromptRecord; response: string }[],
): Promise<{ total: number[]; parts: Record<string, number[]> }> {
  const parts: Record<string, number[]> = {};
  const total = new Array<number>(items.length).fill(0);
  for (const s of sources) {
    const scores = await s.score(items);
    parts[s.name] = scores;
    scores.forEach((x, i) => (total[i]! += s.weight * x));
  }
  return { total, parts };
}

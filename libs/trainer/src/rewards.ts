// Reward sources, summed with their weights: the testbed's local judge, a Psy-CoT format reward,
// and an LLM judge over any ChatModel (an OpenAI-compatible endpoint, a local checkpoint, or the
// testbed judge behind the same interface) with our rubric and a parsed score.
//
// A judge can fail: an answer with no readable score, or a call that still fails after the
// client's retries. Such an item has no reward, and is never trained on as if it had scored 0:
// scoreAll gives it the mean reward of the scored items of its group (so its advantage is 0),
// and stops the step with a JudgeError when more than the source's max_failure_share of the
// batch failed.
import { join } from 'node:path';
import { createChatModel, LlmError, requestKey, ResponseCache, type ChatModel, type ChatRequest } from '@rapo/llm';
import { buildJudgeMessages, JudgeScoreError, parseJudgeScore, parsePsyCot, parsePsyCotLenient, PsyCotParseError } from '@rapo/psycot';
import { LocalJudge, TestbedJudgeModel, type World } from '@rapo/testbed';
import type { RewardConfig } from './config.js';
import { ConfigError } from './config.js';
import type { PromptRecord } from './data.js';

/** Why a source could not score an item. */
export interface RewardFailure {
  /** The item's index in the batch. */
  index: number;
  /** unreadable: the judge answered without a score we can read; call: the request failed after its retries. */
  kind: 'unreadable' | 'call';
  /** The judge's answer, or the error of the call. */
  detail: string;
}

export interface RewardSource {
  name: string;
  weight: number;
  /**
   * Scores of the responses, in [0, 1]; NaN for an item the source could not score, with the
   * reason pushed onto `failures` when it is given.
   */
  score(items: { prompt: PromptRecord; response: string }[], failures?: RewardFailure[]): Promise<number[]>;
  /** The run stops when more than this share of a batch could not be scored (default 0: sources that cannot fail). */
  maxFailureShare?: number;
  /** The config key of the source, for messages (e.g. rl.rewards[0]). */
  key?: string;
  /** The judge model's name, for messages. */
  model?: string;
}

/** A judge failed on too much of a batch: the step must not be trained on. */
export class JudgeError extends Error {
  override name = 'JudgeError';
}

export interface RewardSourceOptions {
  /** The run folder: an llm-judge with `cache: true` keeps its answers in <runDir>/judge-cache. */
  runDir?: string;
  /** The source's place in rl.rewards, for messages. */
  index?: number;
  /** Cache warnings (default: process warnings). */
  onWarning?: (message: string) => void;
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

/** The folder of an llm-judge's answer cache: none (other rewards, cache false, the local testbed judge), the run's judge-cache, or the configured one. */
export function judgeCacheDir(r: RewardConfig, runDir: string | undefined): string | undefined {
  if (r.type !== 'llm-judge' || r.cache === false || r.model === 'testbed') return undefined;
  if (r.cache === true) return runDir === undefined ? undefined : join(runDir, 'judge-cache');
  return r.cache;
}

export function makeRewardSource(r: RewardConfig, world: World | undefined, seed: number, options: RewardSourceOptions = {}): RewardSource {
  const key = `rl.rewards[${options.index ?? 0}]`;
  if (r.type === 'format') {
    return { name: 'format', weight: r.weight, key, score: async (items) => items.map((i) => formatScore(i.response)) };
  }
  if (r.type === 'testbed-judge') {
    if (!world) throw new ConfigError(`${key}: "testbed-judge" needs data.source "testbed"`);
    const judge = new LocalJudge({ noise: r.noise, seed, weights: { generic: r.bias } });
    return {
      name: 'testbed-judge',
      weight: r.weight,
      key,
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
    if (!world) throw new ConfigError(`${key}: an llm-judge with model "testbed" needs data.source "testbed"`);
    model = new TestbedJudgeModel(world, new LocalJudge({ noise: 0, seed }));
  } else {
    try {
      model = createChatModel(r.model, {
        concurrency: r.concurrency,
        timeoutMs: r.timeout_s * 1000,
        retry: { maxRetries: r.max_retries },
        ...(r.api_key_env ? { apiKeyEnv: r.api_key_env } : {}),
      });
    } catch (e) {
      throw new ConfigError(`${key}: ${(e as Error).message}`);
    }
  }
  // Only readable answers are kept: a resumed run asks again what failed, never what scored.
  const dir = judgeCacheDir(r, options.runDir);
  let cache: ResponseCache | undefined;
  const openCache = () => (cache ??= new ResponseCache(dir!, options.onWarning));
  const ask = async (request: ChatRequest): Promise<{ score: number } | { answer: string }> => {
    const id = dir ? requestKey({ judge: model.name, ...request }) : undefined;
    const hit = id ? openCache().get(id) : undefined;
    if (hit) {
      try {
        return { score: parseJudgeScore(hit.choices[0]?.content ?? '') / 10 };
      } catch (e) {
        if (!(e instanceof JudgeScoreError)) throw e; // a cached answer the parser no longer reads: ask again
      }
    }
    const response = await model.chat(request);
    const answer = response.choices[0]?.content ?? '';
    try {
      const score = parseJudgeScore(answer) / 10;
      if (id) openCache().put(id, { choices: response.choices, usage: response.usage, model: response.model });
      return { score };
    } catch (e) {
      if (!(e instanceof JudgeScoreError)) throw e;
      return { answer };
    }
  };
  return {
    name: 'llm-judge',
    weight: r.weight,
    key,
    model: model.name,
    maxFailureShare: r.max_failure_share,
    score: (items, failures) =>
      Promise.all(
        items.map(async ({ prompt, response }, index) => {
          const messages = buildJudgeMessages({ profile: prompt.profile, message: prompt.message, response, rubric: r.rubric });
          try {
            const got = await ask({ messages, temperature: 0, max_tokens: 64 });
            if ('score' in got) return got.score;
            failures?.push({ index, kind: 'unreadable', detail: got.answer });
          } catch (e) {
            // Retries are spent: the item has no score. Anything else (a bug, an abort) propagates.
            if (!(e instanceof LlmError)) throw e;
            failures?.push({ index, kind: 'call', detail: e.message });
          }
          return Number.NaN;
        }),
      ),
  };
}

export interface ScoredBatch {
  /**
   * Weighted sum of the sources per item. An item some source could not score gets the mean
   * total of the fully scored items of its group (0 when there are none), so its advantage is 0.
   */
  total: number[];
  /** Each source's scores of the items it could score, in item order (failed items left out). */
  parts: Record<string, number[]>;
  /** Items with no real reward (some source failed on them). */
  missing: boolean[];
  /** Judge answers that were unreadable or failed calls, over every source. */
  judgeFailures: number;
}

/** `text` on one line, cut to `max` characters. */
function shorten(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The message of a judge that failed on too much of a batch. */
function judgeFailureMessage(source: RewardSource, failures: RewardFailure[], items: number): string {
  // In batch order: the calls finish in any order.
  const ordered = [...failures].sort((a, b) => a.index - b.index);
  const unreadable = ordered.filter((f) => f.kind === 'unreadable');
  const calls = ordered.filter((f) => f.kind === 'call');
  const share = source.maxFailureShare ?? 0;
  return [
    `${source.key ?? source.name} (${source.name}${source.model ? ` ${source.model}` : ''}) could not score ${failures.length} of ${items} answers ` +
      `(${unreadable.length} unreadable, ${calls.length} failed calls), more than ${source.key ?? 'its'}.max_failure_share ${share} allows.`,
    ...(unreadable.length ? [`The first unreadable answer: ${JSON.stringify(shorten(unreadable[0]!.detail))}`] : []),
    ...(calls.length ? [`The first failed call: ${shorten(calls[0]!.detail, 300)}`] : []),
    'No update was made from these answers. Fix the judge (its address, its rubric, its model) or raise max_failure_share, then resume.',
  ].join('\n');
}

/**
 * Weighted sum of every source, with each source's scores kept for logging. Items are in groups
 * of `groupSize` consecutive items (default: the whole batch is one group). Throws a JudgeError
 * when a source failed on more than its maxFailureShare of the items.
 */
export async function scoreAll(
  sources: RewardSource[],
  items: { prompt: PromptRecord; response: string }[],
  options: { groupSize?: number } = {},
): Promise<ScoredBatch> {
  const parts: Record<string, number[]> = {};
  const total = new Array<number>(items.length).fill(0);
  const missing = new Array<boolean>(items.length).fill(false);
  let judgeFailures = 0;
  for (const s of sources) {
    const failures: RewardFailure[] = [];
    const scores = await s.score(items, failures);
    if (scores.length !== items.length) throw new Error(`reward ${s.name} returned ${scores.length} scores for ${items.length} answers`);
    const failed = scores.filter((x) => Number.isNaN(x)).length;
    judgeFailures += failed;
    if (failed > 0 && failed > (s.maxFailureShare ?? 0) * items.length) {
      throw new JudgeError(judgeFailureMessage(s, failures, items.length));
    }
    parts[s.name] = scores.filter((x) => !Number.isNaN(x));
    scores.forEach((x, i) => {
      if (Number.isNaN(x)) missing[i] = true;
      else total[i]! += s.weight * x;
    });
  }
  const size = options.groupSize ?? Math.max(1, items.length);
  for (let start = 0; start < items.length; start += size) {
    const group = total.slice(start, start + size).map((t, k) => ({ t, i: start + k }));
    const scored = group.filter(({ i }) => !missing[i]);
    const mean = scored.length ? scored.reduce((a, b) => a + b.t, 0) / scored.length : 0;
    for (const { i } of group) if (missing[i]) total[i] = mean;
  }
  return { total, parts, missing, judgeFailures };
}

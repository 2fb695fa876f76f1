// The case shape CharacterBench and CharacterEval share: the model under test, as a Character
// agent, gives one reply to a dialogue, and the judge scores that reply on one integer scale.
// Each protocol keeps its own prompts, transcript and scores; the steps they take alike live
// here, so a change to how a reply is asked for or judged reaches both.
import type { ChatMessage } from '@rapo/llm';
import { Character, PsyCotParseError, type CharacterOptions, type TurnResult } from '@rapo/psycot';
import { askJudge } from './judge.js';
import type { CaseRecord, EvalContext, Judgement } from './types.js';

/** How a case ended, for its record: ok with scores, or failed with the reason. */
export type CaseOutcome = Pick<CaseRecord, 'status' | 'judgements' | 'scores'> & { error?: string };

/** The agent that replies: the run's model, reasoning style and language, its sampling settings, lenient parsing. */
export function replyingAgent(profile: CharacterOptions['profile'], ctx: EvalContext): Character {
  return new Character({
    profile,
    model: ctx.model,
    style: ctx.reasoning,
    lang: ctx.lang,
    lenient: true,
    params: { temperature: ctx.options.temperature ?? 0.7, max_tokens: ctx.options.maxTokens ?? 1024 },
  });
}

/**
 * The agent's turn, or a failed outcome when its reply never followed the reasoning format (such
 * a reply cannot be judged). Call errors propagate, so the runner retries the case later.
 */
export async function replyOrFailure(
  agent: Character,
  input: Parameters<Character['turn']>[0],
  ctx: EvalContext,
): Promise<{ turn: TurnResult } | { failed: CaseOutcome }> {
  try {
    return { turn: await agent.turn(input, ctx.signal ? { signal: ctx.signal } : {}) };
  } catch (e) {
    if (!(e instanceof PsyCotParseError)) throw e;
    return { failed: { status: 'failed', error: `the model's reply did not follow the ${ctx.reasoning} format: ${e.message}`, judgements: [], scores: {} } };
  }
}

/**
 * The judge's score of a reply, read from its answer by `parse` (a number of the scale, or an
 * error naming what is wrong, which is shown to the judge in a re-ask), or a failed outcome when
 * no answer could be read.
 */
export async function judgeReply(
  ctx: EvalContext,
  dimension: string,
  messages: ChatMessage[],
  parse: (answer: string) => number,
): Promise<{ score: number; judgement: Judgement } | { failed: CaseOutcome }> {
  const judgement = await askJudge(ctx.judge, dimension, messages, parse, {
    attempts: ctx.judgeAttempts,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (judgement.parsed === null) {
    return {
      failed: {
        status: 'failed',
        error: `judge answer unreadable after ${judgement.raw.length} attempts: ${judgement.error}`,
        judgements: [judgement],
        scores: {},
      },
    };
  }
  return { score: judgement.parsed, judgement };
}

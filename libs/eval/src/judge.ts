// Asking a judge and reading its answer: find the JSON in prose or code fences, validate it, and
// when it does not parse, ask again with the answer and what was wrong with it, so a retried
// question differs from the first (and the response cache does not just replay the bad answer).
import type { ChatMessage, ChatModel } from '@rapo/llm';
import type { Judgement } from './types.js';

export class JudgeParseError extends Error {
  override name = 'JudgeParseError';
}

/**
 * Every top-level JSON object or array in `text`, in order: fenced code blocks first, then
 * balanced {...} / [...] spans of the prose (strings and escapes respected).
 */
export function findJson(text: string): unknown[] {
  const found: unknown[] = [];
  const tryParse = (s: string) => {
    try {
      found.push(JSON.parse(s));
      return true;
    } catch {
      return false;
    }
  };
  for (const m of text.matchAll(/```(?:json|JSON)?\s*\n?([\s\S]*?)```/g)) tryParse(m[1]!.trim());
  if (found.length) return found;
  for (let i = 0; i < text.length; i++) {
    const open = text[i];
    if (open !== '{' && open !== '[') continue;
    const end = balancedEnd(text, i);
    if (end > 0 && tryParse(text.slice(i, end + 1))) i = end;
  }
  return found;
}

/** Index of the bracket closing the one at `start`, or -1. */
function balancedEnd(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') stack.push(c === '{' ? '}' : ']');
    else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/**
 * The first JSON value in `text` that `validate` accepts (validate throws a JudgeParseError, or
 * any Error, naming what is wrong). Throws a JudgeParseError naming the problem when none does.
 */
export function parseJudgeJson<T>(text: string, validate: (v: unknown) => T): T {
  const values = findJson(text);
  if (values.length === 0) throw new JudgeParseError('no JSON object found in the answer');
  let firstError = '';
  for (const v of values) {
    try {
      return validate(v);
    } catch (e) {
      firstError ||= (e as Error).message;
    }
  }
  throw new JudgeParseError(firstError);
}

/**
 * A single number in [min, max] from a judge answer: the last number in the text that lies in the
 * range (judges tend to reason first and conclude with the score), or a JudgeParseError.
 */
export function parseScoreInRange(text: string, min: number, max: number): number {
  const numbers = [...text.matchAll(/-?\d+(?:\.\d+)?/g)].map((m) => Number(m[0]));
  if (numbers.length === 0) throw new JudgeParseError(`no number found in the answer; expected a score from ${min} to ${max}`);
  const inRange = numbers.filter((n) => n >= min && n <= max);
  if (inRange.length === 0) throw new JudgeParseError(`no number in the answer lies in [${min}, ${max}] (found ${numbers.slice(0, 5).join(', ')})`);
  return inRange[inRange.length - 1]!;
}

const REASK = (error: string) => `Your answer could not be read: ${error}. Answer again in exactly the format asked for, with nothing else.`;

/**
 * Asks `judge` (temperature 0) until `parse` accepts an answer, at most `attempts` times; each
 * re-ask shows the judge its previous answer and the parse error. Never throws for an answer
 * that does not parse: the Judgement then has parsed = null and the error. Call errors (HTTP,
 * timeouts after the client's own retries, aborts) propagate.
 */
export async function askJudge<T>(
  judge: ChatModel,
  dimension: string,
  messages: ChatMessage[],
  parse: (answer: string) => T,
  opts: { attempts: number; signal?: AbortSignal; maxTokens?: number },
): Promise<Judgement & { parsed: T | null }> {
  const raw: string[] = [];
  let conversation = messages;
  let error = '';
  for (let attempt = 0; attempt < Math.max(1, opts.attempts); attempt++) {
    const res = await judge.chat({ messages: conversation, temperature: 0, max_tokens: opts.maxTokens ?? 2048 }, { signal: opts.signal });
    const answer = res.choices[0]?.content ?? '';
    raw.push(answer);
    try {
      return { dimension, raw, parsed: parse(answer) };
    } catch (e) {
      error = (e as Error).message;
      conversation = [...conversation, { role: 'assistant', content: answer }, { role: 'user', content: REASK(error) }];
    }
  }
  return { dimension, raw, parsed: null, error };
}

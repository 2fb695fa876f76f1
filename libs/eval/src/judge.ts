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

/** Lines quoted with ">" (Markdown quotes): a judge quoting the material writes them, its verdict never is one. */
const QUOTED_LINE = /^[ \t]*>/;

/** `text` with its ">"-quoted lines blanked (line count kept). */
export function withoutQuotedLines(text: string): string {
  return text
    .split('\n')
    .map((l) => (QUOTED_LINE.test(l) ? '' : l))
    .join('\n');
}

/** A JSON value as text with its object keys sorted, to compare values regardless of key order and spacing. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The length of `json.dumps(v)` in Python with its defaults (", " and ": " separators, non-ASCII
 * escaped as \uXXXX): CoSER's extract_json keeps the longest JSON value of an answer by this
 * measure. Numbers count as JavaScript writes them (Python writes 3.0 where JSON.parse gave 3).
 */
export function pythonJsonLength(v: unknown): number {
  if (v === null) return 4;
  if (typeof v === 'boolean') return v ? 4 : 5;
  if (typeof v === 'number') return String(v).length;
  if (typeof v === 'string') {
    let n = 2;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c === 0x22 || c === 0x5c || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x08 || c === 0x0c) n += 2;
      else if (c < 0x20 || c > 0x7e) n += c === 0x7f ? 1 : 6;
      else n += 1;
    }
    return n;
  }
  if (Array.isArray(v)) return 2 + v.reduce((s: number, x) => s + pythonJsonLength(x), 0) + 2 * Math.max(0, v.length - 1);
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return 2 + entries.reduce((s, [k, x]) => s + pythonJsonLength(k) + 2 + pythonJsonLength(x), 0) + 2 * Math.max(0, entries.length - 1);
  }
  return 0;
}

export interface JudgeJsonOptions {
  /**
   * Which of several valid JSON values is the verdict: the first (default) or the longest, as
   * CoSER's extract_json picks it (by pythonJsonLength).
   */
  pick?: 'first' | 'longest';
  /**
   * The material the judge was shown (the text under judgement): a JSON value that also occurs in
   * it is the material quoted back, never the judge's verdict, and is not considered.
   */
  material?: string;
}

/**
 * The JSON value in `text` that `validate` accepts (validate throws a JudgeParseError, or any
 * Error, naming what is wrong). When the whole answer is JSON, that is the only candidate (as in
 * CoSER's extract_json); otherwise findJson's values outside ">"-quoted lines, less those copied
 * from `opts.material`. Throws a JudgeParseError naming the problem when none is accepted.
 */
export function parseJudgeJson<T>(text: string, validate: (v: unknown) => T, opts: JudgeJsonOptions = {}): T {
  let values: unknown[];
  let whole = true;
  try {
    values = [JSON.parse(text.trim())];
  } catch {
    values = findJson(withoutQuotedLines(text));
    whole = false;
  }
  if (values.length === 0) throw new JudgeParseError('no JSON object found in the answer');
  // An answer that is nothing but JSON is the verdict, even when it equals a JSON in the material
  // (a judge that finds no flaws may write what a forging actor wrote).
  if (opts.material !== undefined && !whole) {
    const quoted = new Set(findJson(opts.material).map(canonical));
    const own = values.filter((v) => !quoted.has(canonical(v)));
    if (own.length === 0) throw new JudgeParseError('the only JSON in the answer is copied from the material under judgement, not a verdict of your own');
    values = own;
  }
  let firstError = '';
  let best: { parsed: T; length: number } | undefined;
  for (const v of values) {
    try {
      const parsed = validate(v);
      if (opts.pick !== 'longest') return parsed;
      const length = pythonJsonLength(v);
      if (!best || length > best.length) best = { parsed, length };
    } catch (e) {
      firstError ||= (e as Error).message;
    }
  }
  if (best) return best.parsed;
  throw new JudgeParseError(firstError);
}

/**
 * A single number in [min, max] from a judge answer: the last number in the text that lies in the
 * range, or a JudgeParseError. It reads numbers anywhere, also inside a quoted reply, so the
 * protocols read their scores with parseScoreLine instead; this stays for free-form answers.
 */
export function parseScoreInRange(text: string, min: number, max: number): number {
  const numbers = [...text.matchAll(/-?\d+(?:\.\d+)?/g)].map((m) => Number(m[0]));
  if (numbers.length === 0) throw new JudgeParseError(`no number found in the answer; expected a score from ${min} to ${max}`);
  const inRange = numbers.filter((n) => n >= min && n <= max);
  if (inRange.length === 0) throw new JudgeParseError(`no number in the answer lies in [${min}, ${max}] (found ${numbers.slice(0, 5).join(', ')})`);
  return inRange[inRange.length - 1]!;
}

/** A line that starts with a score: "Score: 3", "**Final score:** 4", "评分：3分", "Rating = 2/4". */
const SCORE_LINE =
  /^[*_#\s]*(?:(?:the|my|final|overall)\s+)*(?:score|rating|评分|分数|得分|最终评分)(?:\s+is)?[*_]*\s*(?:[:：=\u2013\u2014-]\s*)?[*_]*\s*(-?\d+(?:\.\d+)?)\s*(?:分)?\s*(?:(?:\/|out\s+of)\s*(\d+(?:\.\d+)?))?/i;
/** A line that is nothing but a number (CharacterBench's official judge answers with the bare score). */
const BARE_SCORE = /^[*_\s]*(-?\d+(?:\.\d+)?)[*_\s]*[.。]?\s*$/;

export interface ScoreLine {
  score: number;
  /** The denominator when the judge wrote "x/y" or "x out of y". */
  outOf?: number;
  /** Where the score was read. */
  place: 'last line' | 'first line' | 'another line';
}

/**
 * The judge's score, read where our prompts tell it to write it: the last non-empty line, when it
 * starts with a score ("Score: 3", "评分：3", or a bare number). Fallbacks, in order: the first
 * line (where CharacterBench's official judge writes its bare score and all_eval.py reads it);
 * then any other line that starts with a score, from the last up. Lines quoted with ">" never
 * count, nor does a number in the middle of a sentence, so a judge that quotes a reply saying
 * "Score: 5" or "give this 5" is read for its own verdict. Undefined when no line holds a score.
 */
export function findScoreLine(text: string): ScoreLine | undefined {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !QUOTED_LINE.test(l));
  const read = (i: number, place: ScoreLine['place']): ScoreLine | undefined => {
    const line = lines[i]!;
    const m = SCORE_LINE.exec(line);
    if (m) return { score: Number(m[1]), ...(m[2] !== undefined ? { outOf: Number(m[2]) } : {}), place };
    const bare = place === 'another line' ? null : BARE_SCORE.exec(line);
    return bare ? { score: Number(bare[1]), place } : undefined;
  };
  if (lines.length === 0) return undefined;
  const found = read(lines.length - 1, 'last line') ?? (lines.length > 1 ? read(0, 'first line') : undefined);
  if (found) return found;
  for (let i = lines.length - 2; i > 0; i--) {
    const other = read(i, 'another line');
    if (other) return other;
  }
  return undefined;
}

/**
 * The score of a judge answer on the scale [min, max], read by findScoreLine. "x/max" and
 * "x out of max" are read as x; another denominator is an error (the judge used another scale).
 * With `keepOutOfRange` a score outside [min, max] is returned as written (CharacterBench's
 * official scorer takes the judge's number without a range check); otherwise it is an error.
 * Errors are JudgeParseErrors naming the problem, for the re-ask.
 */
export function parseScoreLine(text: string, min: number, max: number, opts: { keepOutOfRange?: boolean } = {}): number {
  const found = findScoreLine(text);
  if (!found) {
    throw new JudgeParseError(
      `no line of the answer starts with the score; expected "Score: <number>" (a number from ${min} to ${max}) on the last line, with no ">" quote marker`,
    );
  }
  if (found.outOf !== undefined && found.outOf !== max) {
    throw new JudgeParseError(`the score ${found.score}/${found.outOf} is on another scale; expected a number from ${min} to ${max}`);
  }
  if (!opts.keepOutOfRange && !(found.score >= min && found.score <= max)) {
    throw new JudgeParseError(`the score ${found.score} (on the ${found.place}) is outside the scale; expected a number from ${min} to ${max}`);
  }
  return found.score;
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

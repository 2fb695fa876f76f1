// The Psy-CoT output format and its parser:
//
//   <think>
//   <perception>...</perception>
//   <empathy>...</empathy>
//   <construction>...</construction>
//   </think>
//   the in-character reply
//
// parsePsyCot() is strict and throws PsyCotParseError with a code for each way an answer can
// be wrong; parsePsyCotLenient() recovers what it can and lists what it repaired. Neither
// throws anything else, whatever the input (property-tested).
import type { ReasoningStyle } from './prompts.js';

export const SECTIONS = ['perception', 'empathy', 'construction'] as const;
export type Section = (typeof SECTIONS)[number];

export interface PsyCotOutput {
  perception: string;
  empathy: string;
  construction: string;
  reply: string;
}

export type ParseErrorCode =
  | 'missing-think' // no <think> block
  | 'text-outside' // text before <think> or between sections
  | 'unclosed-tag' // a tag opened and not closed (or closed by the wrong tag)
  | 'missing-section'
  | 'duplicate-section'
  | 'out-of-order'
  | 'empty-section'
  | 'empty-reply'
  | 'malformed-tag' // <Perception>, < empathy >: a tag not written exactly
  | 'tag-in-reply'; // a reasoning tag after </think>

export class PsyCotParseError extends Error {
  override name = 'PsyCotParseError';
  constructor(
    readonly code: ParseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Token {
  name: 'think' | Section;
  close: boolean;
  start: number;
  end: number;
  exact: boolean;
  raw: string;
}

/** A Psy-CoT tag as the parser reads it (exact or malformed, opening or closing); global. */
export const TAG_RE = /<\s*(\/?)\s*(think|perception|empathy|construction)\s*>/gi;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(TAG_RE)) {
    const name = m[2]!.toLowerCase() as Token['name'];
    const close = m[1] === '/';
    out.push({ name, close, start: m.index!, end: m.index! + m[0].length, exact: m[0] === `<${close ? '/' : ''}${name}>`, raw: m[0] });
  }
  return out;
}

/** True when `text` contains something the parser reads as a tag. */
export function containsTag(text: string): boolean {
  TAG_RE.lastIndex = 0;
  return new RegExp(TAG_RE.source, 'i').test(text);
}

const fail = (code: ParseErrorCode, message: string): never => {
  throw new PsyCotParseError(code, message);
};

const preview = (s: string) => JSON.stringify(s.trim().length > 40 ? `${s.trim().slice(0, 40)}…` : s.trim());

/** Parses a Psy-CoT answer exactly; throws PsyCotParseError naming the first problem. */
export function parsePsyCot(text: string): PsyCotOutput {
  if (typeof text !== 'string') fail('missing-think', `Expected the answer as a string but received ${typeof text}`);
  const tokens = tokenize(text);
  const bad = tokens.find((t) => !t.exact);
  if (bad) fail('malformed-tag', `Tag ${bad.raw} must be written exactly as <${bad.close ? '/' : ''}${bad.name}>`);
  const first = tokens[0];
  if (!first || first.name !== 'think' || first.close) {
    if (!tokens.some((t) => t.name === 'think'))
      fail('missing-think', 'The answer has no <think> block: the three sections must be inside <think> and </think>, before the reply');
    fail('text-outside', `${first!.raw} appears before <think>`);
  }
  if (text.slice(0, first!.start).trim()) fail('text-outside', `Text before <think>: ${preview(text.slice(0, first!.start))}`);
  const seen = new Map<Section, string>();
  let open: Token | undefined;
  let cursor = first!.end;
  let closed: Token | undefined;
  for (const tok of tokens.slice(1)) {
    if (tok.name === 'think') {
      if (!tok.close) fail('duplicate-section', 'A second <think> opens inside the first');
      if (open) fail('unclosed-tag', `<${open.name}> is not closed before </think>`);
      if (text.slice(cursor, tok.start).trim()) fail('text-outside', `Text inside <think> outside any section: ${preview(text.slice(cursor, tok.start))}`);
      closed = tok;
      break;
    }
    if (!tok.close) {
      if (open) fail('unclosed-tag', `<${open.name}> is not closed before <${tok.name}>`);
      if (text.slice(cursor, tok.start).trim()) fail('text-outside', `Text inside <think> outside any section: ${preview(text.slice(cursor, tok.start))}`);
      if (seen.has(tok.name)) fail('duplicate-section', `<${tok.name}> appears twice`);
      const expected = SECTIONS[seen.size]!;
      if (tok.name !== expected) fail('out-of-order', `<${tok.name}> comes where <${expected}> should (the order is perception, empathy, construction)`);
      open = tok;
      cursor = tok.end;
    } else {
      if (!open) fail('unclosed-tag', `</${tok.name}> closes a section that was not opened`);
      if (tok.name !== open!.name) fail('unclosed-tag', `<${open!.name}> is closed by </${tok.name}>`);
      const content = text.slice(open!.end, tok.start).trim();
      if (!content) fail('empty-section', `<${tok.name}> is empty`);
      seen.set(tok.name, content);
      open = undefined;
      cursor = tok.end;
    }
  }
  if (!closed) fail('unclosed-tag', open ? `<${open.name}> is never closed, and neither is <think>` : '<think> is never closed');
  const missing = SECTIONS.filter((s) => !seen.has(s));
  if (missing.length) fail('missing-section', `Missing ${missing.map((s) => `<${s}>`).join(', ')}`);
  const after = tokens.find((t) => t.start >= closed!.end);
  if (after) fail('tag-in-reply', `${after.raw} appears in the reply, after </think>`);
  const reply = text.slice(closed!.end).trim();
  if (!reply) fail('empty-reply', 'There is no reply after </think>');
  return { perception: seen.get('perception')!, empathy: seen.get('empathy')!, construction: seen.get('construction')!, reply };
}

export interface LenientResult extends PsyCotOutput {
  /** What was wrong and how it was read, one sentence each; empty for a well-formed answer. */
  repairs: string[];
}

/**
 * Reads as much of a Psy-CoT answer as can be recovered: tag case and spacing, a missing
 * <think> or </think>, unclosed sections, duplicates (the first is kept), any order, missing
 * sections (left empty), and a reply before the block. Throws PsyCotParseError only when no
 * reply can be found.
 */
export function parsePsyCotLenient(text: string): LenientResult {
  if (typeof text !== 'string') fail('empty-reply', `Expected the answer as a string but received ${typeof text}`);
  try {
    return { ...parsePsyCot(text), repairs: [] };
  } catch (e) {
    if (!(e instanceof PsyCotParseError)) throw e;
  }
  const repairs: string[] = [];
  const tokens = tokenize(text);
  if (tokens.some((t) => !t.exact)) repairs.push('read tags written in another case or with spaces');
  if (tokens.length === 0) {
    const reply = text.trim();
    if (!reply) fail('empty-reply', 'The answer is empty');
    return { perception: '', empathy: '', construction: '', reply, repairs: ['no reasoning block: the whole answer is taken as the reply'] };
  }
  const out: PsyCotOutput = { perception: '', empathy: '', construction: '', reply: '' };
  const kept: Token[] = []; // the opening tag of each section read, in section order
  for (const section of SECTIONS) {
    const opens = tokens.filter((t) => t.name === section && !t.close);
    if (opens.length === 0) {
      repairs.push(`<${section}> is missing: left empty`);
      continue;
    }
    if (opens.length > 1) repairs.push(`<${section}> appears ${opens.length} times: kept the first`);
    const o = opens[0]!;
    // The section ends at its own closing tag, or else at the next tag of any kind.
    const next = tokens[tokens.indexOf(o) + 1];
    if (!(next && next.name === section && next.close)) {
      repairs.push(`<${section}> is not closed: it ends at ${next ? next.raw : 'the end of the answer'}`);
    }
    out[section] = text.slice(o.end, next ? next.start : text.length).trim();
    if (!out[section]) repairs.push(`<${section}> is empty`);
    kept.push(o);
  }
  if (kept.some((t, i) => i > 0 && t.start < kept[i - 1]!.start)) repairs.push('the sections were out of order');
  if (!tokens.some((t) => t.name === 'think' && !t.close)) repairs.push('<think> is missing');
  if (!tokens.some((t) => t.name === 'think' && t.close)) repairs.push('</think> is missing');
  // The reply is what follows the last tag when that tag closes something; otherwise what
  // precedes the first tag.
  const last = tokens[tokens.length - 1]!;
  const after = last.close ? text.slice(last.end).trim() : '';
  const before = text.slice(0, tokens[0]!.start).trim();
  if (after) {
    out.reply = after;
    if (before) repairs.push(`dropped text before the reasoning: ${preview(before)}`);
  } else if (before) {
    out.reply = before;
    repairs.push('the reply came before the reasoning');
  } else {
    fail('empty-reply', 'No reply could be found outside the reasoning');
  }
  // Text between tags that is neither a kept section nor the reply is dropped; say so.
  const dropped = tokens.slice(0, -1).some((t, i) => !kept.includes(t) && text.slice(t.end, tokens[i + 1]!.start).trim() !== '');
  if (dropped) repairs.push('dropped text outside the sections');
  return { ...out, repairs };
}

/** The canonical text of a Psy-CoT answer. */
export function formatPsyCot(o: PsyCotOutput): string {
  return `<think>\n<perception>${o.perception}</perception>\n<empathy>${o.empathy}</empathy>\n<construction>${o.construction}</construction>\n</think>\n${o.reply}`;
}

export interface GenericCot {
  reasoning: string;
  reply: string;
}

/** `<think>free reasoning</think> reply` (the generic-cot style), strictly. */
export function parseGenericCot(text: string): GenericCot {
  const m = /^\s*<think>([\s\S]*?)<\/think>([\s\S]*)$/.exec(text);
  if (!m) {
    if (!/<think>/.test(text)) fail('missing-think', 'The answer has no <think> block before the reply');
    if (text.slice(0, text.indexOf('<think>')).trim()) fail('text-outside', `Text before <think>: ${preview(text.slice(0, text.indexOf('<think>')))}`);
    fail('unclosed-tag', '<think> is never closed');
  }
  const reasoning = m![1]!.trim();
  const reply = m![2]!.trim();
  if (!reasoning) fail('empty-section', '<think> is empty');
  if (!reply) fail('empty-reply', 'There is no reply after </think>');
  return { reasoning, reply };
}

/**
 * The reply alone, as another agent or a judge should see it:
 *   none             the text
 *   generic-cot      without the <think> block (nothing, if <think> is never closed)
 *   psy-cot          the reply of the lenient parse ("" when none can be found)
 *   inner-monologue  without [bracketed thoughts]
 */
export function stripReasoning(text: string, style: ReasoningStyle): string {
  switch (style) {
    case 'none':
      return text.trim();
    case 'generic-cot': {
      const open = text.search(/<think>/i);
      if (open < 0) return text.trim();
      const close = text.toLowerCase().lastIndexOf('</think>');
      if (close < open) return text.slice(0, open).trim();
      return `${text.slice(0, open)}${text.slice(close + '</think>'.length)}`.trim();
    }
    case 'psy-cot':
      try {
        return parsePsyCotLenient(text).reply;
      } catch (e) {
        if (e instanceof PsyCotParseError) return '';
        throw e;
      }
    case 'inner-monologue':
      return text
        .replace(/\[[^\]]*\]/g, ' ')
        .replace(/[ \t]{2,}/g, ' ')
        .replace(/ *\n */g, '\n')
        .trim();
    default:
      throw new TypeError(`Expected a reasoning style for style but received ${JSON.stringify(style)}`);
  }
}

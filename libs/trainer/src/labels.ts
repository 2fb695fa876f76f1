// Token labels of testbed answers: which tokens spell the character's own facts, voice and
// traits (role-specific), which are generic empathy boilerplate, and which stand in the reply
// rather than the reasoning. The PMI-signal measurement and RAPO's oracle score read them.
import { FACT_ATTRIBUTES, GENERIC_CORES, factValue, phraseRegex, styleOf, traitOf, type Character } from '@rapo/testbed';

export type TokenLabel = 'role' | 'generic' | 'other';
export const TOKEN_LABELS: readonly TokenLabel[] = ['role', 'generic', 'other'];

export interface Span {
  start: number;
  end: number;
  label: Exclude<TokenLabel, 'other'>;
}

/** Every place the testbed's metric would find `phrase` in `text` (whole words, any case). */
function occurrences(text: string, phrase: string): [number, number][] {
  if (!phrase.trim()) return [];
  return [...text.matchAll(new RegExp(phraseRegex(phrase).source, 'giu'))].map((m) => [m.index!, m.index! + m[0].length]);
}

/**
 * Character spans of `text` that are role-specific (the character's fact values, secret, name,
 * trait names and markers, speech style name and markers) or generic (the testbed's empathy
 * boilerplate). A span found as both counts as role-specific.
 */
export function labelSpans(text: string, c: Character): Span[] {
  const role = [
    ...FACT_ATTRIBUTES.map((a) => factValue(c, a)),
    c.secret,
    c.firstName,
    c.style,
    ...styleOf(c.style).markers,
    ...c.traits,
    ...c.traits.flatMap((t) => traitOf(t).markers),
  ];
  return [
    ...role.flatMap((p) => occurrences(text, p).map(([start, end]) => ({ start, end, label: 'role' as const }))),
    ...GENERIC_CORES.flatMap((p) => occurrences(text, p).map(([start, end]) => ({ start, end, label: 'generic' as const }))),
  ];
}

/**
 * The label of each token, given the text each token decodes to (concatenated they are the
 * text the spans index). A token takes the label of a span it overlaps by at least one
 * non-space character; role wins over generic.
 */
export function tokenLabels(pieces: readonly string[], spans: readonly Span[]): TokenLabel[] {
  let at = 0;
  return pieces.map((piece) => {
    const start = at;
    at += piece.length;
    // Leading spaces belong to the word that follows; do not let them touch the previous span.
    const lead = piece.length - piece.trimStart().length;
    const s = start + lead;
    if (s >= at) return 'other';
    const hit = spans.filter((x) => x.start < at && x.end > s);
    return hit.some((x) => x.label === 'role') ? 'role' : hit.length ? 'generic' : 'other';
  });
}

/** Per token: whether it starts in the reply (after the closing think tag; all of it without one). */
export function replyMask(pieces: readonly string[], text: string): boolean[] {
  const close = text.indexOf('</think>');
  const replyStart = close < 0 ? 0 : close + '</think>'.length;
  let at = 0;
  return pieces.map((p) => {
    const inReply = at >= replyStart;
    at += p.length;
    return inReply;
  });
}

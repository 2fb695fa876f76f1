// ROUGE-L F-measure at summary level (Lin 2004, section 3.2; the "rougeLsum" of Google's
// rouge-score): the texts are split into sentences, and for each reference sentence the union of
// its tokens that lie on a longest common subsequence with ANY hypothesis sentence is counted.
// Each token is counted at most as often as it occurs in both texts (clipping, as rouge-score
// does). Then R = hits / reference tokens, P = hits / hypothesis tokens, F = 2PR / (P + R)
// (0 when P + R = 0). Tokens: words only, punctuation dropped (tokenize.ts); sentences:
// splitSentences (tokenize.ts).
import { splitSentences, tokenize } from './tokenize.js';

export interface RougeResult {
  precision: number;
  recall: number;
  /** F-measure with beta = 1, in [0, 1]. */
  f: number;
}

/** Indices (into `a`) of one longest common subsequence of `a` and `b` (standard DP table, backtracked). */
export function lcsIndices(a: readonly string[], b: readonly string[]): number[] {
  const m = a.length;
  const n = b.length;
  // table[i][j] = LCS length of a[0..i) and b[0..j), stored flat.
  const table = new Uint32Array((m + 1) * (n + 1));
  const at = (i: number, j: number) => i * (n + 1) + j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      table[at(i, j)] = a[i - 1] === b[j - 1] ? table[at(i - 1, j - 1)]! + 1 : Math.max(table[at(i - 1, j)]!, table[at(i, j - 1)]!);
    }
  }
  const indices: number[] = [];
  let i = m;
  let j = n;
  while (i > 0 && j > 0) {
    if (a[i - 1] === b[j - 1]) {
      indices.push(i - 1);
      i--;
      j--;
    } else if (table[at(i - 1, j)]! >= table[at(i, j - 1)]!) i--;
    else j--;
  }
  return indices.reverse();
}

/** The tokens of `reference` on an LCS with some sentence of `hypotheses` (the union of their positions), in order. */
export function unionLcs(reference: readonly string[], hypotheses: readonly (readonly string[])[]): string[] {
  const union = new Set<number>();
  for (const h of hypotheses) for (const i of lcsIndices(reference, h)) union.add(i);
  return [...union].sort((x, y) => x - y).map((i) => reference[i]!);
}

function counts(sentences: readonly (readonly string[])[]): Map<string, number> {
  const c = new Map<string, number>();
  for (const s of sentences) for (const t of s) c.set(t, (c.get(t) ?? 0) + 1);
  return c;
}

/** Summary-level ROUGE-L of tokenized sentences. */
export function rougeLSentences(reference: readonly (readonly string[])[], hypothesis: readonly (readonly string[])[]): RougeResult {
  const m = reference.reduce((s, r) => s + r.length, 0);
  const n = hypothesis.reduce((s, h) => s + h.length, 0);
  if (m === 0 || n === 0) return { precision: 0, recall: 0, f: 0 };
  const refLeft = counts(reference);
  const hypLeft = counts(hypothesis);
  let hits = 0;
  for (const r of reference) {
    for (const t of unionLcs(r, hypothesis)) {
      if ((refLeft.get(t) ?? 0) > 0 && (hypLeft.get(t) ?? 0) > 0) {
        hits++;
        refLeft.set(t, refLeft.get(t)! - 1);
        hypLeft.set(t, hypLeft.get(t)! - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  const f = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f };
}

/** Summary-level ROUGE-L of two texts (sentences split and words tokenized as in tokenize.ts). */
export function rougeL(reference: string, hypothesis: string): RougeResult {
  const sentences = (text: string) =>
    splitSentences(text)
      .map((s) => tokenize(s, { punctuation: false }))
      .filter((s) => s.length > 0);
  return rougeLSentences(sentences(reference), sentences(hypothesis));
}

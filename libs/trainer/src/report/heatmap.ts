// The per-token heatmap of sample responses: each decoded token is a <span> whose background maps
// its role-specificity score from blue (-1) through white (0) to red (+1), with a tooltip giving
// the token, its score and its PMI. Whitespace is kept as written (the container is pre-wrap).
// A character whose bytes span several tokens is written to samples.jsonl on the last of them,
// the others empty (tokenTexts): those tokens are drawn as one span, coloured by their mean score.
import { escapeHtml, formatNumber, formatSigned } from '@rapo/report';
import type { SampleRow } from './types.js';

type Rgb = readonly [number, number, number];

/** The colours at s = -1, 0 and +1; scores in between are interpolated linearly. */
export const SCORE_COLORS: { negative: Rgb; neutral: Rgb; positive: Rgb } = {
  negative: [33, 102, 172],
  neutral: [255, 255, 255],
  positive: [178, 24, 43],
};

const rgb = (c: Rgb) => `rgb(${c[0]},${c[1]},${c[2]})`;

/** The background for a score, clamped to [-1, 1]; undefined for NaN or a missing score. */
export function scoreColor(score: number | undefined): string | undefined {
  if (score === undefined || !Number.isFinite(score)) return undefined;
  const s = Math.max(-1, Math.min(1, score));
  const end = s < 0 ? SCORE_COLORS.negative : SCORE_COLORS.positive;
  const t = Math.abs(s);
  const mix = SCORE_COLORS.neutral.map((w, i) => Math.round(w + (end[i]! - w) * t)) as unknown as Rgb;
  return rgb(mix);
}

/** A value of the span's tokens: the one, or the mean of several followed by each in brackets. */
function spanValue(values: readonly (number | undefined)[]): { value: number | undefined; text: string } {
  const value = values.length === 1 ? values[0] : mean(values.filter((v): v is number => v !== undefined));
  if (value === undefined) return { value, text: 'n/a' };
  const each = values.length > 1 ? ` (${values.map((v) => (v === undefined ? 'n/a' : formatSigned(v))).join(', ')})` : '';
  return { value, text: formatSigned(value) + each };
}

/**
 * The tokens drawn as one span each, as [first, end) index ranges: a run of empty tokens goes with
 * the token that ends it (the tokens of one character); empty tokens at the end stay alone.
 */
function tokenSpans(tokens: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === '' && i < tokens.length - 1) continue;
    spans.push([start, i + 1]);
    start = i + 1;
  }
  return spans;
}

function tokenSpan(tokens: readonly string[], scores: readonly (number | undefined)[], pmis: readonly (number | undefined)[] | undefined): string {
  const token = tokens.join('');
  const s = spanValue(scores);
  const p = pmis && pmis.some((v) => v !== undefined) ? spanValue(pmis) : undefined;
  const score = s.value;
  const tip =
    `${JSON.stringify(token)}${tokens.length > 1 ? ` · ${tokens.length} tokens` : ''} · s ${s.text}` + (p === undefined ? '' : ` · PMI ${p.text} nats`);
  const background = scoreColor(score);
  // Strong colours get white text so the token stays readable.
  const style = background ? ` style="background:${background}${Math.abs(score!) >= 0.6 ? ';color:#fff' : ''}"` : '';
  return `<span class="tok"${style} title="${escapeHtml(tip)}">${escapeHtml(token)}</span>`;
}

const mean = (values: readonly number[]): number | undefined => {
  const ok = values.filter(Number.isFinite);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : undefined;
};

/** One sample: a header with step, reward and advantage, the collapsed prompt, the coloured response. */
export function renderSample(sample: SampleRow, index: number): string {
  const { tokens, score } = sample;
  const scored = tokens !== undefined && tokens.length > 0 && score !== undefined && score.length > 0;
  // Steps counted from 1, as on the console and in the plots (samples.jsonl counts from 0).
  const facts = [`step ${formatNumber(sample.step + 1, 6)}`];
  if (typeof sample.reward === 'number') facts.push(`reward ${formatNumber(sample.reward)}`);
  if (typeof sample.advantage === 'number') facts.push(`advantage ${formatSigned(sample.advantage)}`);
  const meanScore = scored ? mean(score) : undefined;
  if (meanScore !== undefined) facts.push(`mean s ${formatSigned(meanScore)} over ${tokens!.length} tokens`);
  const body = scored
    ? `<div class="tokens">${tokenSpans(tokens)
        .map(([a, b]) => tokenSpan(tokens.slice(a, b), score.slice(a, b), sample.pmi?.slice(a, b)))
        .join('')}</div>`
    : `<div class="tokens plain">${escapeHtml(sample.response)}</div>`;
  return (
    `<article class="sample"><h3>Sample ${index + 1} <span class="meta">${escapeHtml(facts.join(' · '))}</span></h3>` +
    `<details><summary>Prompt</summary><pre>${escapeHtml(sample.prompt)}</pre></details>${body}</article>`
  );
}

/** The colour legend: a gradient from -1 to +1 with its meaning. */
export function scoreLegend(): string {
  const { negative, neutral, positive } = SCORE_COLORS;
  return (
    '<div class="scale"><span>−1</span>' +
    `<span class="ramp" style="background:linear-gradient(to right,${rgb(negative)},${rgb(neutral)},${rgb(positive)})"></span>` +
    '<span>+1</span><span class="hint">red: explained by the character profile · white: generic · blue: less likely given the profile.' +
    ' Hover a token for its score and PMI.</span></div>'
  );
}

/** All samples with the legend on top; empty when there are none. */
export function renderSamples(samples: readonly SampleRow[]): string {
  if (!samples.length) return '';
  const anyScored = samples.some((s) => s.tokens?.length && s.score?.length);
  return (anyScored ? scoreLegend() : '') + samples.map(renderSample).join('');
}

// The per-token heatmap of sample responses: each decoded token is a <span> whose background maps
// its role-specificity score from blue (-1) through white (0) to red (+1), with a tooltip giving
// the token, its score and its PMI. Whitespace is kept as written (the container is pre-wrap).
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

function tokenSpan(token: string, score: number | undefined, pmi: number | undefined): string {
  const tip =
    `${JSON.stringify(token)} · s ${score === undefined ? 'n/a' : formatSigned(score)}` + (pmi === undefined ? '' : ` · PMI ${formatSigned(pmi)} nats`);
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
  const facts = [`step ${formatNumber(sample.step, 6)}`];
  if (typeof sample.reward === 'number') facts.push(`reward ${formatNumber(sample.reward)}`);
  if (typeof sample.advantage === 'number') facts.push(`advantage ${formatSigned(sample.advantage)}`);
  const meanScore = scored ? mean(score) : undefined;
  if (meanScore !== undefined) facts.push(`mean s ${formatSigned(meanScore)} over ${tokens!.length} tokens`);
  const body = scored
    ? `<div class="tokens">${tokens.map((t, i) => tokenSpan(t, score[i], sample.pmi?.[i])).join('')}</div>`
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

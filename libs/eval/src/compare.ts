// `rapo-eval compare`: the headline numbers of several runs side by side, as text, Markdown and
// an HTML page with bars.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart, escapeHtml as esc, htmlPage, htmlTable } from '@rapo/report';
import type { EvalResults } from './types.js';

export interface Comparison {
  runs: { dir: string; label: string; results: EvalResults }[];
  /** Every score key, in first-seen order. */
  keys: string[];
}

/** Reads results.json of each run folder; errors name the folder and the problem. */
export function loadComparison(dirs: string[]): Comparison {
  if (dirs.length === 0) throw new Error('Expected at least one run folder to compare');
  const runs = dirs.map((dir) => {
    const path = join(dir, 'results.json');
    if (!existsSync(path)) throw new Error(`${dir} has no results.json: is it a rapo-eval --out folder?`);
    let results: EvalResults;
    try {
      results = JSON.parse(readFileSync(path, 'utf8')) as EvalResults;
    } catch (e) {
      throw new Error(`${path} is not JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!results.scores || typeof results.scores !== 'object') throw new Error(`${path} has no "scores" object`);
    return { dir, label: `${results.model} (${results.reasoning})`, results };
  });
  const keys: string[] = [];
  for (const r of runs) for (const k of Object.keys(r.results.scores)) if (!keys.includes(k)) keys.push(k);
  return { runs, keys };
}

const cell = (v: number | undefined) => (v === undefined ? '—' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));

/** A Markdown table: one row per score key, one column per run, then the case counts. */
export function comparisonMarkdown(c: Comparison): string {
  const head = `| | ${c.runs.map((r) => r.label).join(' | ')} |`;
  const sep = `|---|${c.runs.map(() => '---:').join('|')}|`;
  const rows = c.keys.map((k) => `| ${k} | ${c.runs.map((r) => cell(r.results.scores[k])).join(' | ')} |`);
  const meta = [
    `| benchmark | ${c.runs.map((r) => r.results.benchmark).join(' | ')} |`,
    `| judge | ${c.runs.map((r) => r.results.judge).join(' | ')} |`,
    `| cases scored / total | ${c.runs.map((r) => `${r.results.cases.ok} / ${r.results.cases.total}${r.results.complete ? '' : ' (incomplete)'}`).join(' | ')} |`,
    `| folder | ${c.runs.map((r) => r.dir).join(' | ')} |`,
  ];
  const mixed =
    new Set(c.runs.map((r) => r.results.benchmark)).size > 1 ? '\nNote: these runs are of different benchmarks; only keys they share are comparable.\n' : '';
  return [head, sep, ...rows, ...meta].join('\n') + '\n' + mixed;
}

/** An HTML page: the table and, per key, bars of every run. */
export function comparisonHtml(c: Comparison): string {
  const table = htmlTable({
    head: ['', ...c.runs.map((r) => esc(r.label))],
    rows: c.keys.map((k) => [esc(k), ...c.runs.map((r) => ({ html: cell(r.results.scores[k]), class: 'num' }))]),
  });
  const charts = c.keys
    .map((k) => {
      const values = Object.fromEntries(c.runs.filter((r) => r.results.scores[k] !== undefined).map((r) => [r.label, r.results.scores[k]!]));
      // On the key's own scale (a 0-10 judge score, a 1-5 rubric) when a run's protocol gives one.
      const range = c.runs.map((r) => r.results.ranges?.scores?.[k]).find((x) => x !== undefined);
      return `<h3>${esc(k)}</h3>${barChart(values, range)}`;
    })
    .join('');
  return htmlPage({
    title: 'rapo-eval compare',
    css: 'body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}td.num{text-align:right}',
    body: `<h1>rapo-eval: ${c.runs.length} runs</h1>${table}${charts}`,
  });
}

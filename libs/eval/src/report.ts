// report.html: one self-contained page per run (no scripts, no external files): the headline
// numbers as a table and bars, the breakdowns, the case counts, the failures with their reasons,
// the deviations from the official protocol, the models and usage, and a sample of transcripts.
import type { CaseRecord, EvalResults } from './types.js';

/** Text made safe inside HTML elements and quoted attributes (both quote kinds). */
export const escapeHtml = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const esc = escapeHtml;
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

/** Horizontal bars for a set of numbers; the scale is the largest value (or `max`). */
export function barChart(values: Record<string, number>, max?: number): string {
  const entries = Object.entries(values).filter(([, v]) => Number.isFinite(v));
  if (!entries.length) return '';
  const top = max ?? Math.max(...entries.map(([, v]) => Math.abs(v)), 1e-9);
  const row = 22;
  const labelW = 220;
  const barW = 360;
  const rows = entries.map(([k, v], i) => {
    const w = Math.max(0, Math.min(1, Math.abs(v) / top)) * barW;
    const y = i * row;
    return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(k)}</text><rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="#4b7bd1"/><text x="${labelW + w + 6}" y="${y + 15}">${fmt(v)}</text>`;
  });
  return `<svg class="bars" width="${labelW + barW + 80}" height="${entries.length * row}" font-size="12" font-family="sans-serif">${rows.join('')}</svg>`;
}

function table(values: Record<string, number>): string {
  return `<table><tr><th>key</th><th>value</th></tr>${Object.entries(values)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${fmt(v)}</td></tr>`)
    .join('')}</table>`;
}

function caseHtml(r: CaseRecord): string {
  const lines = r.transcript
    .map((t) => `<div class="line ${esc(t.role)}"><b>${esc(t.speaker)}</b>: ${esc(t.content)}${t.raw ? `<details><summary>raw</summary><pre>${esc(t.raw)}</pre></details>` : ''}</div>`)
    .join('');
  const judged = r.judgements
    .map((j) => `<details><summary>judge: ${esc(j.dimension)}${j.parsed === null ? ' (unreadable)' : ''}</summary>${j.raw.map((a) => `<pre>${esc(a)}</pre>`).join('')}${j.error ? `<p class="err">${esc(j.error)}</p>` : ''}</details>`)
    .join('');
  const scores = Object.entries(r.scores)
    .map(([k, v]) => `${esc(k)} ${fmt(v)}`)
    .join(', ');
  return `<details class="case"><summary>${esc(r.id)} — ${r.status === 'ok' ? esc(scores) : `<span class="err">failed: ${esc(r.error ?? '')}</span>`}</summary>${lines}${judged}</details>`;
}

/** The report page for a run. Shows up to `maxCases` transcripts (the failures first). */
export function renderReport(results: EvalResults, records: CaseRecord[], maxCases = 40): string {
  const failed = records.filter((r) => r.status === 'failed');
  const shown = [...failed, ...records.filter((r) => r.status === 'ok')].slice(0, maxCases);
  const c = results.cases;
  const breakdowns = Object.entries(results.breakdown)
    .map(([name, values]) => `<h3>${esc(name)}</h3>${barChart(values)}${table(values)}`)
    .join('');
  const usage = (u: EvalResults['usage']['model']) => `${u.requests} requests (${u.cachedResponses} from the cache, ${u.retries} retries), ${u.promptTokens} prompt + ${u.completionTokens} completion tokens`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rapo-eval: ${esc(results.benchmark)} — ${esc(results.model)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1.5em; } td, th { border: 1px solid #ccc; padding: 3px 8px; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.err { color: #b00; } .warn { background: #fff4d6; padding: .5em 1em; border-left: 4px solid #e0a800; }
details.case { border-top: 1px solid #ddd; padding: 4px 0; } .line { margin: 2px 0 2px 1em; } .line.model { color: #124; } .line.environment { color: #555; font-style: italic; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 6px; }
</style></head><body>
<h1>${esc(results.benchmark)}: ${esc(results.model)}</h1>
<p>Judge <b>${esc(results.judge)}</b>; reasoning <b>${esc(results.reasoning)}</b>; language ${esc(results.lang)}; data <code>${esc(results.data)}</code>; written ${esc(results.createdAt)}.</p>
${results.complete ? '' : `<p class="warn">Incomplete: ${c.pending} of ${c.total} cases have not run${c.failed ? ` and some failed on call errors` : ''}. Rerun the same command to finish.</p>`}
<h2>Results</h2>
${barChart(results.scores)}${table(results.scores)}
<p>${c.ok} of ${c.total} cases scored; <span class="${c.failed ? 'err' : ''}">${c.failed} failed</span> (counted, not scored); ${c.pending} pending.</p>
${breakdowns ? `<h2>Breakdown</h2>${breakdowns}` : ''}
<h2>Deviations from the official protocol</h2>
<ul>${results.deviations.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>
<h2>Models</h2>
<p>Model under test: ${esc(results.model)} — ${esc(usage(results.usage.model))}.<br>Judge: ${esc(results.judge)} — ${esc(usage(results.usage.judge))}.</p>
${failed.length ? `<h2>Failed cases</h2><ul>${failed.map((r) => `<li><code>${esc(r.id)}</code>: ${esc(r.error ?? '')}</li>`).join('')}</ul>` : ''}
<h2>Cases (${shown.length} of ${records.length}; all of them are in cases.jsonl)</h2>
${shown.map(caseHtml).join('\n')}
</body></html>
`;
}

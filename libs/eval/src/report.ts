// report.html: one self-contained page per run (no scripts, no external files): the headline
// numbers as a table and bars, the breakdowns, the case counts, the failures with their reasons,
// the deviations from the official protocol, the models and usage, and a sample of transcripts.
// Bars are drawn on each number's own scale where the protocol gives one (results.ranges).
import { barChart, escapeHtml as esc, formatFixed as fmt, htmlPage, htmlTable } from '@rapo/report';
import type { CaseRecord, EvalResults } from './types.js';

function table(values: Record<string, number>): string {
  return htmlTable({ head: ['key', 'value'], rows: Object.entries(values).map(([k, v]) => [esc(k), { html: fmt(v), class: 'num' }]) });
}

function caseHtml(r: CaseRecord): string {
  const lines = r.transcript
    .map(
      (t) =>
        `<div class="line ${esc(t.role)}"><b>${esc(t.speaker)}</b>: ${esc(t.content)}${t.raw ? `<details><summary>raw</summary><pre>${esc(t.raw)}</pre></details>` : ''}</div>`,
    )
    .join('');
  const judged = r.judgements
    .map(
      (j) =>
        `<details><summary>judge: ${esc(j.dimension)}${j.parsed === null ? ' (unreadable)' : ''}</summary>${j.raw.map((a) => `<pre>${esc(a)}</pre>`).join('')}${j.error ? `<p class="err">${esc(j.error)}</p>` : ''}</details>`,
    )
    .join('');
  const returned = r.returned?.length
    ? `<details><summary>what the models returned (${r.returned.length} answer${r.returned.length === 1 ? '' : 's'}, raw)</summary>${r.returned
        .map((a) => `<p class="meta">${esc(a.role)}</p><pre>${esc(a.text)}</pre>`)
        .join('')}</details>`
    : '';
  const scores = Object.entries(r.scores)
    .map(([k, v]) => `${esc(k)} ${fmt(v)}`)
    .join(', ');
  return `<details class="case"><summary>${esc(r.id)} — ${r.status === 'ok' ? esc(scores) : `<span class="err">failed: ${esc(r.error ?? '')}</span>`}</summary>${lines}${judged}${returned}</details>`;
}

/**
 * The notice of a run with work left, or '' when none is: cases that have not run, and cases that
 * failed on a call error (they run again on the next run). Other failures are final, not pending.
 */
function incompleteNotice(c: EvalResults['cases']): string {
  const callErrors = c.failures?.['call-error'] ?? 0;
  const cases = (n: number) => `${n} case${n === 1 ? '' : 's'}`;
  const parts = [
    ...(c.pending > 0 ? [`${cases(c.pending)} ${c.pending === 1 ? 'has' : 'have'} not run`] : []),
    ...(callErrors > 0 ? [`${cases(callErrors)} failed on a call error and will run again`] : []),
  ];
  if (!parts.length) return '';
  return `<p class="warn">Incomplete: ${parts.join('; ')} (of ${cases(c.total)} in all). Rerun the same command to finish.</p>`;
}

/** The report page for a run. Shows up to `maxCases` transcripts (the failures first). */
export function renderReport(results: EvalResults, records: CaseRecord[], maxCases = 40): string {
  const failed = records.filter((r) => r.status === 'failed');
  const shown = [...failed, ...records.filter((r) => r.status === 'ok')].slice(0, maxCases);
  const c = results.cases;
  const breakdowns = Object.entries(results.breakdown)
    .map(([name, values]) => `<h3>${esc(name)}</h3>${barChart(values, results.ranges?.breakdown?.[name] ?? {})}${table(values)}`)
    .join('');
  const usage = (u: EvalResults['usage']['model']) =>
    `${u.requests} requests (${u.cachedResponses} from the cache, ${u.retries} retries), ${u.promptTokens} prompt + ${u.completionTokens} completion tokens`;
  return htmlPage({
    title: `rapo-eval: ${results.benchmark} — ${results.model}`,
    css: `body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1.5em; } td, th { border: 1px solid #ccc; padding: 3px 8px; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.err { color: #b00; } .warn { background: #fff4d6; padding: .5em 1em; border-left: 4px solid #e0a800; }
details.case { border-top: 1px solid #ddd; padding: 4px 0; } .line { margin: 2px 0 2px 1em; } .line.model { color: #124; } .line.environment { color: #555; font-style: italic; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 6px; } .meta { color: #555; margin: .4em 0 0; font-size: .9em; }
`,
    body: `<h1>${esc(results.benchmark)}: ${esc(results.model)}</h1>
<p>Judge <b>${esc(results.judge)}</b>; reasoning <b>${esc(results.reasoning)}</b>; language ${esc(results.lang)}; data <code>${esc(results.data)}</code>; written ${esc(results.createdAt)}.</p>
${incompleteNotice(c)}
<h2>Results</h2>
${barChart(results.scores, results.ranges?.scores ?? {})}${table(results.scores)}
<p>${c.ok} of ${c.total} cases scored; <span class="${c.failed ? 'err' : ''}">${c.failed} failed</span> (counted, not scored); ${c.pending} pending.</p>
${breakdowns ? `<h2>Breakdown</h2>${breakdowns}` : ''}
<h2>Deviations from the official protocol</h2>
<ul>${results.deviations.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>
<h2>Models</h2>
<p>Model under test: ${esc(results.model)} — ${esc(usage(results.usage.model))}.<br>Judge: ${esc(results.judge)} — ${esc(usage(results.usage.judge))}.</p>
${failed.length ? `<h2>Failed cases</h2><ul>${failed.map((r) => `<li><code>${esc(r.id)}</code>: ${esc(r.error ?? '')}</li>`).join('')}</ul>` : ''}
<h2>Cases (${shown.length} of ${records.length}; all of them are in cases.jsonl)</h2>
${shown.map(caseHtml).join('\n')}`,
  });
}

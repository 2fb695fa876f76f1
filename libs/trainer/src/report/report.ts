// renderReport: the self-contained report.html of a training run. One HTML5 document with inline
// CSS and inline SVG charts (no scripts, no network, readable without JavaScript); each section
// appears only when the run logged its data, and the same input always gives the same string.
import { escapeHtml, formatNumber, htmlPage, htmlTable, lineChart, PALETTE, stackedBarChart, type BandSeries, type LineSeries } from '@rapo/report';
import { renderSamples } from './heatmap.js';
import type { MetricRow, ReportInput } from './types.js';

type Getter = (row: MetricRow) => unknown;

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const isFiniteNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Whether a row was written by a training step (SFT loss, RL reward) rather than measured on the
 * model between steps (held-out evaluation, probe).
 */
function isTrainingRow(row: MetricRow): boolean {
  return row.loss !== undefined || row.reward !== undefined;
}

/**
 * The step a row is drawn at, counted from 1 as the console counts ("rl 4/10" is the 4th update).
 * metrics.jsonl keeps its own meaning (docs/trainer.md): a training row's `step` counts updates
 * from 0, so it is drawn at step + 1; an evaluation or probe row measures the model after `step`
 * updates, so it is drawn at `step`, beside the update it followed (0: before the phase's first).
 */
function displayStep(row: MetricRow): number {
  return isTrainingRow(row) ? row.step + 1 : row.step;
}

/**
 * Rows of one phase ordered by the step they are drawn at (their `step` is that display step);
 * rows drawn at one step are merged, the training row's fields winning over an evaluation's, and
 * rows of one kind, the later fields.
 */
export function phaseRows(metrics: readonly MetricRow[], phase: MetricRow['phase']): MetricRow[] {
  const byStep = new Map<number, MetricRow>();
  const mine = metrics.filter((r) => r.phase === phase);
  for (const row of [...mine.filter((r) => !isTrainingRow(r)), ...mine.filter(isTrainingRow)]) {
    const step = displayStep(row);
    byStep.set(step, { ...byStep.get(step), ...row, step });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** The number of distinct training steps of a phase (evaluation and probe rows share step numbers, and are not steps). */
function trainingSteps(metrics: readonly MetricRow[], phase: MetricRow['phase']): number {
  return new Set(metrics.filter((r) => r.phase === phase && isTrainingRow(r)).map((r) => r.step)).size;
}

/**
 * The rows a metric is drawn over. A metric logged on at least half of them is dense: a row
 * without it is a gap. A rarer one (eval-only, logged every n steps) is sparse: only the rows
 * that have it count, so its points are joined directly.
 */
function rowsFor(rows: readonly MetricRow[], get: Getter): readonly MetricRow[] {
  const present = rows.filter((r) => num(get(r)) !== undefined);
  return present.length * 2 >= rows.length ? rows : present;
}

/** A series over the rows; undefined when the metric has no finite value at all. */
function metricSeries(rows: readonly MetricRow[], name: string, get: Getter, extra: Partial<LineSeries> = {}): LineSeries | undefined {
  if (!rows.some((r) => isFiniteNum(get(r)))) return undefined;
  return { name, ...extra, points: rowsFor(rows, get).map((r) => [r.step, num(get(r))] as const) };
}

/** Keys of a record-valued field over the rows, in order of first appearance. */
function keysOf(rows: readonly MetricRow[], get: (row: MetricRow) => object | undefined): string[] {
  const keys = new Set<string>();
  for (const row of rows) {
    const rec = get(row);
    if (rec && typeof rec === 'object') for (const k of Object.keys(rec)) keys.add(k);
  }
  return [...keys];
}

const field = (rec: object | undefined, key: string): unknown => (rec as Record<string, unknown> | undefined)?.[key];

function figure(svg: string, note?: string): string {
  return `<figure>${svg}${note ? `<figcaption>${escapeHtml(note)}</figcaption>` : ''}</figure>`;
}

/** A line chart figure of the series that exist; empty when none does. */
function lines(title: string, series: (LineSeries | undefined)[], options: { bands?: BandSeries[]; yInclude?: number[]; note?: string } = {}): string {
  const present = series.filter((s): s is LineSeries => s !== undefined);
  if (!present.length) return '';
  const colored = present.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length]! }));
  return figure(lineChart({ title, series: colored, xLabel: 'step', ...options }), options.note);
}

/** Mean line, ± std band and dashed min/max of a {mean, std, min, max} statistic. */
function statChart(rows: readonly MetricRow[], title: string, get: (r: MetricRow) => MetricRow['pmi'], note: string, yInclude: number[] = []): string {
  const mean = metricSeries(rows, 'mean', (r) => get(r)?.mean, { color: PALETTE[0] });
  if (!mean) return '';
  const band: BandSeries = {
    name: 'mean ± std',
    color: PALETTE[0],
    points: rowsFor(rows, (r) => get(r)?.mean).map((r) => {
      const m = num(get(r)?.mean);
      const sd = num(get(r)?.std);
      return m === undefined || sd === undefined ? ([r.step, undefined, undefined] as const) : ([r.step, m - sd, m + sd] as const);
    }),
  };
  const min = metricSeries(rows, 'min', (r) => get(r)?.min, { color: '#9ca3af', dashed: true });
  const max = metricSeries(rows, 'max', (r) => get(r)?.max, { color: '#6b7280', dashed: true });
  return lines(title, [mean, min, max], { bands: [band], yInclude, note });
}

interface Section {
  id: string;
  title: string;
  html: string;
}

function section(id: string, title: string, intro: string, figures: string[]): Section | undefined {
  const body = figures.filter(Boolean);
  if (!body.length) return undefined;
  return { id, title, html: `<p class="intro">${escapeHtml(intro)}</p><div class="charts">${body.join('')}</div>` };
}

/** First, last and best value of the headline metrics. */
function glance(sft: readonly MetricRow[], rl: readonly MetricRow[]): string {
  const defs: [string, readonly MetricRow[], Getter, 'min' | 'max'][] = [
    ['SFT loss', sft, (r) => r.loss, 'min'],
    ['SFT eval loss', sft, (r) => r.evalLoss, 'min'],
    ['RL reward', rl, (r) => r.reward, 'max'],
    ['Held-out fidelity', rl, (r) => r.fidelity?.overall, 'max'],
    ['Generic-phrase rate', rl, (r) => r.genericRate, 'min'],
    ['Replies that address the judge', rl, (r) => r.judgeAddressRate, 'min'],
  ];
  const rows = defs.flatMap(([label, source, get, best]) => {
    const values = source.map(get).filter(isFiniteNum);
    if (!values.length) return [];
    const top = values.reduce((a, b) => (best === 'min' ? Math.min(a, b) : Math.max(a, b)));
    return [[escapeHtml(label), ...[values[0]!, values[values.length - 1]!, top].map((v) => escapeHtml(formatNumber(v)))]];
  });
  return rows.length ? htmlTable({ head: ['', 'first', 'last', 'best'], rows, rowHeaders: true, class: 'glance' }) : '';
}

function summarySection(input: ReportInput, sft: readonly MetricRow[], rl: readonly MetricRow[]): Section | undefined {
  const facts = Object.entries(input.summary ?? {}).map(([k, v]) => {
    const shown = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : formatNumber(v)) : v;
    return [escapeHtml(k), escapeHtml(shown)];
  });
  const table = htmlTable({ rows: facts, rowHeaders: true, class: 'facts' });
  const html = table + glance(sft, rl);
  return html ? { id: 'summary', title: 'Summary', html: `<div class="summary">${html}</div>` } : undefined;
}

/** The timing parts in stacking order: the known phases, then up to four others, then "other". */
function timingParts(rows: readonly MetricRow[]): { name: string; get: (r: MetricRow) => number | undefined }[] {
  const known = ['rollout', 'scoring', 'ablated', 'update'];
  const keys = keysOf(rows, (r) => r.timing).filter((k) => k !== 'total');
  const extra = keys.filter((k) => !known.includes(k));
  const shown = [...known.filter((k) => keys.includes(k)), ...(extra.length > 5 ? extra.slice(0, 4) : extra)];
  const parts = shown.map((k) => ({ name: k, get: (r: MetricRow) => num(field(r.timing, k)) }));
  if (extra.length > 5) {
    const rest = extra.slice(4);
    parts.push({ name: 'other', get: (r) => rest.reduce((sum, k) => sum + Math.max(0, num(field(r.timing, k)) ?? 0), 0) });
  }
  return parts;
}

/** The profile-reading probes of the run (after SFT, before RAPO, at the end) side by side. */
function probeSection(metrics: readonly MetricRow[]): Section | undefined {
  const probes = metrics.filter((r) => r.probe);
  const readings = metrics.filter((r) => r.reading);
  if (!probes.length && !readings.length) return undefined;
  // A probe measures the model after `step` updates: "before RL", "after SFT step 300" (steps counted from 1, as in the plots).
  const head = (rows: readonly MetricRow[]) => [
    '',
    ...rows.map((r) => escapeHtml(r.step === 0 ? `before ${r.phase.toUpperCase()}` : `after ${r.phase.toUpperCase()} step ${r.step}`)),
  ];
  const cell = (v: number | undefined, pct = false) =>
    v === undefined || !Number.isFinite(v) ? '' : escapeHtml(pct ? `${(100 * v).toFixed(1)}%` : formatNumber(v));
  const tables: string[] = [];
  if (probes.length) {
    const swap = (r: MetricRow) => r.probe!.signal.find((s) => s.ablation === 'swap');
    const defs: [string, (r: MetricRow) => number | undefined, boolean][] = [
      ['held-out facts', (r) => r.probe!.heldOut.facts, false],
      ['training-character facts', (r) => r.probe!.train.facts, false],
      ['train - held-out facts', (r) => r.probe!.factsGap, false],
      ['foreign-fact rate (held-out)', (r) => r.probe!.heldOut.foreignRate, true],
      ['held-out fidelity', (r) => r.probe!.heldOut.fidelity, false],
      ['generic-phrase rate (held-out)', (r) => r.probe!.heldOut.genericRate, true],
      ['answers cut at the token limit', (r) => r.probe!.heldOut.truncated, true],
      ['swap PMI, role tokens (nats)', (r) => swap(r)?.meanPmi.role, false],
      ['swap PMI, generic tokens', (r) => swap(r)?.meanPmi.generic, false],
      ['swap PMI, other tokens', (r) => swap(r)?.meanPmi.other, false],
      ['swap AUC role vs other', (r) => swap(r)?.aucRoleVsOther, false],
      ['swap AUC role vs generic', (r) => swap(r)?.aucRoleVsGeneric, false],
      ['swap PMI, role tokens of the reply', (r) => swap(r)?.replyRole?.meanPmi, false],
      ['swap AUC reply role vs generic', (r) => swap(r)?.replyRole?.aucVsGeneric, false],
      ['swap PMI, end of turn', (r) => swap(r)?.endOfTurnPmi, false],
      ['swap RAPO weight at A > 0, role tokens', (r) => swap(r)?.rapoWeight?.role, false],
      ['swap RAPO weight at A > 0, generic tokens', (r) => swap(r)?.rapoWeight?.generic, false],
    ];
    for (const r of probes) {
      for (const s of r.probe!.signal.filter((x) => x.ablation !== 'swap')) {
        if (defs.some(([label]) => label.startsWith(`${s.ablation} `))) continue;
        const of = (row: MetricRow) => row.probe!.signal.find((x) => x.ablation === s.ablation);
        defs.push(
          [`${s.ablation} AUC role vs other`, (row) => of(row)?.aucRoleVsOther, false],
          [`${s.ablation} AUC role vs generic`, (row) => of(row)?.aucRoleVsGeneric, false],
        );
      }
    }
    const rows = defs.map(([label, get, pct]) => [escapeHtml(label), ...probes.map((r) => cell(get(r), pct))]);
    tables.push(htmlTable({ head: head(probes), rows, rowHeaders: true, class: 'glance' }));
  }
  if (readings.length) {
    const fields = keysOf(readings, (r) => r.reading!.fields);
    const rows = [
      ['all fields', ...readings.map((r) => cell(r.reading!.accuracy, true))],
      ...fields.map((f) => [escapeHtml(f), ...readings.map((r) => cell(num(field(r.reading!.fields, f)), true))]),
    ];
    tables.push(htmlTable({ head: head(readings), rows, rowHeaders: true, class: 'glance' }));
  }
  const intro = probes.length
    ? "Does the policy read the profile? Greedy answers to held-out and training characters (facts stated, other characters' facts, answers cut short), and the PMI of labelled answer tokens with the profile swapped for another character's: a model that reads gives the role tokens (facts, name, voice, traits) a high PMI and the rest about none."
    : 'Held-out reading questions: the share of asked fields whose value the greedy answer copies exactly.';
  return { id: 'probe', title: probes.length ? 'Profile-reading probe' : 'Reading probe', html: `<p class="intro">${escapeHtml(intro)}</p>${tables.join('')}` };
}

/** Judge answers that were unreadable or failed calls: shown only for a run that had any. */
function judgeFailureSection(metrics: readonly MetricRow[], rl: readonly MetricRow[]): Section | undefined {
  const total = Math.max(0, ...metrics.map((r) => r.judgeFailuresTotal ?? 0));
  if (total === 0) return undefined;
  const steps = metrics.filter((r) => r.reward !== undefined && (r.judgeFailures ?? 0) > 0).length;
  const intro =
    `${total} judge answer${total === 1 ? ' was' : 's were'} unreadable or failed calls (${steps} training step${steps === 1 ? '' : 's'} had some). ` +
    "Such an answer's item got the mean reward of its group, so its advantage was 0: it was not trained on. A step with more than max_failure_share of them stops the run.";
  return section('judge-failures', 'Judge failures', intro, [
    lines(
      'Judge failures',
      [
        metricSeries(rl, 'per step', (r) => r.judgeFailures ?? (r.reward !== undefined ? 0 : undefined)),
        metricSeries(rl, 'in the run so far', (r) => r.judgeFailuresTotal, { dashed: true }),
      ],
      { yInclude: [0] },
    ),
  ]);
}

function sections(input: ReportInput): Section[] {
  const sft = phaseRows(input.metrics ?? [], 'sft');
  const rl = phaseRows(input.metrics ?? [], 'rl');
  // Held-out evaluation rows alone: their truncation share would be hidden by a training row's at the same step.
  const rlEval = phaseRows(
    (input.metrics ?? []).filter((r) => !isTrainingRow(r)),
    'rl',
  );
  const rewardParts = keysOf(rl, (r) => r.rewardParts);
  const fidelityDims = keysOf(rl, (r) => r.fidelity).filter((k) => k !== 'overall');
  const timedRl = rl.filter((r) => r.timing && Object.keys(r.timing).length > 0);
  const parts = timingParts(timedRl);
  const out = [
    summarySection(input, sft, rl),
    probeSection(input.metrics ?? []),
    section('sft', 'Supervised fine-tuning', 'Training loss per step and held-out loss on eval steps; the learning-rate schedule below.', [
      lines('Loss', [metricSeries(sft, 'train loss', (r) => r.loss), metricSeries(sft, 'eval loss', (r) => r.evalLoss)]),
      lines('Learning rate', [metricSeries(sft, 'lr', (r) => r.lr)]),
      lines('Held-out reading fields copied', [metricSeries(sft, 'all fields', (r) => r.reading?.accuracy)], { yInclude: [0, 1] }),
    ]),
    section('reward', 'RL reward', 'Mean reward of the sampled responses per step, with each part of the reward.', [
      lines('Reward', [
        metricSeries(rl, 'reward', (r) => r.reward),
        ...rewardParts.map((k) => metricSeries(rl, k, (r) => field(r.rewardParts, k), { dashed: true })),
      ]),
    ]),
    judgeFailureSection(input.metrics ?? [], rl),
    section(
      'fidelity',
      'Held-out fidelity',
      "Character fidelity on held-out prompts (eval steps), and two signs of reward hacking in the sampled responses: generic boilerplate, and text that talks to the judge (score lines, the judge prompt's tags, grading words).",
      [
        lines('Held-out fidelity', [
          metricSeries(rl, 'overall', (r) => r.fidelity?.overall),
          ...fidelityDims.map((k) => metricSeries(rl, k, (r) => field(r.fidelity, k), { dashed: true })),
        ]),
        lines(
          'Reward hacking signs',
          [metricSeries(rl, 'generic-phrase rate', (r) => r.genericRate), metricSeries(rl, 'addresses the judge', (r) => r.judgeAddressRate, { dashed: true })],
          { yInclude: [0] },
        ),
      ],
    ),
    section(
      'stability',
      'Policy drift and exploration',
      'KL to the reference policy, share of clipped token ratios, policy entropy and mean response length.',
      [
        lines('KL to reference', [metricSeries(rl, 'kl', (r) => r.kl)], { yInclude: [0] }),
        lines('Clip fraction', [metricSeries(rl, 'low', (r) => r.clipFraction?.low), metricSeries(rl, 'high', (r) => r.clipFraction?.high)], { yInclude: [0] }),
        lines('Entropy (nats)', [metricSeries(rl, 'entropy', (r) => r.entropy)]),
        lines('Response length (tokens)', [metricSeries(rl, 'length', (r) => r.responseLength)]),
        lines(
          'Answers cut at the token limit',
          [
            metricSeries(rl, 'sampled', (r) => (r.reward !== undefined ? r.truncated : undefined)),
            metricSeries(rlEval, 'greedy, held-out', (r) => (r.evalReward !== undefined ? r.truncated : undefined), { dashed: true }),
          ],
          { yInclude: [0] },
        ),
      ],
    ),
    section(
      'rapo',
      'RAPO signals',
      'Profile–token PMI and the role-specificity score derived from it, the mean token weight for positive and negative advantages, and corr(PMI, advantage).',
      [
        statChart(rl, 'Token PMI (nats)', (r) => r.pmi, 'Mean over response tokens, shaded ± one std, dashed min and max.', [0]),
        statChart(rl, 'Role-specificity score', (r) => r.score, 'Per-token score in [-1, 1]: near +1 when the profile explains the token.', [0]),
        lines(
          'Mean RAPO weight',
          [metricSeries(rl, 'positive advantage', (r) => r.weight?.pos), metricSeries(rl, 'negative advantage', (r) => r.weight?.neg)],
          { yInclude: [0] },
        ),
        lines('corr(PMI, advantage)', [metricSeries(rl, 'correlation', (r) => r.corrPmiAdvantage)], { yInclude: [0] }),
      ],
    ),
    section(
      'throughput',
      'Throughput',
      'Wall-clock seconds per RL step by phase, and throughput: one chart per phase, each on its own steps, since they count different tokens (SFT: tokens trained on per second; RL: tokens sampled per second of the whole step).',
      [
        parts.length
          ? figure(
              stackedBarChart({
                title: 'Time per RL step (s)',
                x: timedRl.map((r) => r.step),
                parts: parts.map((p) => ({ name: p.name, values: timedRl.map(p.get) })),
                unit: 's',
                xLabel: 'step',
              }),
            )
          : '',
        lines('SFT tokens per second', [metricSeries(sft, 'trained', (r) => r.tokensPerSecond)]),
        lines('RL tokens per second', [metricSeries(rl, 'sampled', (r) => r.tokensPerSecond)]),
      ],
    ),
  ];
  const samples = renderSamples(input.samples ?? []);
  if (samples) out.push({ id: 'samples', title: 'Sample responses', html: samples });
  if (input.config?.trim()) out.push({ id: 'config', title: 'Config', html: `<pre class="config">${escapeHtml(input.config)}</pre>` });
  return out.filter((s): s is Section => s !== undefined);
}

const CSS = `
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;--accent:#4e79a7}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 20px 48px}
h1{margin:0 0 4px;font-size:26px}
h2{margin:0 0 6px;font-size:19px}
h3{margin:0 0 8px;font-size:15px}
.sub,.intro,figcaption,.meta,.hint{color:var(--muted)}
.intro{margin:0 0 12px;font-size:14px}
nav{margin:14px 0 22px;display:flex;flex-wrap:wrap;gap:6px}
nav a{color:var(--accent);text-decoration:none;border:1px solid var(--line);background:var(--card);border-radius:999px;padding:2px 12px;font-size:13px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 18px}
.summary{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table{border-collapse:collapse;font-size:14px}
th,td{padding:4px 12px 4px 0;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600}
.glance td{font-variant-numeric:tabular-nums;text-align:right}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px}
figure{margin:0}
svg.chart{display:block}
figcaption{font-size:13px;margin-top:2px}
.scale{display:flex;align-items:center;gap:10px;flex-wrap:wrap;font-size:13px;margin-bottom:12px}
.ramp{display:inline-block;width:180px;height:12px;border:1px solid var(--line);border-radius:3px}
.sample{border-top:1px solid var(--line);padding:12px 0 4px}
.sample .meta{font-weight:400;font-size:13px;margin-left:6px}
details{margin:0 0 8px;font-size:14px}
summary{cursor:pointer;color:var(--accent)}
pre{margin:6px 0 0;padding:10px 12px;background:#f3f4f6;border-radius:6px;overflow:auto;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word}
.tokens{white-space:pre-wrap;word-break:break-word;line-height:1.9;font-size:15px}
.tok{border-radius:2px}
footer{color:var(--muted);font-size:12px;text-align:center}
`.trim();

/** The complete HTML5 document of a run. */
export function renderReport(input: ReportInput): string {
  const all = sections(input);
  const sft = trainingSteps(input.metrics ?? [], 'sft');
  const rl = trainingSteps(input.metrics ?? [], 'rl');
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const counts = [count(sft, 'SFT step'), count(rl, 'RL step'), count((input.samples ?? []).length, 'sample')].join(' · ');
  const nav = all.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join('');
  const body = all.map((s) => `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>${s.html}</section>`).join('\n');
  return htmlPage({
    title: input.title,
    css: CSS,
    body: `<main>
<header><h1>${escapeHtml(input.title)}</h1><p class="sub">rapo training report · ${counts}</p></header>
<nav>${nav}</nav>
${body}
<footer>Generated by @rapo/trainer. Self-contained: no scripts, no network.</footer>
</main>`,
  });
}

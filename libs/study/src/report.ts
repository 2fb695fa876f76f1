// runs/study/report.html: the verdicts first, then the tables (mean and 95% interval per method),
// the differences, learning curves per method, step times, and the SFT format comparison.
import { escapeHtml as esc, htmlPage, lineChart, PALETTE } from '@rapo/report';
import type { Interval } from './stats.js';
import { DRIFT, METRICS, type RunSummary, type StudyResults } from './study.js';

const LABEL: Record<string, string> = {
  heldOutFidelity: 'held-out fidelity',
  judgeReward: 'judge reward',
  genericRate: 'generic-phrase rate',
  kl: 'KL to SFT policy',
  heldOutFacts: 'held-out facts',
  heldOutStyle: 'held-out voice',
  answerTokens: 'answer tokens (last quarter of RL)',
};
const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(4));
const iv = (i: Interval) => `${fmt(i.mean)} <span class="ci">[${fmt(i.ci95[0])}, ${fmt(i.ci95[1])}]</span>`;
// A difference is marked where it survives Holm's correction across its metric's family.
const sig = (i: Interval) => ((i.pHolm ?? i.p ?? 1) < 0.05 ? ' class="sig"' : '');
const div = (i: Interval) =>
  `${fmt(i.mean)} <span class="ci">[${fmt((i.ciFamily ?? i.ci95)[0])}, ${fmt((i.ciFamily ?? i.ci95)[1])}]${i.pHolm !== undefined ? ` p<sub>Holm</sub> ${i.pHolm.toFixed(3)}` : i.p !== undefined ? ` p ${i.p.toFixed(3)}` : ''}</span>`;

/** Mean over seeds of each step's value (steps every seed has). */
function meanCurve(runs: RunSummary[], pick: (r: RunSummary) => [number, number][]): [number, number][] {
  const by = new Map<number, number[]>();
  for (const r of runs) for (const [x, y] of pick(r)) by.set(x, [...(by.get(x) ?? []), y]);
  return [...by]
    .filter(([, ys]) => ys.length === runs.length)
    .sort((a, b) => a[0] - b[0])
    .map(([x, ys]) => [x, ys.reduce((a, b) => a + b, 0) / ys.length]);
}

export function renderStudyReport(r: StudyResults): string {
  const methods = Object.keys(r.methods);
  const head = `<tr><th>method</th>${METRICS.map((m) => `<th>${LABEL[m]}</th>`).join('')}<th>s / RL step</th></tr>`;
  const rows = methods
    .map(
      (name) =>
        `<tr><td>${esc(name)}</td>${METRICS.map((m) => `<td>${iv(r.methods[name]![m])}</td>`).join('')}<td>${r.stepSeconds[name]!.toFixed(2)}</td></tr>`,
    )
    .join('');
  const diffRows = [['rapo - grpo', r.difference] as const, ...Object.entries(r.ablationDifferences).map(([k, d]) => [k, d] as const)]
    .map(([k, d]) => `<tr><td>${esc(k)}</td>${METRICS.map((m) => `<td${sig(d[m])}>${div(d[m])}</td>`).join('')}</tr>`)
    .join('');
  const perSeed = (['heldOutFidelity', 'genericRate', 'judgeReward', 'kl'] as const)
    .map(
      (m) =>
        `<h3>${LABEL[m]}, per seed</h3><table><tr><th>method</th>${(r.methods.grpo?.[m].values ?? []).map((_, i) => `<th>seed ${i + 1}</th>`).join('')}</tr>${methods
          .map((name) => `<tr><td>${esc(name)}</td>${(r.methods[name]![m].values ?? []).map((x) => `<td>${fmt(x)}</td>`).join('')}</tr>`)
          .join('')}</table>`,
    )
    .join('');
  const control = r.control
    ? `<h2>Random-reward control (drift)</h2>
<p>Every method again on a reward that is pure noise, on seeds 1 to ${Object.values(r.control)[0]?.kl.values?.length ?? '?'}. A reward without information should not make a method act differently from GRPO. A method drifts when, as the mean of the differences paired by seed, its KL to the SFT policy differs from GRPO's by more than ${DRIFT.kl}, its answer length by more than ${100 * DRIFT.length}%, or its held-out generic-phrase rate by more than ${100 * DRIFT.generic} points.</p>
<table><tr><th>method - grpo, random reward</th><th>KL difference</th><th>answer tokens difference</th><th>generic-phrase rate difference</th><th>verdict</th></tr>${Object.entries(
        r.control,
      )
        .map(
          ([k, c]) =>
            `<tr><td>${esc(k)}</td><td>${div(c.kl)}</td><td>${div(c.answerTokens)} <span class="ci">(GRPO ${c.grpoAnswerTokens.toFixed(1)})</span></td><td>${c.genericRate ? div(c.genericRate) : 'not measured'}</td><td${c.drifts ? ' class="sig"' : ''}>${c.drifts ? `drifts (${esc((c.driftsBy ?? []).join(', '))})` : 'no drift'}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const rlRuns = Object.entries(r.runs).filter(([k]) => !k.startsWith('sft '));
  const curves = (title: string, pick: (x: RunSummary) => [number, number][], yInclude?: number[]) =>
    lineChart({
      title,
      series: rlRuns.map(([name, runs], i) => ({ name, points: meanCurve(runs, pick), color: PALETTE[i % PALETTE.length]! })),
      xLabel: 'RL step',
      ...(yInclude ? { yInclude } : {}),
    });
  const reward = curves('training reward per RL step (mean over seeds)', (x) => x.rewardCurve);
  const kl = curves('KL to the SFT policy per RL step (mean over seeds)', (x) => x.klCurve, [0]);
  const length = curves('sampled answer tokens per RL step (mean over seeds)', (x) => x.lengthCurve);
  const fidelity = curves('held-out fidelity (mean over seeds)', (x) => x.fidelityCurve, [0]);
  const formats = r.sftFormats
    ? `<h2>Psy-CoT on the testbed: SFT answer formats at the same token budget</h2>
<table><tr><th>format</th><th>SFT steps</th><th>held-out fidelity</th><th>judge reward</th><th>generic-phrase rate</th><th>held-out facts</th><th>held-out voice</th></tr>
${Object.entries(r.sftFormats)
  .map(
    ([f, x]) =>
      `<tr><td>${esc(f)}</td><td>${x.steps}</td><td>${iv(x.heldOutFidelity)}</td><td>${iv(x.judgeReward)}</td><td>${iv(x.genericRate)}</td><td>${iv(x.heldOutFacts)}</td><td>${iv(x.heldOutStyle)}</td></tr>`,
  )
  .join('')}</table>
<table><tr><th>difference (held-out fidelity)</th><th>mean [95% CI]</th></tr>${Object.entries(r.formatDifferences ?? {})
        .map(([k, d]) => `<tr><td>${esc(k)}</td><td${sig(d)}>${div(d)}</td></tr>`)
        .join('')}</table>`
    : '';
  const p = r.pmiSignal;
  const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
  const signal = p
    ? `<h2>PMI signal quality</h2>
<p>Each token of testbed answers (the character's reference answer with two generic phrases added) is labelled role-specific (the character's facts,
name, voice and trait words), generic (empathy boilerplate) or other (format tags, function words), and scored with and without the profile.
AUC = P(PMI of a role-specific token &gt; PMI of a generic one); 0.5 is chance. RAPO can only help where role-specific tokens outrank the rest.
The weights are what RAPO's paper form makes of that PMI with the study's rl.rapo norm and lambdas (GRPO's weight is 1): a generic phrase is held back only where its weight at A &gt; 0 is below 1.</p>
<table><tr><th>SFT checkpoint</th><th>tokens role / generic / other</th><th>mean PMI role / generic / other</th><th>mean log p role / generic / other</th><th>AUC role vs generic</th><th>AUC role vs other</th><th>top 10% PMI: role / generic</th><th>median PMI</th><th>end-of-turn PMI</th><th>RAPO weight, A &gt; 0: role / generic / other</th><th>A &lt; 0: role / generic / other</th></tr>
${p.base
  .map(
    (x) =>
      `<tr><td>${esc(`${x.split}, ${x.ablation}`)}</td><td>${x.tokens.role} / ${x.tokens.generic} / ${x.tokens.other}</td><td>${f3(x.meanPmi.role)} / ${f3(x.meanPmi.generic)} / ${f3(x.meanPmi.other)}</td><td>${f3(x.meanLogp.role)} / ${f3(x.meanLogp.generic)} / ${f3(x.meanLogp.other)}</td><td>${f3(x.aucRoleVsGeneric)}</td><td>${f3(x.aucRoleVsOther)}</td><td>${(100 * x.topDecile.role).toFixed(0)}% / ${(100 * x.topDecile.generic).toFixed(0)}%</td><td>${f3(x.medianPmi)}</td><td>${f3(x.endOfTurnPmi)}</td><td>${f3(x.rapoWeights.role.positive)} / ${f3(x.rapoWeights.generic.positive)} / ${f3(x.rapoWeights.other.positive)}</td><td>${f3(x.rapoWeights.role.negative)} / ${f3(x.rapoWeights.generic.negative)} / ${f3(x.rapoWeights.other.negative)}</td></tr>`,
  )
  .join('')}</table>
<table><tr><th>final policies (held-out)</th><th>AUC role vs generic</th><th>AUC role vs other</th><th>top 10% PMI role share</th><th>corr(PMI, advantage) in training</th></tr>
${Object.entries(p.finals)
  .map(
    ([k, x]) =>
      `<tr><td>${esc(k)}</td><td>${iv(x.aucRoleVsGeneric)}</td><td>${iv(x.aucRoleVsOther)}</td><td>${iv(x.topDecileRole)}</td><td>${iv(x.corrPmiAdvantage)}</td></tr>`,
  )
  .join('')}</table>`
    : '';
  return htmlPage({
    title: 'rapo study: RAPO and its variants vs GRPO',
    css: `body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1080px; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1.5em; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; } td:first-child, th:first-child { text-align: left; }
.ci { color: #777; font-size: 90%; } td.sig { background: #fff2c8; font-weight: 600; }
`,
    body: `<h1>RAPO vs GRPO on the persona testbed</h1>
<p>${r.seeds} seeds per method, every RL run starting from the same SFT checkpoint with the same budget and judge; evaluated on held-out characters
(greedy answers; fidelity from the world's ground truth, reward from the testbed judge). Intervals are 95% percentile-bootstrap intervals of the mean over seeds.
Differences are paired by seed, with exact sign-flip permutation p-values, Holm-corrected across the ${r.familySize} comparisons of each metric; their intervals are widened for that family (level 1 - 0.05 / ${r.familySize}).
Study time ${(r.seconds / 60).toFixed(1)} min; written ${esc(r.createdAt)}.</p>
<h2>Conclusions</h2>
<ul>${r.conclusions.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>
<h2>Methods (mean [95% CI])</h2>
<table>${head}${rows}</table>
<h2>Differences to the baseline (paired by seed; highlighted where Holm's p &lt; 0.05)</h2>
<table><tr><th></th>${METRICS.map((m) => `<th>${LABEL[m]}</th>`).join('')}</tr>${diffRows}</table>
${control}
<h2>Per seed</h2>
${perSeed}
<p>RAPO overhead: ${r.overheadRatio.toFixed(3)}x GRPO's wall-clock per sampled token (a step: ${(r.stepSeconds.rapo! / r.stepSeconds.grpo!).toFixed(3)}x; answers differ in length).</p>
<h2>Learning curves</h2>
${reward}
${fidelity}
${kl}
${length}
${signal}
${formats}
<h2>Settings</h2>
<pre>${esc(JSON.stringify(r.settings, null, 2))}</pre>`,
  });
}

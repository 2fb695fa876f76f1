// renderReport on a realistic seeded run (40 SFT rows, 30 RL rows, 3 samples): the charts each
// section should hold, self-containment, the heatmap colours, escaping, omitted sections and
// determinism.
import { mulberry32 } from '@rapo/random';
import { describe, expect, it } from 'vitest';
import { renderReport } from './report.js';
import type { MetricRow, ReportInput, SampleRow } from './types.js';

const XSS = '<script>alert(1)</script>';
const XSS_ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';

const prng = mulberry32; // seeded, so the fixture is the same on every run

function realisticRun(seed = 7): ReportInput {
  const rand = prng(seed);
  const noise = (scale: number) => (rand() - 0.5) * 2 * scale;
  const metrics: MetricRow[] = [];
  let time = 0;
  for (let step = 1; step <= 40; step++) {
    time += 2 + noise(0.2);
    metrics.push({
      step,
      phase: 'sft',
      time,
      loss: 2.6 * Math.exp(-step / 15) + 0.9 + noise(0.05),
      lr: 2e-5 * Math.min(1, step / 5),
      tokensPerSecond: 5200 + noise(300),
      ...(step % 10 === 0 ? { evalLoss: 2.4 * Math.exp(-step / 18) + 1.05 + noise(0.03) } : {}),
    });
  }
  for (let step = 1; step <= 30; step++) {
    time += 9 + noise(1);
    const progress = step / 30;
    const pmiMean = 0.4 + 0.5 * progress + noise(0.05);
    metrics.push({
      step,
      phase: 'rl',
      time,
      tokensPerSecond: 900 + noise(80),
      reward: 0.35 + 0.3 * progress + noise(0.04),
      rewardParts: { judge: 0.4 + 0.25 * progress + noise(0.03), format: 0.9 + noise(0.05), length: -0.05 + noise(0.02) },
      genericRate: 0.3 - 0.2 * progress + noise(0.02),
      judgeAddressRate: step > 20 ? 0.1 : 0,
      responseLength: 120 - 20 * progress + noise(6),
      kl: 0.002 * step + noise(0.001),
      entropy: 1.9 - 0.4 * progress + noise(0.05),
      clipFraction: { low: 0.01 + noise(0.005), high: 0.03 + noise(0.01) },
      pmi: { mean: pmiMean, std: 0.8 + noise(0.1), min: pmiMean - 2.5, max: pmiMean + 3.1 },
      score: { mean: 0.1 + 0.2 * progress, std: 0.35, min: -0.9, max: 0.98 },
      weight: { pos: 1.2 + noise(0.05), neg: 0.8 + noise(0.05) },
      corrPmiAdvantage: 0.1 + 0.3 * progress + noise(0.05),
      timing: { rollout: 5 + noise(0.5), scoring: 1.2 + noise(0.1), ablated: 1.1 + noise(0.1), update: 2 + noise(0.2) },
      ...(step % 5 === 0 ? { fidelity: { overall: 0.5 + 0.3 * progress, knowledge: 0.6 + 0.2 * progress, style: 0.45 + 0.35 * progress } } : {}),
    });
  }
  const sample = (step: number, text: string): SampleRow => {
    const tokens = text.match(/\s*\S+|\s+/g) ?? [];
    const score = tokens.map(() => Math.round(noise(1) * 100) / 100);
    return {
      step,
      prompt: 'You are Mara Vell, a lighthouse keeper.\nUser: Where are you from?',
      response: text,
      reward: rand(),
      advantage: noise(1),
      tokens,
      score,
      pmi: score.map((s) => s * 3),
    };
  };
  return {
    title: 'RAPO run: mara-124m',
    summary: { algorithm: 'rapo', 'model size': '124M', steps: 70, backend: 'tfjs-node', duration: '14 min', seed: 12345, 'final reward': 0.6512 },
    config: 'algorithm: rapo\nmodel:\n  size: 124m\n  hub: https://example.org/models/mara\nrl:\n  steps: 30\n  beta: 0.04\n',
    metrics,
    samples: [
      sample(10, 'Pellmoor, by the grey sea.\nThe lamp has been my life.'),
      sample(20, 'Aye, the gulls and I go back a long way.'),
      { step: 30, prompt: 'Tell me a secret.', response: 'I never learned to swim.', reward: 0.5, advantage: -0.2 },
    ],
  };
}

/** The chart titles, in document order. */
const chartTitles = (html: string) => [...html.matchAll(/<svg [^>]*aria-label="([^"]*)"/g)].map((m) => m[1]);

describe('renderReport', () => {
  const input = realisticRun();
  const html = renderReport(input);

  it('renders one chart per logged metric group, in section order', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    const expected = [
      'Loss',
      'Learning rate',
      'Reward',
      'Held-out fidelity',
      'Reward hacking signs',
      'KL to reference',
      'Clip fraction',
      'Entropy (nats)',
      'Response length (tokens)',
      'Token PMI (nats)',
      'Role-specificity score',
      'Mean RAPO weight',
      'corr(PMI, advantage)',
      'Time per RL step (s)',
      'SFT tokens per second',
      'RL tokens per second',
    ];
    expect(chartTitles(html)).toEqual(expected);
    expect(html).toContain('addresses the judge');
    expect(html.match(/<svg/g)).toHaveLength(expected.length);
    for (const id of ['summary', 'sft', 'reward', 'fidelity', 'stability', 'rapo', 'throughput', 'samples', 'config']) {
      expect(html).toContain(`<section id="${id}">`);
      expect(html).toContain(`<a href="#${id}">`);
    }
  });

  it('names every series it was given in the legends', () => {
    for (const name of [
      'train loss',
      'eval loss',
      'judge',
      'format',
      'length',
      'overall',
      'knowledge',
      'style',
      'low',
      'high',
      'mean ± std',
      'positive advantage',
      'negative advantage',
      'rollout',
      'scoring',
      'ablated',
      'update',
    ]) {
      expect(html).toContain(`>${name}</text>`);
    }
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('is self-contained: no network references, scripts, stylesheets or sources', () => {
    const config = html.match(/<pre class="config">([\s\S]*?)<\/pre>/)?.[1] ?? '';
    expect(config).toContain('https://example.org/models/mara');
    const rest = html.replace(config, '');
    expect(rest).not.toMatch(/https?:\/\//);
    expect(rest).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|url\(|@import/i);
  });

  it('shows the summary facts and the first/last/best table', () => {
    expect(html).toMatch(/<tr><th>model size<\/th><td>124M<\/td><\/tr>/);
    expect(html).toContain('<tr><th>seed</th><td>12345</td></tr>');
    expect(html).toContain('<tr><th>final reward</th><td>0.651</td></tr>');
    expect(html).toMatch(/<tr><th>Held-out fidelity<\/th><td>0\.55<\/td><td>0\.8<\/td><td>0\.8<\/td><\/tr>/);
  });

  it('colours heatmap tokens from blue through white to red, with a tooltip and the whitespace kept', () => {
    const page = renderReport({
      ...input,
      samples: [
        {
          step: 3,
          prompt: 'p',
          response: 'sea calm\nlamp',
          reward: 0.25,
          advantage: 0.5,
          tokens: ['sea', ' calm', '\n', 'lamp'],
          score: [-1, 0, 0.5, 1],
          pmi: [-2.5, 0, 1, 4.25],
        },
      ],
    });
    expect(page).toContain('<span class="tok" style="background:rgb(33,102,172);color:#fff" title="&quot;sea&quot; · s -1 · PMI -2.5 nats">sea</span>');
    expect(page).toContain('<span class="tok" style="background:rgb(255,255,255)" title="&quot; calm&quot; · s 0 · PMI 0 nats"> calm</span>');
    expect(page).toContain('<span class="tok" style="background:rgb(217,140,149)" title="&quot;\\n&quot; · s +0.5 · PMI +1 nats">\n</span>');
    expect(page).toContain('<span class="tok" style="background:rgb(178,24,43);color:#fff" title="&quot;lamp&quot; · s +1 · PMI +4.25 nats">lamp</span>');
    expect(page).toContain('Sample 1 <span class="meta">step 4 · reward 0.25 · advantage +0.5 · mean s +0.125 over 4 tokens</span>');
    expect(page).toContain('<details><summary>Prompt</summary><pre>p</pre></details>');
    expect(page).toContain('class="scale"');
  });

  it('shows the plain response of a sample without scores', () => {
    expect(html).toContain('<div class="tokens plain">I never learned to swim.</div>');
    const plain = renderReport({ ...input, samples: [{ step: 1, prompt: 'q', response: 'a & b', tokens: ['a', ' &', ' b'] }] });
    expect(plain).toContain('<div class="tokens plain">a &amp; b</div>');
    expect(plain).not.toContain('class="tok"');
    expect(plain).not.toContain('class="scale"');
  });

  it('escapes user text everywhere it appears', () => {
    const page = renderReport({
      title: XSS,
      summary: { [XSS]: XSS },
      config: `name: ${XSS}`,
      metrics: [
        { step: 1, phase: 'rl', reward: 0.1, rewardParts: { [XSS]: 0.2 }, timing: { [XSS]: 1 } },
        { step: 2, phase: 'rl', reward: 0.2, rewardParts: { [XSS]: 0.3 }, timing: { [XSS]: 2 } },
      ],
      samples: [{ step: 1, prompt: XSS, response: XSS, tokens: [XSS, '"\'&'], score: [0.5, -0.5] }],
    });
    expect(page).not.toMatch(/<script/i);
    const E = XSS_ESCAPED;
    for (const fragment of [
      `<title>${E}</title>`,
      `<h1>${E}</h1>`,
      `<tr><th>${E}</th><td>${E}</td></tr>`,
      `<pre class="config">name: ${E}</pre>`,
      `<pre>${E}</pre>`,
      `>${E}</span>`,
      `title="&quot;${E}&quot; · s +0.5"`,
      `>${E}</text>`,
      `<title>step 3: ${E} 2 s; total 2 s</title>`,
    ])
      expect(page).toContain(fragment);
    expect(page).toContain('>&quot;&#39;&amp;</span>');
  });

  it('omits the sections of data the run did not log', () => {
    const sftOnly = renderReport({ ...input, metrics: input.metrics.filter((m) => m.phase === 'sft'), samples: [], config: '' });
    expect(chartTitles(sftOnly)).toEqual(['Loss', 'Learning rate', 'SFT tokens per second']);
    for (const id of ['reward', 'fidelity', 'stability', 'rapo', 'samples', 'config']) expect(sftOnly).not.toContain(`id="${id}"`);
    expect(sftOnly).not.toContain('RL reward');
    expect(sftOnly).toContain('40 SFT steps · 0 RL steps · 0 samples');

    const bare = renderReport({ title: 'empty', summary: {}, config: '', metrics: [], samples: [] });
    expect(bare).not.toContain('<section');
    expect(bare).not.toContain('<svg');
    expect(bare).toContain('<h1>empty</h1>');

    // GRPO: no RAPO statistics or timing; fidelity without the generic rate.
    const grpo = renderReport({
      ...input,
      metrics: [
        { step: 1, phase: 'rl', reward: 0.2, kl: 0.01 },
        { step: 2, phase: 'rl', reward: 0.3, kl: 0.02, fidelity: { overall: 0.6 } },
      ],
    });
    expect(chartTitles(grpo)).toEqual(['Reward', 'Held-out fidelity', 'KL to reference']);
  });

  it('merges rows logged separately for the same step', () => {
    const page = renderReport({
      title: 't',
      summary: {},
      config: '',
      samples: [],
      metrics: [
        { step: 1, phase: 'sft', loss: 2 },
        { step: 1, phase: 'sft', evalLoss: 2.5 },
        { step: 2, phase: 'sft', loss: 1.5 },
      ],
    });
    expect(page).toContain('<tr><th>SFT eval loss</th><td>2.5</td><td>2.5</td><td>2.5</td></tr>');
    expect(page).toContain('2 SFT steps');
  });

  it('shows the judge failures of a run that had any, and no section for one without', () => {
    expect(html).not.toContain('id="judge-failures"');
    const rows: MetricRow[] = [
      { step: 0, phase: 'rl', reward: 0.2, judgeFailures: 0, judgeFailuresTotal: 0 },
      { step: 1, phase: 'rl', reward: 0.3, judgeFailures: 2, judgeFailuresTotal: 2 },
      { step: 2, phase: 'rl', evalReward: 0.4, judgeFailures: 1, judgeFailuresTotal: 3 },
      { step: 2, phase: 'rl', reward: 0.3, judgeFailures: 0, judgeFailuresTotal: 3 },
    ];
    const page = renderReport({ title: 't', summary: {}, config: '', samples: [], metrics: rows });
    expect(page).toContain('id="judge-failures"');
    expect(page).toContain('3 judge answers were unreadable or failed calls (1 training step had some)');
    expect(chartTitles(page)).toContain('Judge failures');
  });

  /** The x positions and x tick labels of a chart's first line (by chart title). */
  const chartOf = (page: string, title: string) => {
    const svg = new RegExp(`<svg [^>]*aria-label="${title.replace(/[()]/g, '\\$&')}"[\\s\\S]*?</svg>`).exec(page)?.[0] ?? '';
    const ticks = [...svg.matchAll(/text-anchor="middle" fill="#6b7280">(\d+)</g)].map((m) => Number(m[1]));
    return { svg, ticks };
  };

  /** metrics.jsonl as a run writes it: training rows from step 0, evaluation rows after `step` updates (0 and every 10, and the end). */
  const sftRun = (steps: number): MetricRow[] => {
    const rows: MetricRow[] = [];
    for (let step = 0; step < steps; step++) {
      if (step % 10 === 0) rows.push({ step, phase: 'sft', evalLoss: 3 - step / 100 });
      rows.push({ step, phase: 'sft', loss: 2 - step / 100, lr: 1e-4, tokensPerSecond: 5000 });
    }
    rows.push({ step: steps, phase: 'sft', evalLoss: 3 - steps / 100 });
    return rows;
  };

  it('counts distinct training steps in the header, not the evaluation rows between them', () => {
    const page = renderReport({ title: 't', summary: {}, config: '', samples: [], metrics: sftRun(40) });
    expect(page).toContain('40 SFT steps · 0 RL steps · 0 samples');
    const one = renderReport({ title: 't', summary: {}, config: '', samples: [], metrics: sftRun(1) });
    expect(one).toContain('1 SFT step · 0 RL steps');
  });

  it('draws steps from 1 as the console counts them, evaluations after the update they followed', () => {
    const page = renderReport({ title: 't', summary: {}, config: '', samples: [], metrics: sftRun(5) });
    const { ticks } = chartOf(page, 'Learning rate');
    // 5 training rows (steps 0-4 in the file) are the console's steps 1-5.
    expect(ticks[0]).toBe(1);
    expect(ticks.at(-1)).toBe(5);
    // The evaluation after all 5 updates sits at 5, the one before any at 0.
    const loss = chartOf(page, 'Loss').ticks;
    expect(loss[0]).toBe(0);
    expect(loss.at(-1)).toBe(5);
    // the stacked bars' tooltips and a sample's header count from 1 too
    const rl = renderReport({
      title: 't',
      summary: {},
      config: '',
      metrics: [{ step: 0, phase: 'rl', reward: 0.1, timing: { rollout: 1 } }],
      samples: [{ step: 0, prompt: 'p', response: 'r' }],
    });
    expect(rl).toContain('<title>step 1: rollout 1 s; total 1 s</title>');
    expect(rl).toContain('Sample 1 <span class="meta">step 1</span>');
  });

  it('keeps a training row and the evaluation drawn at the same step apart: the greedy truncation survives', () => {
    const metrics: MetricRow[] = [
      { step: 0, phase: 'rl', evalReward: 0.1, truncated: 0.5 },
      { step: 0, phase: 'rl', reward: 0.2, truncated: 0 },
      { step: 1, phase: 'rl', evalReward: 0.3, truncated: 0.25 },
      { step: 1, phase: 'rl', reward: 0.3, truncated: 0 },
    ];
    const page = renderReport({ title: 't', summary: {}, config: '', samples: [], metrics });
    const { svg } = chartOf(page, 'Answers cut at the token limit');
    const paths = [...svg.matchAll(/<path class="line" d="([^"]*)"/g)].map((m) => m[1]!);
    expect(paths).toHaveLength(2); // sampled (at 1, 2) and greedy (at 0, 1)
    const ys = (d: string) =>
      d
        .replace('M', '')
        .split('L')
        .map((p) => Number(p.split(',')[1]));
    expect(new Set(ys(paths[0]!)).size).toBe(1); // sampled: 0 and 0
    expect(ys(paths[1]!)[0]).toBeLessThan(ys(paths[1]!)[1]!); // greedy: 0.5 then 0.25 (higher is up)
  });

  it('draws SFT and RL throughput on their own step axes, one chart each', () => {
    expect(chartTitles(html)).not.toContain('Tokens per second');
    expect(chartOf(html, 'SFT tokens per second').ticks.at(-1)).toBeGreaterThanOrEqual(41);
    expect(chartOf(html, 'RL tokens per second').ticks.at(-1)).toBeLessThanOrEqual(40);
    expect(html).toContain('one chart per phase');
  });

  it('never stretches a chart past its own width, so a chart alone in its row keeps its font size', () => {
    // The reward chart is alone in its section: it keeps its 560 px width at most.
    const reward = /<section id="reward">[\s\S]*?<\/section>/.exec(html)![0];
    expect(reward.match(/<svg /g)).toHaveLength(1);
    expect(reward).toMatch(/<svg class="chart" viewBox="0 0 560 260" width="560" height="260" style="width:100%;max-width:560px;height:auto"/);
    // and no page rule stretches it again
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(css).not.toMatch(/svg[^{]*\{[^}]*(?<!max-)width:100%/);
  });

  it('draws the tokens of a character split across tokens as one span: no U+FFFD', () => {
    const page = renderReport({
      ...input,
      samples: [{ step: 0, prompt: 'p', response: 'café', tokens: ['caf', '', 'é'], score: [0.5, 0.25, 0.75], pmi: [1, 2, 3] }],
    });
    expect(page).not.toContain('\uFFFD');
    expect(page).toContain('title="&quot;é&quot; · 2 tokens · s +0.5 (+0.25, +0.75) · PMI +2.5 (+2, +3) nats">é</span>');
    expect(page.match(/class="tok"/g)).toHaveLength(2);
  });

  it('is deterministic', () => {
    expect(renderReport(realisticRun())).toBe(html);
    expect(renderReport(structuredClone(input))).toBe(html);
    expect(renderReport(realisticRun(8))).not.toBe(html);
  });
});

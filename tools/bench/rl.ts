// RL step cost of RAPO (the paper's weights, the symmetric and bounded variants, the oracle
// score) against GRPO at the same settings: the same model, prompts and seeds, steps interleaved
// (forward then backward through the methods) so drift on a shared machine hits all alike.
// Reports the median step time per phase (rollout, reward, scoring, ablated pass, update), the
// tokens per second, each method's ratio to GRPO and the share of the extra ablated pass, next to the
// machine's streaming-read ceiling measured in the same run. `npm run bench:rl` (-- --quick).
// Results: bench/results/rl-<device>.json; docs/perf.md.
import { join } from 'node:path';
import { streamRead } from '@rapo/kernels';
import { describeBackend, END_OF_TURN, initBackend, PAD_TOKEN } from '@rapo/model';
import { AdamW, initialModel, loadDataset, makeRewardSource, parseTrainConfig, rlStep, type Ctx, type RlMetrics } from '@rapo/trainer';
import { gbps, median, timeSync } from './lib/measure.js';
import { cpuDeviceName, slug, writeJsonAtomic } from './lib/report.js';
import { benchOptions } from './lib/options.js';

const opt = benchOptions(
  'Usage: npm run bench:rl -- [--quick] [--reps N] [--out DIR]\nRL settings are the trainer defaults (rapo-train --help); RAPO_TF_BACKEND picks the tfjs backend.',
  { reps: { type: 'string' } },
);
const reps = Number(opt.reps ?? (opt.quick ? 2 : 5));
if (!(Number.isInteger(reps) && reps >= 1)) throw new TypeError(`Expected a whole number >= 1 for --reps but received "${opt.reps}"`);

const cpuName = cpuDeviceName();
const backend = await initBackend();
console.log(`device: ${cpuName}\n${describeBackend(backend)}`);

// The machine's own ceiling, in the same run: a streaming read of 512 MiB.
const ceilingData = new Float32Array(128 * 2 ** 20).fill(1);
const ceiling = gbps(ceilingData.byteLength, timeSync(() => streamRead(ceilingData), { minSeconds: 0.5, maxRuns: 20 }).seconds);
console.log(`ceiling: CPU streaming read ${ceiling.toFixed(1)} GB/s`);

const base = parseTrainConfig({});
const data = loadDataset(base);
const METHODS = {
  grpo: { algo: 'grpo' },
  rapo: { algo: 'rapo' },
  'rapo symmetric': { algo: 'rapo', rapo: { variant: 'symmetric' } },
  'rapo bounded': { algo: 'rapo', rapo: { variant: 'bounded' } },
  oracle: { algo: 'rapo', rapo: { score: 'oracle' } },
} as const;
type Method = keyof typeof METHODS;
const names = Object.keys(METHODS) as Method[];
const make = (name: Method) => {
  const config = parseTrainConfig({ rl: METHODS[name] });
  const { model, tokenizer } = initialModel(config, data);
  const { model: reference } = initialModel(config, data);
  const ctx: Ctx = { config, model, tokenizer, pad: tokenizer.tokenToId(PAD_TOKEN)!, endOfTurn: tokenizer.tokenToId(END_OF_TURN)!, world: data.world! };
  const state = {
    optimizer: new AdamW(model.params),
    reference,
    rewards: config.rl.rewards.map((r) => makeRewardSource(r, data.world, config.seed)),
    swapPool: data.rlTrain,
  };
  // Every measured step starts from the same weights and a fresh optimizer, so all methods
  // sample the same answers (same init, same step seed) and time the same amount of work.
  const initial = new Map([...model.params].map(([n, v]) => [n, v.clone()]));
  const reset = () => {
    for (const [n, v] of model.params) v.assign(initial.get(n)!);
    state.optimizer.dispose();
    state.optimizer = new AdamW(model.params);
  };
  return { ctx, state, reset };
};
const runs = Object.fromEntries(names.map((n) => [n, make(n)])) as Record<Method, ReturnType<typeof make>>;
const c = base.rl;
console.log(
  `settings: ${c.prompts_per_step} prompts x ${c.group_size} samples, up to ${c.max_new_tokens} new tokens, ${c.update_epochs} update epochs, beta ${c.beta}; model ${runs.grpo.ctx.model.config.hidden_size}x${runs.grpo.ctx.model.config.num_hidden_layers} (model.init ${base.model.init})`,
);

const measured = Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<
  Method,
  { total: number; timing: RlMetrics['timing']; tokensPerSecond: number; length: number }[]
>;
const prompts = data.rlTrain.slice(0, c.prompts_per_step);
// One warm-up step each (tfjs compiles kernels on first use), then the measured ones.
for (let rep = -1; rep < reps; rep++) {
  const order = rep % 2 === 0 ? names : [...names].reverse();
  for (const name of order) {
    runs[name].reset();
    const { metrics: m } = await rlStep(runs[name].ctx, runs[name].state, prompts, 0);
    const total = Object.values(m.timing).reduce((a, b) => a + b, 0);
    if (rep >= 0) measured[name].push({ total, timing: m.timing, tokensPerSecond: m.tokensPerSecond, length: m.responseLength });
    console.log(
      `  ${rep < 0 ? 'warm-up' : `rep ${rep + 1}/${reps}`} ${name}: ${total.toFixed(2)} s (${m.tokensPerSecond.toFixed(0)} tok/s, answers of ${m.responseLength.toFixed(0)} tokens)`,
    );
  }
}

const phases = ['rollout', 'reward', 'scoring', 'ablated', 'update'] as const;
const summary = Object.fromEntries(
  names.map((name) => {
    const rows = measured[name];
    return [
      name,
      {
        seconds: median(rows.map((r) => r.total)),
        tokensPerSecond: median(rows.map((r) => r.tokensPerSecond)),
        phases: Object.fromEntries(phases.map((p) => [p, median(rows.map((r) => r.timing[p]))])),
      },
    ];
  }),
) as Record<Method, { seconds: number; tokensPerSecond: number; phases: Record<(typeof phases)[number], number> }>;
const ratios = Object.fromEntries(names.slice(1).map((n) => [n, summary[n].seconds / summary.grpo.seconds])) as Record<Exclude<Method, 'grpo'>, number>;
const ratio = ratios.rapo;
const ablatedShare = summary.rapo.phases.ablated / summary.rapo.seconds;

console.log(`\n| method | step (s) | / grpo | tokens/s | ${phases.join(' | ')} |`);
console.log(`|---|---:|---:|---:|${phases.map(() => '---:').join('|')}|`);
for (const name of names) {
  const s = summary[name];
  console.log(
    `| ${name} | ${s.seconds.toFixed(2)} | ${(s.seconds / summary.grpo.seconds).toFixed(3)} | ${s.tokensPerSecond.toFixed(0)} | ${phases.map((p) => s.phases[p].toFixed(2)).join(' | ')} |`,
  );
}
const worst = Math.max(...Object.values(ratios));
console.log(
  `\nstep time / GRPO's: ${Object.entries(ratios)
    .map(([k, r]) => `${k} ${r.toFixed(3)}`)
    .join(', ')} (target <= 1.35: ${worst <= 1.35 ? 'met' : 'MISSED'}); the ablated pass is ${(ablatedShare * 100).toFixed(1)}% of a RAPO step`,
);
const file = join(opt.out!, `rl-${slug(cpuName)}${opt.quick ? '.quick' : ''}.json`);
writeJsonAtomic(file, {
  device: cpuName,
  backend: backend.name,
  createdAt: new Date().toISOString(),
  ceilingReadGBps: ceiling,
  reps,
  settings: { prompts: c.prompts_per_step, groupSize: c.group_size, maxNewTokens: c.max_new_tokens, updateEpochs: c.update_epochs, beta: c.beta },
  summary,
  ratio,
  ratios,
  ablatedShare,
  samples: measured,
});
console.log(`wrote ${file}`);

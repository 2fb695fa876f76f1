// The RAPO study: one SFT checkpoint, then RL with GRPO and with RAPO (and any ablations) on
// several seeds with the same budget and judge; every final policy evaluated on held-out
// characters; and SFT on Psy-CoT vs reply-only vs generic-CoT answers at the same token budget.
// Every run is an ordinary rapo-train run folder under <out>, so an interrupted study resumes
// where it stopped (finished runs are read back, a partial one continues from its checkpoint).
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '@rapo/files';
import { loadDataset, measureCheckpointPmiSignal, parseTrainConfig, readMetricRows, train, type TrainConfig } from '@rapo/trainer';
import type { Ablation, PmiSignal } from '@rapo/trainer';
import { renderStudyReport } from './report.js';
import { budgetConfig, HACK_LR, merge, type RunBudget } from './budget.js';
import { correctFamily, interval, mean, pairedDifference, verdict, type Interval } from './stats.js';

// The four the study is about, two parts of fidelity that a bland but well-formed reply does not
// earn (the fidelity of any non-empty reply without facts or voice is about 0.58), and the length
// of the sampled answers late in RL (a policy that stops ending its answers runs to the limit).
export const METRICS = ['heldOutFidelity', 'judgeReward', 'genericRate', 'kl', 'heldOutFacts', 'heldOutStyle', 'answerTokens'] as const;
export type Metric = (typeof METRICS)[number];
export const FORMATS = ['psy-cot', 'reply', 'generic-cot'] as const;
export type Format = (typeof FORMATS)[number];

/** An RL method: a name, the rl config it overrides, and the method it is compared with. */
export interface Variant {
  name: string;
  rl: Record<string, unknown>;
  /** The variant this one is paired with in `ablationDifferences` (default grpo). */
  baseline?: string;
}

export const GRPO: Variant = { name: 'grpo', rl: { algo: 'grpo' } };
export const RAPO: Variant = { name: 'rapo', rl: { algo: 'rapo' } };
/**
 * The weighting variants and the oracle (docs/trainer.md): each compared with GRPO, and each
 * run again on the random reward as the drift control.
 */
export const VARIANTS: Variant[] = [
  { name: 'rapo symmetric', rl: { algo: 'rapo', rapo: { variant: 'symmetric' } } },
  { name: 'rapo bounded', rl: { algo: 'rapo', rapo: { variant: 'bounded' } } },
  // The world's token labels instead of PMI, with the paper's weights: the best any PMI estimate can do.
  { name: 'oracle', rl: { algo: 'rapo', rapo: { score: 'oracle' } } },
];
/** Every RL method of the study, GRPO first (the baseline of every comparison). */
export const METHODS: Variant[] = [GRPO, RAPO, ...VARIANTS];

/**
 * The methods a list of names asks for, in the study's order. GRPO and the paper's RAPO always
 * run (the study compares them; everything else is compared with GRPO). A name is a method's own
 * ("rapo symmetric") or that without "rapo " ("symmetric").
 */
export function selectMethods(names: readonly string[]): Variant[] {
  const find = (n: string) => METHODS.find((m) => m.name === n.trim() || m.name === `rapo ${n.trim()}`);
  const unknown = names.filter((n) => !find(n));
  if (unknown.length)
    throw new RangeError(
      `Unknown method${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; expected some of ${METHODS.map((m) => m.name).join(', ')}`,
    );
  const chosen = new Set(names.map((n) => find(n)!.name));
  return METHODS.filter((m) => m === GRPO || m === RAPO || chosen.has(m.name));
}
/**
 * The drift control's margins: a method drifts when, on the random reward, it moves this much
 * further than GRPO: KL to the SFT policy (nats), answer length (share of GRPO's), or the held-out
 * generic-phrase rate (share of answers). A reward without information should change nothing a
 * method does differently from GRPO; the generic-phrase margin catches a push that KL and length
 * miss (a weighting that clears boilerplate whatever the reward says).
 */
export const DRIFT = { kl: 0.1, length: 0.1, generic: 0.1 } as const;

/** One method against GRPO on the random reward: the paired differences and the drift verdict. */
export interface DriftControl {
  kl: Interval;
  answerTokens: Interval;
  genericRate: Interval;
  grpoAnswerTokens: number;
  /** Which margins the method's mean difference exceeds: 'KL', 'length', 'generic-phrase rate'. */
  driftsBy: string[];
  drifts: boolean;
}

const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** The drift rule on mean differences paired by seed (method - GRPO, both on the random reward). */
export function driftVerdict(kl: Interval, answerTokens: Interval, genericRate: Interval, grpoAnswerTokens: number): DriftControl {
  const driftsBy = [
    ...(Math.abs(kl.mean) > DRIFT.kl ? ['KL'] : []),
    ...(Math.abs(answerTokens.mean) > DRIFT.length * grpoAnswerTokens ? ['length'] : []),
    ...(Math.abs(genericRate.mean) > DRIFT.generic ? ['generic-phrase rate'] : []),
  ];
  return { kl, answerTokens, genericRate, grpoAnswerTokens, driftsBy, drifts: driftsBy.length > 0 };
}

// Half the study's RL learning rate.
const HALF_LR = HACK_LR / 2;
const RANDOM_REWARD = { type: 'testbed-judge', weight: 1, noise: 100 };

/** The ablation flags: each adds RAPO variants that differ from the default in one setting. */
export const ABLATIONS: Record<string, Variant[]> = {
  'norm-clip': [{ name: 'rapo norm=clip', rl: { algo: 'rapo', rapo: { norm: 'clip' } } }],
  'norm-tanh': [{ name: 'rapo norm=tanh', rl: { algo: 'rapo', rapo: { norm: 'tanh' } } }],
  'one-sided': [{ name: 'rapo lam_neg=0', rl: { algo: 'rapo', rapo: { lam_neg: 0 } } }],
  'name-only': [{ name: 'rapo ablation=name-only', rl: { algo: 'rapo', rapo: { ablation: 'name-only' } } }],
  swap: [{ name: 'rapo ablation=swap', rl: { algo: 'rapo', rapo: { ablation: 'swap' } } }],
  'scorer-reference': [{ name: 'rapo scorer=reference', rl: { algo: 'rapo', rapo: { scorer: 'reference' } } }],
  'renorm-sequence': [{ name: 'rapo renorm=sequence', rl: { algo: 'rapo', rapo: { renorm: 'sequence' } } }],
  // The learning rate: both methods at half the step size, RAPO paired with GRPO at that rate.
  'lr-half': [
    { name: `grpo lr=${HALF_LR}`, rl: { algo: 'grpo', lr: HALF_LR } },
    { name: `rapo lr=${HALF_LR}`, rl: { algo: 'rapo', lr: HALF_LR }, baseline: `grpo lr=${HALF_LR}` },
  ],
};

/**
 * A method on a reward that is pure noise (judge noise sd 100 on a 0-1 score): whatever the
 * policy learns then is not from the reward. GRPO's advantages cancel per token in expectation;
 * a weighting that does not cancel shows as extra KL or a changed answer length.
 */
export function randomRewardControl(v: Variant): Variant {
  return { name: `${v.name} random reward`, rl: { ...v.rl, rewards: [RANDOM_REWARD] }, baseline: 'grpo random reward' };
}

/** The study's options: every method on seeds 1..seeds, over the budget of RunBudget. */
export interface StudyOptions extends RunBudget {
  ablations: string[];
  /** The RL methods (names as in `selectMethods`); GRPO and RAPO always run. Default: all of METHODS. */
  methods?: string[];
  /**
   * Training runs at once (default 1, in this process). Above 1 every run goes to `runner`
   * (the rapo-study app starts a child process per run).
   */
  jobs?: number;
  runner?: (job: TrainJob) => Promise<void>;
  /** Run every method again on a random reward, the drift control (default true). */
  control?: boolean;
  /**
   * Seeds 1..controlSeeds of the drift control (default min(3, seeds)). Its rule compares means
   * against margins, not a test, so it needs fewer seeds than the comparisons.
   */
  controlSeeds?: number;
  /** Run the SFT response-format comparison. */
  formats: boolean;
  /** Measure the PMI signal quality of the SFT checkpoint and of every final policy (default true). */
  pmiSignal?: boolean;
}

/** One training run of the study, for a `runner`. */
export interface TrainJob {
  dir: string;
  config: TrainConfig;
  /** The folder holds an unfinished run: continue it. */
  resume: boolean;
  label: string;
}

export interface RunSummary {
  dir: string;
  seed: number;
  metrics: Record<Metric, number>;
  /** Mean wall-clock seconds of an RL step, and per sampled token (answers differ in length). */
  stepSeconds: number;
  secondsPerToken: number;
  /** [step, reward] of every RL step; [step, held-out fidelity] of every evaluation. */
  rewardCurve: [number, number][];
  /** [step, KL to the SFT policy] and [step, mean answer tokens] of every RL step. */
  klCurve: [number, number][];
  lengthCurve: [number, number][];
  fidelityCurve: [number, number][];
  /** Mean over RL steps of the correlation of PMI with the advantage (RAPO runs; 0 for GRPO). */
  corrPmiAdvantage: number;
  seconds: number;
}

/** How well PMI singles out role-specific tokens: the SFT checkpoint, and each method's final policies. */
export interface StudyPmiSignal {
  /** The SFT checkpoint every RL run starts from, per split and ablation mode. */
  base: PmiSignal[];
  /** Final policies on held-out answers (with the method's ablation mode; drop for GRPO), over seeds. */
  finals: Record<string, { aucRoleVsGeneric: Interval; aucRoleVsOther: Interval; topDecileRole: Interval; corrPmiAdvantage: Interval }>;
}

export interface StudyResults {
  seeds: number;
  methods: Record<string, Record<Metric, Interval>>;
  difference: Record<Metric, Interval>;
  overheadRatio: number;
  /**
   * Each variant, the oracle and each ablation minus its baseline (GRPO unless named), paired by
   * seed; keyed "<method> - <baseline>". With `difference`, one family per metric for Holm's
   * correction.
   */
  ablationDifferences: Record<string, Record<Metric, Interval>>;
  /** Comparisons in each metric's Holm family. */
  familySize: number;
  /** The random-reward control: each method minus GRPO on the random reward, and whether it drifts. */
  control?: Record<string, DriftControl>;
  /** SFT only, per response format: held-out fidelity, judge reward, generic rate. */
  sftFormats?: Record<
    Format,
    { steps: number; heldOutFidelity: Interval; judgeReward: Interval; genericRate: Interval; heldOutFacts: Interval; heldOutStyle: Interval }
  >;
  /** Psy-CoT minus each other format, held-out fidelity, paired by seed. */
  formatDifferences?: Record<string, Interval>;
  pmiSignal?: StudyPmiSignal;
  conclusions: string[];
  stepSeconds: Record<string, number>;
  runs: Record<string, RunSummary[]>;
  settings: Omit<StudyOptions, 'log' | 'base' | 'runner'> & { base?: Record<string, unknown> };
  createdAt: string;
  seconds: number;
}

/** The numbers of a finished run folder. */
export function summarize(dir: string, seed: number): RunSummary {
  const rows = readMetricRows(dir);
  const evals = rows.filter((r) => r.fidelity?.overall !== undefined && r.evalReward !== undefined);
  const final = evals.at(-1);
  if (!final) throw new Error(`${dir}: no held-out evaluation in metrics.jsonl; the run did not finish`);
  const steps = rows.filter((r) => r.phase === 'rl' && r.reward !== undefined);
  const tail = steps.slice(Math.floor(steps.length * 0.75));
  const timing = steps.map((r) => Object.values((r as { timing?: Record<string, number> }).timing ?? {}).reduce((a, b) => a + b, 0));
  return {
    dir,
    seed,
    metrics: {
      heldOutFidelity: final.fidelity!.overall!,
      judgeReward: final.evalReward!,
      genericRate: final.evalGenericRate ?? 0,
      kl: tail.length ? mean(tail.map((r) => r.kl ?? 0)) : 0,
      heldOutFacts: final.fidelity!.facts ?? 0,
      heldOutStyle: final.fidelity!.style ?? 0,
      answerTokens: tail.length ? mean(tail.map((r) => r.responseLength ?? 0)) : 0,
    },
    stepSeconds: timing.length ? mean(timing) : 0,
    secondsPerToken: steps.length ? mean(steps.map((r) => 1 / (r.tokensPerSecond ?? Infinity))) : 0,
    rewardCurve: steps.map((r) => [r.step, r.reward!]),
    klCurve: steps.map((r) => [r.step, r.kl ?? 0]),
    lengthCurve: steps.map((r) => [r.step, r.responseLength ?? 0]),
    fidelityCurve: evals.filter((r) => r.phase === 'rl').map((r) => [r.step, r.fidelity!.overall!]),
    corrPmiAdvantage: steps.length ? mean(steps.map((r) => r.corrPmiAdvantage ?? 0)) : 0,
    seconds: rows.at(-1)?.time ?? 0,
  };
}

/** Runs (or continues, or reads back) one training run, here or through the runner. */
async function runOnce(job: Omit<TrainJob, 'resume'>, seed: number, log: (l: string) => void, runner?: (job: TrainJob) => Promise<void>): Promise<RunSummary> {
  const { dir, config, label } = job;
  const finished = existsSync(join(dir, 'final')) && readMetricRows(dir).some((r) => r.fidelity?.overall !== undefined);
  if (finished) {
    log(`${label}: done before, read back from ${dir}`);
    return summarize(dir, seed);
  }
  const resume = existsSync(join(dir, 'resolved-config.yaml'));
  log(`${label}: ${resume ? 'continuing' : 'training'} -> ${dir}`);
  const t0 = performance.now();
  if (runner) await runner({ ...job, resume });
  else await train({ config, out: dir, resume });
  const s = summarize(dir, seed);
  log(
    `${label}: held-out fidelity ${s.metrics.heldOutFidelity.toFixed(3)}, judge ${s.metrics.judgeReward.toFixed(3)}, generic ${(100 * s.metrics.genericRate).toFixed(0)}%, kl ${s.metrics.kl.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
  return s;
}

/** fn over every item, at most `jobs` at once; results in the items' order. Stops at the first failure. */
async function inPool<T, R>(items: T[], jobs: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(jobs, items.length) }, worker));
  const error = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (error) throw error.reason;
  return results;
}

/** Mean characters of an SFT example (profile, message, answer) in a response format. */
function exampleChars(base: Record<string, unknown>, format: Format): number {
  const d = loadDataset(parseTrainConfig(merge(base, { data: { response_format: format } })));
  return mean(d.sftSample.map((e) => e.profile.length + e.message.length + e.response.length));
}

export async function runStudy(o: StudyOptions): Promise<StudyResults> {
  if (!Number.isInteger(o.seeds) || o.seeds < 2) throw new RangeError(`Expected at least 2 seeds (intervals need them) but received ${o.seeds}`);
  if (o.controlSeeds !== undefined && !(Number.isInteger(o.controlSeeds) && o.controlSeeds >= 2 && o.controlSeeds <= o.seeds)) {
    throw new RangeError(`Expected 2..${o.seeds} (the study's seeds) control seeds but received ${o.controlSeeds}`);
  }
  for (const a of o.ablations) {
    if (!ABLATIONS[a]) throw new RangeError(`Unknown ablation "${a}"; expected some of ${Object.keys(ABLATIONS).join(', ')}`);
  }
  const jobs = o.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`Expected a whole number >= 1 of jobs but received ${o.jobs}`);
  if (jobs > 1 && !o.runner)
    throw new TypeError(`${jobs} jobs at once need a runner that trains elsewhere (the rapo-study app gives one); one process trains one run at a time`);
  const runner = jobs > 1 ? o.runner : undefined;
  const methods = selectMethods(o.methods ?? METHODS.map((m) => m.name));
  const log = o.log ?? (() => {});
  const started = performance.now();
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
  // The world (characters, held-out split, prompt sets) is fixed; seeds vary weights of the
  // SFT runs, the data order and the sampling.
  // The budget on which GRPO falls into the judge's hack (docs/testbed.md): RAPO is there to prevent it.
  const base = budgetConfig(o, 3);
  const controls = o.control !== false ? methods.map(randomRewardControl) : [];
  const variants = [...methods, ...o.ablations.flatMap((a) => ABLATIONS[a]!), ...controls];
  const controlSeeds = seeds.slice(0, o.controlSeeds ?? 3);
  const seedsOf = (v: Variant) => (controls.includes(v) ? controlSeeds : seeds);
  const formats = o.formats ? [...FORMATS] : o.init ? [] : (['psy-cot'] as Format[]);
  const total = (o.formats ? FORMATS.length * seeds.length : o.init ? 0 : 1) + variants.reduce((a, v) => a + seedsOf(v).length, 0);
  let n = 0;
  const label = (what: string) => `[${++n}/${total}] ${what}`;

  // SFT: the base checkpoint (Psy-CoT, seed 1) and, with formats, every format x seed at the
  // same token budget (steps scaled by the mean example length).
  const psyChars = exampleChars(base, 'psy-cot');
  const sftRuns: Partial<Record<Format, RunSummary[]>> = {};
  const sftSteps: Partial<Record<Format, number>> = {};
  const sftJobs = formats.flatMap((f) => {
    const steps = f === 'psy-cot' ? o.sftSteps : Math.max(1, Math.round((o.sftSteps * psyChars) / exampleChars(base, f)));
    sftSteps[f] = steps;
    return (o.formats ? seeds : [1]).map((seed) => ({ f, seed, steps, label: label(`sft ${f} seed ${seed} (${steps} steps)`) }));
  });
  const sftDone = await inPool(sftJobs, jobs, (j) => {
    const config = parseTrainConfig(merge(base, { seed: j.seed, phases: ['sft'], data: { response_format: j.f }, sft: { steps: j.steps } }));
    return runOnce({ dir: join(out, 'sft', j.f, `seed-${j.seed}`), config, label: j.label }, j.seed, log, runner);
  });
  sftJobs.forEach((j, i) => (sftRuns[j.f] ??= []).push(sftDone[i]!));
  const init = o.init ? resolve(o.init) : join(out, 'sft', 'psy-cot', 'seed-1', 'final');
  if (o.init && !existsSync(join(init, 'model.safetensors'))) throw new Error(`${o.init}: no model.safetensors; give a checkpoint folder (a run's final/)`);

  // RL from the same SFT checkpoint.
  const runs: Record<string, RunSummary[]> = {};
  const rlJobs = variants.flatMap((v) => seedsOf(v).map((seed) => ({ v, seed, label: label(`rl ${v.name} seed ${seed}`) })));
  const rlDone = await inPool(rlJobs, jobs, (j) => {
    const config = parseTrainConfig(merge(base, { seed: j.seed, phases: ['rl'], model: { init }, rl: j.v.rl }));
    return runOnce({ dir: join(out, 'rl', j.v.name.replace(/[^a-z0-9=_-]+/gi, '_'), `seed-${j.seed}`), config, label: j.label }, j.seed, log, runner);
  });
  rlJobs.forEach((j, i) => (runs[j.v.name] ??= []).push(rlDone[i]!));

  const of = (rs: RunSummary[], m: Metric) => rs.map((r) => r.metrics[m]);
  const methodStats: StudyResults['methods'] = {};
  for (const [name, rs] of Object.entries(runs))
    methodStats[name] = Object.fromEntries(METRICS.map((m) => [m, interval(of(rs, m))])) as Record<Metric, Interval>;
  const diffTo = (a: RunSummary[], b: RunSummary[]) =>
    Object.fromEntries(METRICS.map((m) => [m, pairedDifference(of(a, m), of(b, m))])) as Record<Metric, Interval>;
  const difference = diffTo(runs.grpo!, runs.rapo!);
  const ablationDifferences: StudyResults['ablationDifferences'] = {};
  for (const v of variants.slice(2)) {
    if (controls.includes(v)) continue;
    const b = v.baseline ?? 'grpo';
    ablationDifferences[`${v.name} - ${b}`] = diffTo(runs[b]!, runs[v.name]!);
  }
  // Holm across every comparison with a baseline, metric by metric.
  const family = [difference, ...Object.values(ablationDifferences)];
  for (const m of METRICS) correctFamily(family.map((d) => ({ interval: d[m], values: d[m].values! })));
  let control: StudyResults['control'];
  if (controls.length) {
    control = {};
    const g = runs['grpo random reward']!;
    const grpoLength = mean(of(g, 'answerTokens'));
    for (const v of controls.slice(1)) {
      const d = (m: Metric) => pairedDifference(of(g, m), of(runs[v.name]!, m));
      control[v.name.replace(/ random reward$/, '')] = driftVerdict(d('kl'), d('answerTokens'), d('genericRate'), grpoLength);
    }
  }
  const stepSeconds = Object.fromEntries(Object.entries(runs).map(([k, rs]) => [k, mean(rs.map((r) => r.stepSeconds))]));
  // Per sampled token: RAPO and GRPO sample answers of different lengths, and a step's time
  // grows with them; the extra work of RAPO (the profile-ablated pass) is per token too.
  const perToken = (name: string) => mean(runs[name]!.map((r) => r.secondsPerToken));
  const overheadRatio = perToken('rapo') / perToken('grpo');

  const conclusions = [
    verdict(difference.heldOutFidelity, 'RAPO - GRPO, held-out fidelity'),
    verdict(difference.judgeReward, 'RAPO - GRPO, judge reward'),
    verdict(difference.genericRate, 'RAPO - GRPO, generic-phrase rate'),
    verdict(difference.kl, 'RAPO - GRPO, KL to the SFT policy'),
    verdict(difference.heldOutFacts, 'RAPO - GRPO, held-out facts'),
    `RAPO / GRPO wall-clock per sampled token = ${overheadRatio.toFixed(3)} (per step: ${(stepSeconds.rapo! / stepSeconds.grpo!).toFixed(3)})`,
    ...Object.entries(ablationDifferences).flatMap(([k, d]) => [
      verdict(d.heldOutFidelity, `${k}, held-out fidelity`),
      verdict(d.genericRate, `${k}, generic-phrase rate`),
      verdict(d.kl, `${k}, KL to the SFT policy`),
    ]),
    ...Object.entries(control ?? {}).map(
      ([k, c]) =>
        `random-reward control, ${k} - grpo: KL ${signed(c.kl.mean, 4)}, answer tokens ${signed(c.answerTokens.mean, 1)} (GRPO ${c.grpoAnswerTokens.toFixed(1)}), generic-phrase rate ${signed(100 * c.genericRate.mean, 1)} points: ${c.drifts ? `drifts by ${c.driftsBy.join(' and ')} (margins: KL ${DRIFT.kl}, length ${100 * DRIFT.length}%, generic ${100 * DRIFT.generic} points)` : 'no drift'}`,
    ),
    beatsGrpo(difference, ablationDifferences, control),
  ];
  let pmiSignal: StudyPmiSignal | undefined;
  if (o.pmiSignal !== false) {
    log('PMI signal quality: the SFT checkpoint and every final policy');
    const baseConfig = parseTrainConfig(merge(base, { seed: 1, phases: ['rl'], model: { init } }));
    const finals: StudyPmiSignal['finals'] = {};
    for (const v of variants.filter((x) => !controls.includes(x))) {
      const ablation = ((v.rl.rapo as { ablation?: Ablation } | undefined)?.ablation ?? 'drop') as Ablation;
      const per = [];
      for (const r of runs[v.name]!)
        per.push(
          (await measureCheckpointPmiSignal(join(r.dir, 'final'), baseConfig, { splits: ['heldout'], ablations: [ablation], answers: o.evalPrompts }))[0]!,
        );
      finals[v.name] = {
        aucRoleVsGeneric: interval(per.map((x) => x.aucRoleVsGeneric)),
        aucRoleVsOther: interval(per.map((x) => x.aucRoleVsOther)),
        topDecileRole: interval(per.map((x) => x.topDecile.role)),
        corrPmiAdvantage: interval(runs[v.name]!.map((r) => r.corrPmiAdvantage)),
      };
    }
    pmiSignal = { base: await measureCheckpointPmiSignal(init, baseConfig, { answers: o.evalPrompts }), finals };
    const drop = pmiSignal.base.find((x) => x.split === 'heldout' && x.ablation === 'drop')!;
    conclusions.push(
      `PMI signal of the SFT checkpoint (held-out answers, ablation drop): AUC role-specific vs generic tokens ${drop.aucRoleVsGeneric.toFixed(3)}, role-specific vs other tokens ${drop.aucRoleVsOther.toFixed(3)}; of the top 10% PMI tokens ${(100 * drop.topDecile.role).toFixed(0)}% are role-specific, ${(100 * drop.topDecile.generic).toFixed(0)}% generic`,
      `RAPO's weights there (the paper's form): in an answer with positive advantage role-specific tokens ${drop.rapoWeights.role.positive.toFixed(3)}, generic ${drop.rapoWeights.generic.positive.toFixed(3)}, other ${drop.rapoWeights.other.positive.toFixed(3)}; with negative advantage ${drop.rapoWeights.role.negative.toFixed(3)}, ${drop.rapoWeights.generic.negative.toFixed(3)}, ${drop.rapoWeights.other.negative.toFixed(3)} (GRPO: 1)`,
    );
  }
  let sftFormats: StudyResults['sftFormats'];
  let formatDifferences: StudyResults['formatDifferences'];
  if (o.formats) {
    sftFormats = Object.fromEntries(
      FORMATS.map((f) => [
        f,
        {
          steps: sftSteps[f]!,
          ...(Object.fromEntries(
            (['heldOutFidelity', 'judgeReward', 'genericRate', 'heldOutFacts', 'heldOutStyle'] as const).map((m) => [m, interval(of(sftRuns[f]!, m))]),
          ) as Record<'heldOutFidelity' | 'judgeReward' | 'genericRate' | 'heldOutFacts' | 'heldOutStyle', Interval>),
        },
      ]),
    ) as StudyResults['sftFormats'];
    formatDifferences = {};
    for (const f of ['reply', 'generic-cot'] as const) {
      const d = pairedDifference(of(sftRuns[f]!, 'heldOutFidelity'), of(sftRuns['psy-cot']!, 'heldOutFidelity'));
      formatDifferences[`psy-cot - ${f}`] = d;
      conclusions.push(verdict(d, `SFT on Psy-CoT - SFT on ${f}, held-out fidelity`));
    }
  }

  const { log: _log, runner: _runner, ...settings } = o;
  const results: StudyResults = {
    seeds: o.seeds,
    methods: methodStats,
    difference,
    overheadRatio,
    ablationDifferences,
    familySize: family.length,
    ...(control ? { control } : {}),
    ...(sftFormats ? { sftFormats } : {}),
    ...(formatDifferences ? { formatDifferences } : {}),
    ...(pmiSignal ? { pmiSignal } : {}),
    conclusions,
    stepSeconds,
    runs: { ...runs, ...Object.fromEntries(Object.entries(sftRuns).map(([f, rs]) => [`sft ${f}`, rs!])) },
    settings,
    createdAt: new Date().toISOString(),
    seconds: (performance.now() - started) / 1000,
  };
  writeJsonAtomic(join(out, 'results.json'), results);
  writeFileAtomic(join(out, 'report.html'), renderStudyReport(results));
  return results;
}

/**
 * The study's answer in one sentence: which RAPO methods beat GRPO on held-out fidelity after
 * Holm's correction, with a lower generic-phrase rate, a judge reward within 0.05 of GRPO's and
 * no drift on the random reward; or that none does.
 */
export function beatsGrpo(rapo: Record<Metric, Interval>, others: Record<string, Record<Metric, Interval>>, control: StudyResults['control']): string {
  const candidates = [
    ['rapo', rapo] as const,
    ...Object.entries(others)
      .filter(([k]) => k.endsWith(' - grpo'))
      .map(([k, d]) => [k.replace(/ - grpo$/, ''), d] as const),
  ];
  const wins = candidates.filter(
    ([name, d]) =>
      d.heldOutFidelity.mean > 0 &&
      (d.heldOutFidelity.pHolm ?? 1) < 0.05 &&
      d.genericRate.mean < 0 &&
      Math.abs(d.judgeReward.mean) <= 0.05 &&
      !(control?.[name]?.drifts ?? false),
  );
  return wins.length
    ? `Beats GRPO (held-out fidelity higher after Holm's correction, fewer generic phrases, judge reward within 0.05, no drift): ${wins.map(([n]) => n).join(', ')}`
    : "No RAPO method beats GRPO here: none has a held-out fidelity gain that survives Holm's correction together with fewer generic phrases, a comparable judge reward and no drift on the random reward";
}

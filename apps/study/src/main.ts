// rapo-study (npm run study): GRPO vs RAPO and its weighting variants on the persona testbed over
// seeds, the reward-hacking check, and the PMI signal of any run; see docs/results.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ABLATIONS, HACK_STEPS, METHODS, runHackCheck, runStudy, selectMethods, type HackOptions, type StudyOptions, type TrainJob } from '@rapo/study';
import { writeFileAtomic } from '@rapo/files';
import { applySets, loadTrainConfig, measureCheckpointPmiSignal, parseTrainConfig, train } from '@rapo/trainer';

const DEFAULT_JOBS = Math.min(2, availableParallelism());

const USAGE = `Usage: rapo-study [--quick] [--seeds N] [--methods a,b|all] [--jobs N] [--formats] [--ablations a,b|all]
                  [--no-control] [--no-pmi-signal] [--init SFT_CHECKPOINT] [--out DIR]
                  [--sft-steps N] [--rl-steps N] [--eval-prompts N] [--set key=value ...]
       rapo-study --pmi-signal-of RUN_DIR [--checkpoint DIR]
       rapo-study --hack [--seeds N] [--rl-steps N] [--init SFT_CHECKPOINT] [--set key=value ...] [--out DIR]

Trains one SFT checkpoint, then RL from it on seeds 1..N (default 8) with GRPO and RAPO (and with
--methods the symmetric and bounded weightings and the oracle score), each also on a random reward
(the drift control, on the first 3 seeds). Evaluates every final policy on held-out characters; writes <out>/results.json
and <out>/report.html (default runs/study): bootstrap intervals over seeds, paired differences with
sign-flip p-values, Holm-corrected per metric. Rerunning continues an interrupted study.

  defaults            8 seeds, the default run's SFT (300 steps), then the hack budget: 30 RL steps at rl.lr 2e-4
                      with the judge's bias 0.5 (docs/testbed.md); all 48 held-out prompts; GRPO and RAPO, each
                      also on the random reward (seeds 1-3); ${DEFAULT_JOBS} job${DEFAULT_JOBS > 1 ? 's' : ''} at once
  --quick             2 seeds, 24 SFT steps, 4 RL steps, 12 held-out prompts, every method, no control (a smoke test)
  --methods LIST      RL methods beside GRPO and RAPO (which always run): some of ${METHODS.slice(2)
    .map((m) => m.name.replace(/^rapo /, ''))
    .join(', ')},
                      or all
  --jobs N            training runs at once, each in its own process (default: ${DEFAULT_JOBS}, up to 2 by the cores);
                      a run's output goes to <run folder>.log
  --formats           also SFT on Psy-CoT, reply-only and generic-CoT answers at the same token budget, on every seed
  --control-seeds N   the random-reward runs on seeds 1..N only (default 3: the drift rule compares means with
                      margins, it is not a test)
  --no-control        skip the random-reward runs
  --init DIR          start every RL run from this SFT checkpoint (a run's final/) instead of training one
  --ablations LIST    extra RAPO settings, each differing in one: ${Object.keys(ABLATIONS).join(', ')}, or all
                      (lr-half runs GRPO and RAPO at half the RL learning rate and pairs them)
  --set key=value     a trainer option for every run of the study (repeatable), e.g.
                      --set data.characters=300 --set sft.steps=600
  --no-pmi-signal     skip measuring how well PMI singles out role-specific tokens
  --no-formats, --no-variants   the defaults (no format comparison; no methods beyond GRPO and RAPO)
  --pmi-signal-of DIR only that measurement, of a testbed run's final/ checkpoint (or --checkpoint DIR, e.g. one of
                      the run's checkpoints/step-N); writes pmi-signal.json into the checkpoint folder
  --hack              only GRPO with the hackable judge from one SFT checkpoint (trained here with the default SFT,
                      or --init), and how the generic-phrase rate rises over the RL budget (default 30 steps at
                      rl.lr 2e-4, judge bias 0.5; sampled and greedy held-out answers, 95% intervals over seeds); writes
                      <out>/hack.json and hack.html (default out runs/hack)
`;

const { values: v } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    ablations: { type: 'string' },
    formats: { type: 'boolean', default: false },
    'no-formats': { type: 'boolean', default: false },
    'no-variants': { type: 'boolean', default: false },
    methods: { type: 'string' },
    jobs: { type: 'string' },
    'control-seeds': { type: 'string' },
    'run-job': { type: 'string' },
    'no-control': { type: 'boolean', default: false },
    'no-pmi-signal': { type: 'boolean', default: false },
    'pmi-signal-of': { type: 'string' },
    checkpoint: { type: 'string' },
    hack: { type: 'boolean', default: false },
    init: { type: 'string' },
    set: { type: 'string', multiple: true },
    out: { type: 'string' },
    'sft-steps': { type: 'string' },
    'rl-steps': { type: 'string' },
    'eval-prompts': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (v.help) {
  console.log(USAGE);
  process.exit(0);
}
if (v['pmi-signal-of'] !== undefined) {
  const dir = v['pmi-signal-of'];
  try {
    const checkpoint = v.checkpoint ?? join(dir, 'final');
    if (!existsSync(join(dir, 'resolved-config.yaml'))) throw new Error(`${dir}: no resolved-config.yaml; give a rapo-train run folder`);
    if (!existsSync(checkpoint))
      throw new Error(`${checkpoint}: no such checkpoint${v.checkpoint ? '' : '; give a finished run, or --checkpoint <run>/checkpoints/step-N'}`);
    const signal = await measureCheckpointPmiSignal(checkpoint, loadTrainConfig(join(dir, 'resolved-config.yaml')));
    const f = (x: number) => x.toFixed(3);
    console.log(
      'split    ablation   tokens role/generic/other  mean PMI role/generic/other  AUC role-generic  AUC role-other  top10% role/generic  median PMI  end-of-turn PMI  RAPO w(A>0) role/generic',
    );
    for (const x of signal) {
      console.log(
        `${x.split.padEnd(8)} ${x.ablation.padEnd(10)} ${`${x.tokens.role}/${x.tokens.generic}/${x.tokens.other}`.padEnd(26)} ${`${f(x.meanPmi.role)}/${f(x.meanPmi.generic)}/${f(x.meanPmi.other)}`.padEnd(28)} ${f(x.aucRoleVsGeneric).padEnd(17)} ${f(x.aucRoleVsOther).padEnd(15)} ${`${(100 * x.topDecile.role).toFixed(0)}%/${(100 * x.topDecile.generic).toFixed(0)}%`.padEnd(20)} ${f(x.medianPmi).padEnd(11)} ${f(x.endOfTurnPmi).padEnd(16)} ${f(x.rapoWeights.role.positive)}/${f(x.rapoWeights.generic.positive)}`,
      );
    }
    writeFileAtomic(join(checkpoint, 'pmi-signal.json'), `${JSON.stringify(signal, null, 2)}\n`);
    console.log(`\nWritten: ${join(checkpoint, 'pmi-signal.json')}`);
    process.exit(0);
  } catch (e) {
    console.error(`study: ${(e as Error).message}`);
    process.exit(1);
  }
}
function setsOrExit(sets: string[]): Record<string, unknown> {
  try {
    return applySets({}, sets);
  } catch (e) {
    console.error(`study: ${(e as Error).message}`);
    process.exit(2);
  }
}
const int = (name: string, s: string | undefined, fallback: number) => {
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`study: --${name}: expected an integer >= 1 but received "${s}"\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
if (v.hack) {
  const hack: HackOptions = {
    out: v.out ?? 'runs/hack',
    seeds: int('seeds', v.seeds, 3),
    sftSteps: int('sft-steps', v['sft-steps'], parseTrainConfig({}).sft.steps),
    rlSteps: int('rl-steps', v['rl-steps'], HACK_STEPS),
    evalPrompts: int('eval-prompts', v['eval-prompts'], 48),
    ...(v.init ? { init: v.init } : {}),
    ...(v.set?.length ? { base: setsOrExit(v.set) } : {}),
    log: (line) => console.error(`hack ${new Date().toISOString().slice(11, 19)} ${line}`),
  };
  try {
    const r = await runHackCheck(hack);
    console.log(`\n${r.conclusions.join('\n')}\n\nResults: ${hack.out}/hack.json\nReport:  ${hack.out}/hack.html  (${(r.seconds / 60).toFixed(1)} min)`);
    process.exit(0);
  } catch (e) {
    console.error(`study: ${(e as Error).message}`);
    process.exit(1);
  }
}
// --run-job FILE (internal): one training run of a study with --jobs, in this child process.
if (v['run-job'] !== undefined) {
  try {
    const job = JSON.parse(readFileSync(v['run-job'], 'utf8')) as { dir: string; config: unknown; resume: boolean };
    const ac = new AbortController();
    process.on('SIGINT', () => ac.abort());
    process.on('SIGTERM', () => ac.abort());
    await train({ config: parseTrainConfig(job.config), out: job.dir, resume: job.resume, signal: ac.signal, log: (line) => console.error(line) });
    process.exit(ac.signal.aborted ? 130 : 0);
  } catch (e) {
    console.error(`study: ${(e as Error).stack ?? (e as Error).message}`);
    process.exit(1);
  }
}

/** The training processes running now, and the signal that is stopping the study, if any. */
const children = new Set<ChildProcess>();
let stoppedBy: NodeJS.Signals | undefined;
/**
 * Ctrl-C reaches the children through the terminal, but a SIGTERM (or a kill of this process
 * alone) would not: pass it on, so that every run stops at a step boundary with a checkpoint
 * instead of training on without a parent.
 */
function stopChildren(sig: NodeJS.Signals): void {
  if (stoppedBy) return;
  stoppedBy = sig;
  console.error(
    `study: ${sig}: stopping ${children.size} training run${children.size === 1 ? '' : 's'} at their next checkpoint; rerun the same command to continue`,
  );
  for (const c of children) c.kill(sig);
  if (children.size === 0) process.exit(130);
}

/** Trains one run of the study in a child process of this bundle; its output goes to <dir>.log. */
let jobCount = 0;
function childRunner(job: TrainJob): Promise<void> {
  mkdirSync(dirname(job.dir), { recursive: true });
  const file = join(tmpdir(), `rapo-study-job-${process.pid}-${++jobCount}.json`);
  writeFileAtomic(file, JSON.stringify({ dir: job.dir, config: job.config, resume: job.resume }));
  const logFile = `${job.dir}.log`;
  const fd = openSync(logFile, 'a');
  return new Promise<void>((resolve, reject) => {
    if (stoppedBy) return reject(new Error(`${job.label}: not started, the study is stopping (${stoppedBy})`));
    const child = spawn(process.execPath, [process.argv[1]!, '--run-job', file], { stdio: ['ignore', fd, fd] });
    children.add(child);
    const done = (error?: Error) => {
      children.delete(child);
      closeSync(fd);
      rmSync(file, { force: true });
      if (error) reject(error);
      else resolve();
    };
    child.on('error', (e) => done(new Error(`${job.label}: could not start the training process: ${e.message}`)));
    child.on('exit', (code, signal) =>
      done(
        code === 0
          ? undefined
          : new Error(
              `${job.label}: the training process ${signal ? `was stopped by ${signal}` : `exited with code ${code}`}; its output is in ${logFile}. Rerun the same command to continue the study.`,
            ),
      ),
    );
  });
}

const jobs = int('jobs', v.jobs, DEFAULT_JOBS);
if (jobs > availableParallelism()) console.error(`study: --jobs ${jobs} on ${availableParallelism()} cores: the runs will compete for them`);
/** A comma-separated option as its non-empty items. */
const list = (s: string | undefined) =>
  s
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean) ?? [];
const allMethods = v.methods === 'all' || (v.methods === undefined && v.quick && !v['no-variants']);
const methods = allMethods ? METHODS.map((m) => m.name) : list(v.methods);
try {
  selectMethods(methods);
} catch (e) {
  console.error(`study: --methods: ${(e as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
const ablations = v.ablations === 'all' ? Object.keys(ABLATIONS) : list(v.ablations);
const unknownAblations = ablations.filter((a) => !ABLATIONS[a]);
if (unknownAblations.length) {
  console.error(
    `study: --ablations: unknown ${unknownAblations.map((a) => `"${a}"`).join(', ')}; expected some of ${Object.keys(ABLATIONS).join(', ')}, or all\n\n${USAGE}`,
  );
  process.exit(2);
}
const options: StudyOptions = {
  out: v.out ?? (v.quick ? 'runs/study-quick' : 'runs/study'),
  seeds: int('seeds', v.seeds, v.quick ? 2 : 8),
  sftSteps: int('sft-steps', v['sft-steps'], v.quick ? 24 : parseTrainConfig({}).sft.steps),
  rlSteps: int('rl-steps', v['rl-steps'], v.quick ? 4 : 30),
  evalPrompts: int('eval-prompts', v['eval-prompts'], v.quick ? 12 : 48),
  ablations,
  // The quick smoke run covers the RL methods; the format comparison is a separate SFT question
  // (the library's tests run it on a tiny model).
  formats: v.formats && !v['no-formats'],
  ...(v.init ? { init: v.init } : {}),
  methods,
  jobs,
  runner: childRunner,
  control: !v.quick && !v['no-control'],
  ...(v['control-seeds'] !== undefined ? { controlSeeds: int('control-seeds', v['control-seeds'], 3) } : {}),
  pmiSignal: !v['no-pmi-signal'],
  ...(v.set?.length ? { base: setsOrExit(v.set) } : {}),
  log: (line) => console.error(`study ${new Date().toISOString().slice(11, 19)} ${line}`),
};
process.on('SIGINT', () => stopChildren('SIGINT'));
process.on('SIGTERM', () => stopChildren('SIGTERM'));
try {
  const r = await runStudy(options);
  console.log(
    `\n${r.conclusions.join('\n')}\n\nResults: ${options.out}/results.json\nReport:  ${options.out}/report.html  (${(r.seconds / 60).toFixed(1)} min)`,
  );
} catch (e) {
  console.error(`study: ${(e as Error).message}`);
  process.exit(stoppedBy ? 130 : 1);
}

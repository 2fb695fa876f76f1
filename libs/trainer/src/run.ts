// A training run: SFT then RL (GRPO or RAPO) into one run directory, checkpointed and resumable.
//
// <out>/resolved-config.yaml   the validated config, every default filled in
// <out>/metrics.jsonl          one row per optimizer step, plus evaluation rows
// <out>/samples.jsonl          RL samples with per-token PMI and role-specificity
// <out>/checkpoints/step-N/    model + tokenizer + optimizer.safetensors + state.json (last `keep`)
// <out>/reference/             the frozen RL reference (the policy when RL started)
// <out>/final/                 the trained model, servable with `rapo-serve local:<out>/final`
// <out>/report.html            curves, timing and samples
// <out>/judge-cache/           readable answers of llm-judge rewards (with cache: true, the default)
//
// Every input (config, data files, model init, reward setup) is checked before the folder is
// made, so a start that fails leaves nothing behind; a folder without a checkpoint or a metrics
// row (one an older version left when its start failed) is replaced by the next start.
//
// Every directory is written under a temporary name and renamed, so a crash leaves either the
// previous checkpoint or the new one. Resuming loads the newest complete checkpoint and cuts
// metrics.jsonl and samples.jsonl back to it; every random draw depends only on (seed, phase,
// step), so the resumed run makes the same updates the uninterrupted one would have made.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { appendJsonl, readJsonl, writeFileAtomic, writeJsonlAtomic } from '@rapo/files';
import {
  BpeTokenizer,
  CHAT_SPECIAL_TOKENS,
  describeBackend,
  END_OF_TURN,
  initBackend,
  LlamaModel,
  loadCheckpoint,
  PAD_TOKEN,
  readSafetensors,
  renderChat,
  saveCheckpoint,
  tf,
  writeSafetensors,
  type ModelConfig,
} from '@rapo/model';
import { configToYaml, ConfigError, parseTrainConfig, type TrainConfig } from './config.js';
import { loadDataset, readingProbeSet, type Dataset, type PromptRecord } from './data.js';
import { sftExample } from '@rapo/testbed';
import { probeLine, profileProbe, readingProbe, weakSignalWarning, type ProfileProbe } from './probe.js';
import { promptMessages } from './format.js';
import { AdamW } from './optim.js';
import { JudgeError, makeRewardSource } from './rewards.js';
import { resolveInit } from './base.js';
import { checkRapoSetup } from './rapo.js';
import { batchAt, stepSeed } from './batches.js';
import { evaluate, rlStep, sftLoss, sftStep, type Ctx, type RlMetrics, type RlSample } from './steps.js';
import { renderReport } from './report/report.js';
import type { MetricRow, SampleRow } from './report/types.js';

export type Phase = 'sft' | 'rl';

export interface RunOptions {
  config: TrainConfig;
  /** The run directory. */
  out: string;
  /** Continue the run in `out` from its newest checkpoint. */
  resume?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Aborting stops the run after the current step, with a checkpoint. */
  signal?: AbortSignal;
  /** Step progress (default: a line through `log`). */
  progress?: (p: Progress) => void;
  /** Called with each metrics row once it is written (tests use it to simulate a crash). */
  onRow?: (row: MetricRow) => void;
}

export interface Progress {
  phase: Phase;
  /** Steps done in the phase, and its length. */
  done: number;
  total: number;
  /** Seconds the last step took, and the estimate for the rest of the phase. */
  stepSeconds: number;
  etaSeconds: number;
  /** The step's main numbers, for people. */
  text: string;
}

export interface RunResult {
  out: string;
  /** False when the run was stopped by the signal before its last step. */
  complete: boolean;
  /** Where it stopped: the phase and the updates done in it. */
  position: { phase: Phase; step: number };
  /** Held-out evaluation of the final policy. */
  final?: MetricRow;
  seconds: number;
  /** The tfjs backend it ran on, as the run's first line says. */
  backend: string;
}

export class RunError extends Error {
  override name = 'RunError';
}

/**
 * state.json of a checkpoint. The data cursor and the random state are (seed, phase, step): every
 * batch, rollout and swap is drawn from a generator seeded by them, so nothing else is needed.
 */
interface CheckpointState {
  phase: Phase;
  /** Updates done in the phase: the data cursor. */
  step: number;
  /** Updates done in the whole run (the N of checkpoints/step-N). */
  globalStep: number;
  seed: number;
  optimizerStep: number;
  /** Seconds of training before this checkpoint (a resumed run keeps counting). */
  elapsed: number;
}

const CONFIG_FILE = 'resolved-config.yaml';
const METRICS = 'metrics.jsonl';
const SAMPLES = 'samples.jsonl';

/** Writes a directory under a temporary name with `fill`, then renames it into place. */
function writeDirAtomic(dir: string, fill: (tmp: string) => void): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  fill(tmp);
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * A run folder's metrics.jsonl rows: none when there is no such file yet; a torn last line (a
 * run still writing, or one that crashed mid-write) is skipped, a bad line before it throws.
 */
export function readMetricRows(dir: string): MetricRow[] {
  return readJsonl<MetricRow>(join(dir, METRICS), { what: 'metrics row' });
}

/** Temporary files and folders a killed process left behind. */
function removeLeftovers(out: string): void {
  for (const dir of [out, join(out, 'checkpoints')]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (/\.(tmp|old)-\d+$/.test(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

const PHASE_ORDER: Record<Phase, number> = { sft: 0, rl: 1 };

/** True when a row at (phase, step) was made before the position (phase, step). */
function before(row: { phase: Phase; step: number }, pos: { phase: Phase; step: number }): boolean {
  return PHASE_ORDER[row.phase] < PHASE_ORDER[pos.phase] || (row.phase === pos.phase && row.step < pos.step);
}

function checkpointDirs(out: string): { dir: string; state: CheckpointState }[] {
  const root = join(out, 'checkpoints');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => /^step-\d+$/.test(d))
    .flatMap((d) => {
      const path = join(root, d, 'state.json');
      if (!existsSync(path)) return [];
      return [{ dir: join(root, d), state: JSON.parse(readFileSync(path, 'utf8')) as CheckpointState }];
    })
    .sort((a, b) => (before(a.state, b.state) ? -1 : before(b.state, a.state) ? 1 : 0));
}

/** The texts a scratch tokenizer learns from: every prompt and response the run will see. */
/**
 * The texts a new tokenizer is learned from: the run's own prompts and answers. Generated data
 * (testbed, reading) adds 1500 SFT examples spread over the curriculum, and a reading run adds
 * 1500 testbed role-play examples too, so that the base it pretrains has tokens for the
 * Psy-CoT answers it will later be fine-tuned on.
 */
export function tokenizerCorpus(config: TrainConfig, data: Dataset): string[] {
  const format = config.data.prompt_format;
  const texts: string[] = [];
  const add = (e: PromptRecord & { response?: string }) => texts.push(renderChat(promptMessages(e, format)), e.response ?? e.reference ?? '');
  if (config.data.source === 'jsonl') data.sftSample.forEach(add);
  else {
    const steps = Math.max(1, config.sft.steps);
    for (let i = 0; i < 1500; i++) add(data.sftBatch(Math.floor((i * steps) / 1500), 1)[0]!);
  }
  if (config.data.source === 'reading') {
    for (let i = 0; i < 1500; i++) {
      const e = sftExample({ seed: config.seed, stage: 'mix', mix: { ...config.data.mix, foreign: 0 } }, i, 0);
      add({ id: e.id, profile: e.profile, message: e.turn.text, response: e.response });
    }
  }
  [...data.rlTrain, ...data.rlEval].forEach(add);
  return texts;
}

/** What SFT trains on, for the run's first line. */
function sftDescription(config: TrainConfig, data: Dataset): string {
  const d = config.data;
  if (d.source === 'jsonl') return `${data.sftSample.length} SFT examples`;
  if (d.source === 'reading') return 'SFT on reading tasks about a fresh character per example';
  return `SFT on ${d.fresh_characters ? 'a fresh character per example' : `the world's ${data.world!.train.length} training characters`}`;
}

/** A new model and a tokenizer learned from the run's texts, both fixed by the seed. */
export function scratchModel(config: TrainConfig, data: Dataset): { model: LlamaModel; tokenizer: BpeTokenizer } {
  const m = config.model;
  const tokenizer = BpeTokenizer.train(tokenizerCorpus(config, data), { vocabSize: m.vocab_size, specialTokens: [...CHAT_SPECIAL_TOKENS] });
  const modelConfig: ModelConfig = {
    vocab_size: tokenizer.vocabSize,
    hidden_size: m.hidden_size,
    intermediate_size: m.intermediate_size,
    num_hidden_layers: m.num_hidden_layers,
    num_attention_heads: m.num_attention_heads,
    num_key_value_heads: m.num_key_value_heads,
    max_position_embeddings: m.max_position_embeddings,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: m.tie_word_embeddings,
  };
  return { model: LlamaModel.init(modelConfig, stepSeed(config.seed, 'init', 0)), tokenizer };
}

/** The model a run starts from: new (model.init scratch), the shipped base, or a checkpoint. */
export function initialModel(config: TrainConfig, data: Dataset): { model: LlamaModel; tokenizer: BpeTokenizer } {
  if (config.model.init === 'scratch') return scratchModel(config, data);
  const { model, tokenizer } = loadCheckpoint(resolveInit(config.model.init));
  return { model, tokenizer };
}

function saveRunCheckpoint(dir: string, model: LlamaModel, tokenizer: BpeTokenizer, optimizer: AdamW, state: CheckpointState, promptFormat: string): void {
  writeDirAtomic(dir, (tmp) => {
    saveCheckpoint(tmp, model, tokenizer, { metadata: { phase: state.phase, step: String(state.step), prompt_format: promptFormat } });
    writeSafetensors(join(tmp, 'optimizer.safetensors'), optimizer.state());
    writeFileSync(join(tmp, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  });
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The console summary of an RL step: every signal metrics.jsonl has, compactly. `judgeFailuresTotal`
 * is the run's count so far, shown beside the step's when the step had failures.
 */
export function rlLine(m: RlMetrics, judgeFailuresTotal?: number): string {
  const f = (x: number, d = 3) => x.toFixed(d);
  const parts = Object.entries(m.rewardParts);
  const t = m.timing;
  return [
    `reward ${f(m.reward)}${parts.length > 1 ? ` (${parts.map(([k, v]) => `${k} ${f(v)}`).join(', ')})` : ''}`,
    `generic ${(m.genericRate * 100).toFixed(0)}%`,
    ...(m.judgeAddressRate > 0 ? [`judge-talk ${(m.judgeAddressRate * 100).toFixed(0)}%`] : []),
    `len ${m.responseLength.toFixed(0)}`,
    `kl ${f(m.kl, 4)}`,
    `ent ${f(m.entropy, 2)}`,
    `clip ${f(m.clipFraction.low, 2)}/${f(m.clipFraction.high, 2)}`,
    ...(m.pmi && m.score && m.weight
      ? [
          `pmi ${f(m.pmi.mean)}±${f(m.pmi.std)}`,
          `score ${f(m.score.mean, 2)}±${f(m.score.std, 2)}`,
          `w+ ${f(m.weight.pos, 2)} w- ${f(m.weight.neg, 2)}`,
          `corr ${f(m.corrPmiAdvantage ?? 0, 2)}`,
        ]
      : []),
    `| rollout ${t.rollout.toFixed(1)}s score ${t.scoring.toFixed(1)}s ablated ${t.ablated.toFixed(1)}s update ${t.update.toFixed(1)}s`,
    `${m.tokensPerSecond.toFixed(0)} tok/s`,
    ...(m.judgeFailures
      ? [`judge failures ${m.judgeFailures}${judgeFailuresTotal !== undefined ? ` (${judgeFailuresTotal} in the run)` : ''} (advantage 0)`]
      : []),
  ].join('  ');
}

/** "rl  3/10  reward 0.412 ...  18.20s/step  eta 2m07s" */
export function formatProgress(p: Progress): string {
  return `${p.phase} ${String(p.done).padStart(String(p.total).length)}/${p.total}  ${p.text}  ${p.stepSeconds.toFixed(2)}s/step  eta ${fmtSeconds(p.etaSeconds)}`;
}

export { fmtSeconds as formatSeconds };

/** Differences between two resolved configs, as "key: old -> new" lines. */
function configDiff(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'object' && a && typeof b === 'object' && b && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => configDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${path}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}

function sampleRow(step: number, s: RlSample): SampleRow {
  return {
    step,
    prompt: `${s.prompt.name ? `[${s.prompt.name}] ` : ''}${s.prompt.message}`,
    response: s.response,
    reward: s.reward,
    advantage: s.advantage,
    tokens: s.tokens,
    ...(s.score ? { score: s.score } : {}),
    ...(s.mi ? { pmi: s.mi } : {}),
  };
}

/** Runs (or continues) a training run. */
/** Lets pending timers and signal handlers run (they cannot while a loop only computes). */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function train(options: RunOptions): Promise<RunResult> {
  const { config, out } = options;
  const log = options.log ?? (() => {});
  const started = performance.now();
  const configPath = join(out, CONFIG_FILE);
  const yaml = configToYaml(config);

  // --- the run directory: what is there already ----------------------------------------------------
  const hasConfig = existsSync(configPath);
  // No checkpoint and no metrics row: the run never got past its start (or its first step).
  const madeProgress = hasConfig && (checkpointDirs(out).length > 0 || readMetricRows(out).length > 0);
  if (hasConfig && madeProgress && !options.resume) {
    throw new RunError(`${out} already holds a run. Pass --resume to continue it, or choose another --out.`);
  }
  if (hasConfig && options.resume) {
    const saved = parseTrainConfig(YAML.parse(readFileSync(configPath, 'utf8')), configPath);
    const diff = configDiff(saved, config);
    if (diff.length) {
      throw new RunError(
        `--resume: the config differs from the run's ${configPath}:\n  ${diff.join('\n  ')}\nResume with the same config, or start a new run with another --out.`,
      );
    }
  }
  if (!hasConfig && options.resume && existsSync(out) && readdirSync(out).length) {
    throw new RunError(`--resume: ${out} has no ${CONFIG_FILE}, so it is not a training run`);
  }
  const resumeFrom = hasConfig && options.resume ? checkpointDirs(out).at(-1) : undefined;

  // --- every input, checked before anything is written -----------------------------------------------
  const backend = await initBackend();
  let data: Dataset;
  let model: LlamaModel;
  let tokenizer: BpeTokenizer;
  let rewards: ReturnType<typeof makeRewardSource>[];
  try {
    data = loadDataset(config);
    const runs = (phase: Phase) => config.phases.includes(phase) && (phase === 'sft' ? config.sft.steps : config.rl.steps) > 0;
    if (runs('sft') && !data.sftSample.length) throw new ConfigError('sft: no SFT examples to train on');
    if (runs('rl')) {
      if (!data.rlTrain.length) throw new ConfigError('rl: no prompts to train on');
      checkRapoSetup(config, data);
    }
    // Held-out evaluation (greedy answers to rl.eval_prompts held-out prompts, the RL rewards,
    // the testbed's fidelity): every rl.eval_every RL steps, and once at the end of the run.
    // (A run without RL and without a world to judge, such as pretraining on reading tasks, needs none.)
    const needRewards = runs('rl') || data.world !== undefined;
    const world = data.world;
    rewards = needRewards ? config.rl.rewards.map((r, index) => makeRewardSource(r, world, config.seed, { runDir: out, index })) : [];
    if (resumeFrom) ({ model, tokenizer } = loadCheckpoint(resumeFrom.dir));
    else {
      try {
        ({ model, tokenizer } = initialModel(config, data));
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        throw new ConfigError(`model.init: cannot start from ${JSON.stringify(config.model.init)}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    if (hasConfig && options.resume && !madeProgress && e instanceof Error) {
      throw new ConfigError(
        `--resume: the run in ${out} has no checkpoint and no metrics: its start failed, and its saved config still fails: ${e.message}\n` +
          `Start it again without --resume and with a corrected config (the folder is reused): npm run train -- --config <file.yaml> --out ${out}`,
      );
    }
    throw e;
  }
  const pad = tokenizer.tokenToId(PAD_TOKEN);
  const endOfTurn = tokenizer.tokenToId(END_OF_TURN);
  if (pad === undefined || endOfTurn === undefined) {
    model.dispose();
    throw new ConfigError(`model.init: the tokenizer has no ${PAD_TOKEN} or ${END_OF_TURN} token; rapo trains ChatML models`);
  }

  // --- the run folder --------------------------------------------------------------------------------
  if (resumeFrom || (hasConfig && options.resume)) {
    removeLeftovers(out);
  } else {
    // A new run, or one that never got past its start: its reference (the policy RL started
    // from) belongs to the old attempt. The judge cache stays: its answers are keyed by request.
    if (hasConfig) for (const name of ['reference', 'report.html']) rmSync(join(out, name), { recursive: true, force: true });
    removeLeftovers(out);
    mkdirSync(out, { recursive: true });
    writeFileAtomic(configPath, yaml);
  }
  // Cut the logs back to the checkpoint (a crash may have left rows after it).
  const position = resumeFrom ? { phase: resumeFrom.state.phase, step: resumeFrom.state.step } : { phase: 'sft' as Phase, step: 0 };
  const keep = <T extends { phase?: Phase; step: number }>(rows: T[], phaseOf: (r: T) => Phase) =>
    rows.filter((r) => resumeFrom && before({ phase: phaseOf(r), step: r.step }, position));
  const metrics = keep(readMetricRows(out), (r) => r.phase);
  const samples = keep(readJsonl<SampleRow & { phase?: Phase }>(join(out, SAMPLES), { what: 'sample row' }), () => 'rl');
  writeJsonlAtomic(join(out, METRICS), metrics);
  writeJsonlAtomic(join(out, SAMPLES), samples);
  const elapsedBefore = resumeFrom?.state.elapsed ?? 0;
  const elapsed = () => elapsedBefore + (performance.now() - started) / 1000;
  if (resumeFrom) log(`resuming from ${resumeFrom.dir} (after ${position.step} ${position.phase} step${position.step === 1 ? '' : 's'})`);
  // Judge answers that were unreadable or failed calls, over the whole run: the count of the
  // last kept row, so it survives a resume.
  let judgeFailuresTotal = [...metrics].reverse().find((r) => r.judgeFailuresTotal !== undefined)?.judgeFailuresTotal ?? 0;
  // What the run is doing, for the message of an error.
  let doing = 'the start';
  const ctx: Ctx = { config, model, tokenizer, pad, endOfTurn, ...(data.world ? { world: data.world } : {}) };
  const evalPrompts = batchAt(data.rlEval, Math.min(config.rl.eval_prompts, data.rlEval.length), 0, config.seed, 'rl-eval');
  const heldOutRow = async (phase: Phase, step: number): Promise<MetricRow | undefined> => {
    if (!evalPrompts.length) return undefined;
    // Counted as the console counts: the evaluation after N steps, step k of n (from 1).
    doing = `the held-out evaluation after ${step} ${phase} step${step === 1 ? '' : 's'}`;
    const e = await evaluate(ctx, rewards, evalPrompts);
    judgeFailuresTotal += e.judgeFailures;
    const { count: _count, genericRate: _generic, ...fidelity } = e.fidelity ?? { count: 0, genericRate: 0 };
    const row: MetricRow = {
      step,
      phase,
      time: elapsed(),
      evalReward: e.reward,
      evalGenericRate: e.genericRate,
      truncated: e.truncated,
      ...(e.fidelity ? { fidelity } : {}),
      ...(e.judgeFailures ? { judgeFailures: e.judgeFailures, judgeFailuresTotal } : {}),
    };
    appendRow(row);
    log(
      `${phase} eval after ${step} steps: reward ${e.reward.toFixed(3)}${e.fidelity ? `  fidelity ${e.fidelity.overall.toFixed(3)}` : ''}  generic ${(e.genericRate * 100).toFixed(0)}%  truncated ${(e.truncated * 100).toFixed(0)}%` +
        (e.judgeFailures ? `  judge failures ${e.judgeFailures} (${judgeFailuresTotal} in the run; scored at the mean of the rest)` : ''),
    );
    return row;
  };
  // The profile-reading probe (probe.ts): after SFT, before RAPO when no probe ran yet, at the end.
  let lastProbe = [...metrics].reverse().find((r) => r.probe)?.probe as ProfileProbe | undefined;
  const probeRow = async (phase: Phase, step: number): Promise<void> => {
    if (config.probe.prompts === 0) return;
    if (config.data.source === 'reading') {
      const r = await readingProbe(ctx, readingProbeSet(config, config.probe.prompts));
      appendRow({ step, phase, time: elapsed(), reading: r });
      log(
        `${phase} reading probe after ${step} steps: held-out fields copied ${(100 * r.accuracy).toFixed(1)}% (${Object.entries(r.fields)
          .map(([f, a]) => `${f} ${(100 * a).toFixed(0)}%`)
          .join(', ')})`,
      );
      return;
    }
    if (config.data.source !== 'testbed') return;
    lastProbe = await profileProbe(ctx, rewards, data, config.probe.prompts);
    appendRow({ step, phase, time: elapsed(), probe: lastProbe });
    log(`${phase} probe after ${step} steps: ${probeLine(lastProbe)}`);
  };
  log(
    `rapo-train: ${describeBackend(backend)}; model ${model.config.hidden_size}x${model.config.num_hidden_layers}, vocab ${tokenizer.vocabSize}; ` +
      `${sftDescription(config, data)}, ${data.rlTrain.length} RL prompts, ${data.rlEval.length} held-out prompts`,
  );

  const appendRow = (row: MetricRow) => {
    appendJsonl(join(out, METRICS), [row]);
    options.onRow?.(row);
  };
  const keepCheckpoints = () => {
    const all = checkpointDirs(out);
    for (const c of all.slice(0, Math.max(0, all.length - config.checkpoint.keep))) rmSync(c.dir, { recursive: true, force: true });
  };
  const sftSteps = config.phases.includes('sft') ? config.sft.steps : 0;
  const checkpoint = (optimizer: AdamW, phase: Phase, step: number) => {
    const globalStep = (phase === 'rl' ? sftSteps : 0) + step;
    const dir = join(out, 'checkpoints', `step-${String(globalStep).padStart(6, '0')}`);
    saveRunCheckpoint(
      dir,
      model,
      tokenizer,
      optimizer,
      { phase, step, globalStep, seed: config.seed, optimizerStep: optimizer.t, elapsed: elapsed() },
      config.data.prompt_format,
    );
    keepCheckpoints();
  };
  const progress = (phase: Phase, step: number, total: number, stepStart: number, text: string) => {
    const stepSeconds = (performance.now() - stepStart) / 1000;
    const p: Progress = { phase, done: step + 1, total, stepSeconds, etaSeconds: stepSeconds * (total - step - 1), text };
    if (options.progress) options.progress(p);
    else log(formatProgress(p));
  };
  const phases = config.phases.filter((p) => (p === 'sft' ? config.sft.steps : config.rl.steps) > 0);
  let stopped: { phase: Phase; step: number } | undefined;
  let final: MetricRow | undefined;
  /**
   * What follows every optimizer step of a phase, `done` steps into it: a yield to the event loop
   * (a step never waits on I/O, so without it a SIGINT handler or any timer that aborts would only
   * run after the whole phase), `atEnd` after the phase's last step, a checkpoint when one is due
   * or the run is stopping, and whether the loop must stop early (the signal aborted).
   */
  const afterStep = async (optimizer: AdamW, phase: Phase, done: number, steps: number, atEnd: () => Promise<void>): Promise<boolean> => {
    await yieldToEvents();
    if (done === steps) await atEnd();
    if (done % config.checkpoint.every === 0 || done === steps || options.signal?.aborted) checkpoint(optimizer, phase, done);
    if (!options.signal?.aborted || done >= steps) return false;
    stopped = { phase, step: done };
    return true;
  };

  try {
    // --- SFT --------------------------------------------------------------------------------------
    if (phases.includes('sft') && PHASE_ORDER[position.phase] === 0) {
      const c = config.sft;
      const evalSet = data.sftEval.slice(0, c.eval_batches * c.batch_size);
      const evalRow = (step: number) => {
        if (!evalSet.length) return;
        const losses: number[] = [];
        for (let i = 0; i < evalSet.length; i += c.batch_size) losses.push(sftLoss(ctx, evalSet.slice(i, i + c.batch_size)));
        appendRow({ step, phase: 'sft', time: elapsed(), evalLoss: losses.reduce((a, b) => a + b, 0) / losses.length });
      };
      const atEnd = async () => {
        evalRow(c.steps);
        // A run that ends with SFT is judged like one that ends with RL: held-out fidelity,
        // reward and generic rate of greedy answers.
        if (!phases.includes('rl')) final = await heldOutRow('sft', c.steps);
        await probeRow('sft', c.steps);
      };
      // Resumed from the phase's last checkpoint: the evaluations that followed its last step were
      // cut from the logs with everything at or after the checkpoint, so they are made again.
      const resumedAtEnd = position.phase === 'sft' && position.step >= c.steps;
      if (resumedAtEnd) await atEnd();
      const optimizer = resumedAtEnd ? undefined : new AdamW(model.params, { weightDecay: c.weight_decay });
      if (optimizer && resumeFrom?.state.phase === 'sft') loadOptimizer(optimizer, resumeFrom);
      for (let step = position.phase === 'sft' ? position.step : 0; optimizer && step < c.steps; step++) {
        doing = `sft step ${step + 1} of ${c.steps}`;
        if (step % c.eval_every === 0) {
          evalRow(step);
          // Pretraining shows how well the model reads as it goes.
          if (config.data.source === 'reading' && step > 0) await probeRow('sft', step);
        }
        const t0 = performance.now();
        const m = sftStep(ctx, optimizer, data.sftBatch(step, c.batch_size), step);
        appendRow({ step, phase: 'sft', time: elapsed(), loss: m.loss, lr: m.lr, tokensPerSecond: m.tokens / m.seconds, gradNorm: m.gradNorm });
        progress('sft', step, c.steps, t0, `loss ${m.loss.toFixed(3)}  lr ${m.lr.toExponential(1)}  ${(m.tokens / m.seconds).toFixed(0)} tok/s`);
        const stop = await afterStep(optimizer, 'sft', step + 1, c.steps, atEnd);
        if (stop) break;
      }
      optimizer?.dispose();
    }

    // --- RL ---------------------------------------------------------------------------------------
    const resumedAtRlEnd = position.phase === 'rl' && position.step >= config.rl.steps;
    if (!stopped && phases.includes('rl') && resumedAtRlEnd) {
      // Resumed from RL's last checkpoint (the run had done every step): the final evaluation and
      // probe were cut from the logs with everything at or after it, so they are made again.
      final = await heldOutRow('rl', config.rl.steps);
      await probeRow('rl', config.rl.steps);
    } else if (!stopped && phases.includes('rl')) {
      const c = config.rl;
      const referenceDir = join(out, 'reference');
      let reference: LlamaModel | undefined;
      if (c.beta > 0 || c.rapo.scorer === 'reference') {
        // The reference is the policy as RL starts; a run resumed inside RL reads it back.
        if (!existsSync(referenceDir)) {
          if (position.phase === 'rl' && position.step > 0)
            throw new RunError(`${referenceDir} is missing; the RL reference cannot be rebuilt after RL has started`);
          writeDirAtomic(referenceDir, (tmp) =>
            saveCheckpoint(tmp, model, tokenizer, { metadata: { role: 'RL reference', prompt_format: config.data.prompt_format } }),
          );
        }
        reference = loadCheckpoint(referenceDir).model;
      }
      const optimizer = new AdamW(model.params, { weightDecay: c.weight_decay });
      if (resumeFrom?.state.phase === 'rl') loadOptimizer(optimizer, resumeFrom);
      const state = { optimizer, rewards, swapPool: data.rlTrain, ...(reference ? { reference } : {}) };
      const evalRow = (step: number) => heldOutRow('rl', step);
      const first = position.phase === 'rl' ? position.step : 0;
      if (first === 0 && c.algo === 'rapo') {
        // RAPO's weights are only as good as the scorer's PMI signal: measure it if no probe has.
        if (!lastProbe) await probeRow('rl', 0);
        const warning = lastProbe && weakSignalWarning(config, lastProbe);
        if (warning) log(warning);
      }
      for (let step = first; step < c.steps; step++) {
        if (step % c.eval_every === 0) await evalRow(step);
        doing = `rl step ${step + 1} of ${c.steps}`;
        const t0 = performance.now();
        const prompts = batchAt(data.rlTrain, c.prompts_per_step, step, config.seed, 'rl');
        const { metrics: m, samples: ss } = await rlStep(ctx, state, prompts, step);
        judgeFailuresTotal += m.judgeFailures;
        const row = { step, phase: 'rl', time: elapsed(), ...m, judgeFailuresTotal } as MetricRow;
        if (step % config.log.samples_every === 0) {
          const picked = ss.slice(0, config.log.samples).map((s) => sampleRow(step, s));
          appendJsonl(join(out, SAMPLES), picked);
        }
        appendRow(row);
        progress('rl', step, c.steps, t0, rlLine(m, judgeFailuresTotal));
        const stop = await afterStep(optimizer, 'rl', step + 1, c.steps, async () => {
          final = await evalRow(c.steps);
          await probeRow('rl', c.steps);
        });
        if (stop) break;
      }
      optimizer.dispose();
      reference?.dispose();
    }
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RunError) throw e;
    if (e instanceof JudgeError) e.message = `${doing}: ${e.message}`;
    const last = checkpointDirs(out).at(-1);
    (e as Error).message +=
      `\nThe run in ${out} can be continued${last ? ` from ${last.dir}` : ' from the start'} with --resume: npm run train -- --resume ${out}`;
    throw e;
  }

  // --- the end: final model and report ---------------------------------------------------------------
  const lastPhase = phases.at(-1) ?? 'sft';
  const end = stopped ?? { phase: lastPhase, step: lastPhase === 'sft' ? config.sft.steps : config.rl.steps };
  if (!stopped) {
    writeDirAtomic(join(out, 'final'), (tmp) =>
      saveCheckpoint(tmp, model, tokenizer, { metadata: { trained_by: 'rapo-train', algo: config.rl.algo, prompt_format: config.data.prompt_format } }),
    );
  }
  writeReport(out, config, yaml, describeBackend(backend), model, elapsed());
  model.dispose();
  if (stopped) log(`stopped after ${stopped.phase} step ${stopped.step}; continue with: npm run train -- --resume ${out}`);
  else log(`done in ${fmtSeconds(elapsed())}: ${join(out, 'final')}, ${join(out, 'report.html')}`);
  return { out, complete: !stopped, position: end, ...(final ? { final } : {}), seconds: elapsed(), backend: describeBackend(backend) };
}

function loadOptimizer(optimizer: AdamW, from: { dir: string; state: CheckpointState }): void {
  const { tensors } = readSafetensors(join(from.dir, 'optimizer.safetensors'));
  optimizer.load(tensors, from.state.optimizerStep);
}

/** Writes report.html from the run's files. */
export function writeReport(out: string, config: TrainConfig, yaml: string, backend: string, model: LlamaModel, seconds: number): void {
  const metrics = readMetricRows(out);
  const samples = readJsonl<SampleRow>(join(out, SAMPLES), { what: 'sample row' });
  const html = renderReport({
    title: `rapo-train: ${config.phases.join(' + ')} (${config.rl.algo})`,
    summary: {
      algorithm: config.rl.algo,
      phases: config.phases.join(', '),
      'model parameters': [...model.params.values()].reduce((s, v) => s + v.size, 0),
      'SFT steps': config.sft.steps,
      'RL steps': config.rl.steps,
      backend,
      'training time': fmtSeconds(seconds),
      'tfjs memory (MiB)': (tf.memory().numBytes / 2 ** 20).toFixed(1),
      // Every run with an LLM judge says how often it failed, even when it never did.
      ...(config.rl.rewards.some((r) => r.type === 'llm-judge')
        ? { 'judge failures': [...metrics].reverse().find((r) => r.judgeFailuresTotal !== undefined)?.judgeFailuresTotal ?? 0 }
        : {}),
    },
    config: yaml,
    metrics,
    samples,
  });
  writeFileAtomic(join(out, 'report.html'), html);
}

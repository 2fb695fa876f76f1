// Command line of rapo-train, kept apart from main.ts so it can be tested without training.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions, UsageError } from '@rapo/cli';
import {
  applySets,
  ConfigError,
  configHelp,
  formatSeconds,
  loadTrainConfig,
  parseTrainConfig,
  pretrainConfig,
  type Progress,
  type TrainConfig,
} from '@rapo/trainer';
import YAML from 'yaml';

export const USAGE = `Usage: rapo-train [--config <file.yaml>] [--set key=value ...] [--out <run-dir>]
       rapo-train --resume <run-dir>
       rapo-train --pretrain [--out <run-dir>]      (npm run base:pretrain)

With no arguments, trains the default run: the persona testbed, starting from the shipped base
model (a 1M-parameter model pretrained to read profiles), SFT on fresh characters, then RAPO
(about 7 minutes on 2 CPU cores). The run folder holds
resolved-config.yaml, metrics.jsonl, samples.jsonl, checkpoints/, final/ (servable with
rapo-serve) and report.html.

  --config <file>   YAML with any of the options below (unknown keys are errors)
  --set key=value   override one option, e.g. --set rl.algo=grpo --set rl.steps=20 (repeatable)
  --out <dir>       the run folder (default runs/<date>-<algo>)
  --resume <dir>    continue the run in <dir> from its last checkpoint, with its own config
  --pretrain        pretrain the base model from its recipe (libs/testbed/base/pretrain.yaml) into
                    --out (default runs/pretrain), then install it as the base that model.init "base"
                    loads; --pretrain --resume <dir> continues an interrupted pretraining
  --verbose         on an error, print its stack trace under the message too
  -h, --help        this text

Ctrl-C stops after the current step with a checkpoint; --resume continues from there.

Options (key: values (default)):
`;

export { UsageError } from '@rapo/cli';

export interface TrainArgs {
  config: TrainConfig;
  out: string;
  resume: boolean;
  /** Install the finished run as the shipped base (--pretrain). */
  pretrain?: boolean;
  /** Print the stack trace of an error under its message (--verbose). */
  verbose: boolean;
}

export function helpText(): string {
  return USAGE + configHelp() + '\n';
}

function defaultOut(config: TrainConfig, now: Date): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return join('runs', `${stamp}-${config.phases.includes('rl') ? config.rl.algo : 'sft'}`);
}

export function parseTrainArgs(argv: string[], now = new Date()): TrainArgs | 'help' {
  const parsed = parseOptions({
    args: argv,
    options: {
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      out: { type: 'string' },
      resume: { type: 'string' },
      pretrain: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  const sets = v.set ?? [];
  const verbose = v.verbose === true;
  if (v.pretrain) {
    // The base must be what its recipe makes: the recipe is edited in pretrain.yaml, not on the command line.
    if (v.config !== undefined || sets.length)
      throw new UsageError('--pretrain trains the recipe in libs/testbed/base/pretrain.yaml; edit that file instead of passing --config or --set');
    if (v.resume !== undefined && v.out !== undefined && v.out !== v.resume)
      throw new UsageError(`--resume ${v.resume} continues that run in place; leave out --out ${v.out}`);
    return { config: pretrainConfig(), out: v.resume ?? v.out ?? join('runs', 'pretrain'), resume: v.resume !== undefined, pretrain: true, verbose };
  }
  if (v.resume !== undefined) {
    if (v.out !== undefined && v.out !== v.resume) throw new UsageError(`--resume ${v.resume} continues that run in place; leave out --out ${v.out}`);
    const saved = join(v.resume, 'resolved-config.yaml');
    if (!existsSync(saved)) {
      if (!v.config) throw new UsageError(`--resume ${v.resume}: no resolved-config.yaml there, so it is not a rapo-train run`);
      return { config: loadTrainConfig(v.config, sets), out: v.resume, resume: true, verbose };
    }
    // The run's own config; --config/--set may restate it, and train() rejects any difference.
    const config = v.config ? loadTrainConfig(v.config, sets) : parseTrainConfig(applySets(YAML.parse(readFileSync(saved, 'utf8')) ?? {}, sets), saved);
    return { config, out: v.resume, resume: true, verbose };
  }
  const config = loadTrainConfig(v.config, sets);
  return { config, out: v.out ?? defaultOut(config, now), resume: false, verbose };
}

export { ConfigError };

/**
 * How an error is printed: `rapo-train: <message>`, and its stack trace only with --verbose (the
 * message says what failed and what to do; the trace is for whoever debugs the trainer).
 */
export function errorText(e: unknown, verbose: boolean): string {
  if (!(e instanceof Error)) return `rapo-train: ${String(e)}`;
  // The stack's header repeats the message (as it was when first read): only its frames are added.
  const frames = verbose ? (e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)) : [];
  return [`rapo-train: ${e.message}`, ...frames].join('\n');
}

/** A one-line progress bar: "[#######.............] rl 3/10 reward 0.41 ... eta 2m07s". */
export function progressBar(p: Progress, width = 24): string {
  const filled = Math.round((p.done / p.total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.phase} ${p.done}/${p.total}  ${p.text}  eta ${formatSeconds(p.etaSeconds)}`;
}

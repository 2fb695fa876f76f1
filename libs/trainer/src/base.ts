// The shipped base model: a small checkpoint pretrained on the testbed's reading tasks (a new
// character per example; every answer copies facts out of the profile), so that SFT starts from
// a model that already reads a profile, the way real RAPO fine-tunes a pretrained model.
// `npm run base:pretrain` reproduces it from its recipe (libs/testbed/base/pretrain.yaml): a
// rapo-train run, whose final model installBase() copies next to the recipe with base.json,
// which records how it was made and the first losses, so a test can check that the recipe still
// makes this base.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { readJsonl } from '@rapo/files';
import { ConfigError, parseTrainConfig, type TrainConfig } from './config.js';
import type { MetricRow } from './report/types.js';

/** The value of model.init that means the shipped base. */
export const BASE_INIT = 'base';
/** Where the base lives, from the repository root. */
export const BASE_PATH = join('libs', 'testbed', 'base');
/** Files of the base's checkpoint (what saveCheckpoint writes). */
const CHECKPOINT_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
/** How many first losses base.json keeps for the reproduction test. */
export const RECORDED_LOSSES = 8;

export interface BaseInfo {
  /** What made it. */
  command: string;
  /** The recipe's resolved config. */
  config: TrainConfig;
  /** SFT losses of the first steps, for the reproduction test. */
  firstLosses: number[];
  /** The reading probe at the end: held-out fields copied exactly. */
  reading?: MetricRow['reading'];
  /** Training time (seconds) and the backend it ran on. */
  seconds: number;
  backend: string;
}

/** The folder that holds the shipped base: found above this module (or the app bundle), or under the working directory. */
export function baseDir(): string {
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      if (existsSync(join(dir, BASE_PATH, 'pretrain.yaml'))) return join(dir, BASE_PATH);
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return resolve(BASE_PATH);
}

/** The checkpoint folder model.init names: the shipped base for "base", else the folder itself. */
export function resolveInit(init: string, dir = baseDir()): string {
  if (init !== BASE_INIT) return init;
  if (!existsSync(join(dir, 'model.safetensors'))) {
    throw new ConfigError(
      `model.init: "base" names the shipped base model, and ${dir} has none (model.safetensors is missing). ` +
        'Run `npm run base:pretrain` to make it (see docs/testbed.md), or set model.init to scratch or a checkpoint folder.',
    );
  }
  return dir;
}

/** The recipe of the base: its pretrain.yaml, validated. */
export function pretrainConfig(dir = baseDir()): TrainConfig {
  const path = join(dir, 'pretrain.yaml');
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the pretraining recipe (${(e as Error).message.split('\n')[0]})`);
  }
  return parseTrainConfig(raw, path);
}

export function readBaseInfo(dir = baseDir()): BaseInfo {
  const path = join(dir, 'base.json');
  if (!existsSync(path)) throw new ConfigError(`${path} is missing: the base was not installed by \`npm run base:pretrain\``);
  return JSON.parse(readFileSync(path, 'utf8')) as BaseInfo;
}

/**
 * Copies a finished pretraining run's final model into the base folder with base.json. The
 * checkpoint files are written under temporary names and renamed, so an interrupted install
 * leaves the previous base or the new one.
 */
export function installBase(run: string, dir: string, info: Omit<BaseInfo, 'firstLosses' | 'reading'>): BaseInfo {
  const final = join(run, 'final');
  for (const f of CHECKPOINT_FILES) if (!existsSync(join(final, f))) throw new ConfigError(`${final}/${f} is missing: the pretraining run did not finish`);
  const rows = readJsonl<MetricRow>(join(run, 'metrics.jsonl'), { what: 'metrics row' });
  const losses = rows.filter((r) => r.phase === 'sft' && r.loss !== undefined).sort((a, b) => a.step - b.step);
  const reading = rows.filter((r) => r.reading).at(-1)?.reading;
  const full: BaseInfo = { ...info, firstLosses: losses.slice(0, RECORDED_LOSSES).map((r) => r.loss!), ...(reading ? { reading } : {}) };
  mkdirSync(dir, { recursive: true });
  for (const f of CHECKPOINT_FILES) {
    copyFileSync(join(final, f), join(dir, `${f}.tmp`));
  }
  writeFileSync(join(dir, 'base.json.tmp'), JSON.stringify(full, null, 2) + '\n');
  for (const f of [...CHECKPOINT_FILES, 'base.json']) renameSync(join(dir, `${f}.tmp`), join(dir, f));
  return full;
}

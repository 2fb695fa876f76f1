// Training data as the trainer sees it: SFT examples and RL prompts, from the persona testbed
// (characters split into training and held-out) or from the user's JSONL files.
import { readFileSync } from 'node:fs';
import { parsePsyCot } from '@rapo/psycot';
import {
  generateWorld,
  prompts,
  readingExample,
  referenceFor,
  sftExample,
  type ReadingExample,
  type ReadingField,
  type ReadingStage,
  type SftStage,
  type UserTurn,
  type World,
} from '@rapo/testbed';
import { z } from 'zod';
import { ConfigError, type TrainConfig } from './config.js';
import { batchAt } from './batches.js';

export interface PromptRecord {
  id: string;
  /** The character's name, when known (needed for name-only ablation). */
  name?: string;
  /** The character profile, as text. */
  profile: string;
  /** The user's message the character answers. */
  message: string;
  /** A reference answer (Psy-CoT text), when known. */
  reference?: string;
  /** Testbed prompts: the character and the kind of turn, for the local judge and the metric. */
  characterId?: string;
  turn?: UserTurn;
}

export interface SftRecord extends PromptRecord {
  response: string;
  /** Reading tasks: the example, for the reading probe. */
  reading?: { fields?: ReadingField[]; example: ReadingExample };
}

export interface Dataset {
  /**
   * The SFT examples of batch `step`: consecutive slices of shuffled epochs of a fixed corpus
   * (JSONL), or examples generated for (seed, step) (testbed, reading). Either way the step is
   * the whole data cursor, so a resumed run trains on the same batches.
   */
  sftBatch(step: number, size: number): SftRecord[];
  /** Examples of what SFT trains on (the whole corpus when it is a file; the first batches otherwise). */
  sftSample: SftRecord[];
  /** Held-out examples for the SFT evaluation loss. */
  sftEval: SftRecord[];
  rlTrain: PromptRecord[];
  /** Held-out prompts for fidelity (testbed) or reward evaluation. */
  rlEval: PromptRecord[];
  world?: World;
}

// `context` is accepted for `message` (the user's turn, or the scene the character answers).
const Line = z
  .object({
    profile: z.string().min(1),
    message: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    reference: z.string().optional(),
    response: z.string().min(1).optional(),
  })
  .refine((l) => l.message !== undefined || l.context !== undefined, {
    message: 'needs "message" (or "context"): the turn the character answers',
    path: ['message'],
  });
const PromptLine = Line.transform(({ context, message, response: _r, ...rest }) => ({ ...rest, message: (message ?? context)! }));
const SftLine = Line.refine((l) => l.response !== undefined, { message: 'needs "response": the answer to learn', path: ['response'] }).transform(
  ({ context, message, response, ...rest }) => ({ ...rest, message: (message ?? context)!, response: response! }),
);

function readJsonl<T>(path: string, schema: z.ZodType<T, unknown>, what: string): T[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the ${what} file (${(e as Error).message})`);
  }
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new ConfigError(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new ConfigError(`${path}:${i + 1}: ${issue.path.join('.') || 'line'}: ${issue.message}`);
    }
    out.push(r.data);
  });
  if (out.length === 0) throw new ConfigError(`${path}: no ${what} in the file`);
  return out;
}

/** The last 10% (at least one, never all) of a list, for evaluation. */
function split<T>(items: T[]): [T[], T[]] {
  const n = Math.min(items.length - 1, Math.max(1, Math.round(items.length * 0.1)));
  return n <= 0 ? [items, items] : [items.slice(0, items.length - n), items.slice(items.length - n)];
}

/**
 * A testbed answer (Psy-CoT format) rewritten in another response format: the reply alone, or
 * the three steps' text as one free-form <think> block (generic chain of thought).
 */
export function toResponseFormat(response: string, format: 'psy-cot' | 'reply' | 'generic-cot'): string {
  if (format === 'psy-cot') return response;
  const o = parsePsyCot(response);
  if (format === 'reply') return o.reply;
  return `<think>\n${[o.perception, o.empathy, o.construction].map((x) => x.trim()).join(' ')}\n</think>\n${o.reply}`;
}

/**
 * The curriculum stage of SFT step `step`: the first `curriculum.copy` share of the steps, then
 * the next `curriculum.grounded` share, then the rest. Testbed: copy (fact questions),
 * grounded (reference answers), mix; reading: echo (repeat random values), short profiles,
 * full profiles.
 */
export function sftStageAt(config: TrainConfig, step: number): SftStage {
  const { copy, grounded } = config.data.curriculum;
  const steps = config.sft.steps;
  if (step < Math.round(copy * steps)) return 'copy';
  if (step < Math.round((copy + grounded) * steps)) return 'grounded';
  return 'mix';
}

const READING_STAGE: Record<SftStage, ReadingStage> = { copy: 'echo', grounded: 'short', mix: 'full' };

function readingRecord(e: ReadingExample): SftRecord {
  return {
    id: e.id,
    name: e.character.name,
    profile: e.profile,
    message: e.message,
    response: e.response,
    reading: { example: e, ...(e.fields ? { fields: e.fields } : {}) },
  };
}

/** Held-out reading questions (characters from the held-out side of every value space), for the reading probe. */
export function readingProbeSet(config: TrainConfig, count: number): SftRecord[] {
  const seed = (config.data.world_seed ?? config.seed) + 7;
  return Array.from({ length: count }, (_, i) =>
    readingRecord(readingExample({ seed, space: 'heldout', mix: { repeat: 0, restate: 0, questions: 1, roleplay: 0 } }, 0, i)),
  );
}

export function loadDataset(config: TrainConfig): Dataset {
  const d = config.data;
  const seed = config.seed;
  if (d.source === 'jsonl') {
    const needSft = config.phases.includes('sft') && config.sft.steps > 0;
    const needRl = config.phases.includes('rl') && config.rl.steps > 0;
    if (needSft && !d.sft_file) throw new ConfigError('data.sft_file: needed for the sft phase with data.source "jsonl"');
    if (needRl && !d.prompts_file) throw new ConfigError('data.prompts_file: needed for the rl phase with data.source "jsonl"');
    const sft = d.sft_file ? readJsonl(d.sft_file, SftLine, 'SFT example').map((r, i) => ({ id: `sft-${i}`, ...r })) : [];
    const rl = d.prompts_file ? readJsonl(d.prompts_file, PromptLine, 'prompt').map((r, i) => ({ id: `prompt-${i}`, ...r })) : [];
    const [sftTrain, sftEval] = sft.length ? split(sft) : [[], []];
    const [rlTrain, rlEval] = rl.length ? split(rl) : [[], []];
    return { sftBatch: (step, size) => batchAt(sftTrain, size, step, seed, 'sft'), sftSample: sftTrain, sftEval, rlTrain, rlEval };
  }
  const batches = (make: (step: number, index: number) => SftRecord) => ({
    sftBatch: (step: number, size: number) => Array.from({ length: size }, (_, k) => make(step, k)),
    sftSample: Array.from({ length: 64 }, (_, k) => make(Math.floor(k / 8) * Math.max(1, Math.floor(config.sft.steps / 8)), k % 8)),
  });
  if (d.source === 'reading') {
    if (config.phases.includes('rl') && config.rl.steps > 0) {
      throw new ConfigError('data.source "reading" has no RL prompts: set phases to ["sft"] (reading tasks pretrain a base model)');
    }
    const ws = d.world_seed ?? seed;
    return {
      ...batches((step, k) => readingRecord(readingExample({ seed, mix: d.reading_mix, stage: READING_STAGE[sftStageAt(config, step)] }, step, k))),
      // The held-out loss is measured on every task, with characters from the held-out side.
      sftEval: Array.from({ length: 64 }, (_, i) => readingRecord(readingExample({ seed: ws + 5, space: 'heldout', mix: d.reading_mix }, 0, i))),
      rlTrain: [],
      rlEval: [],
    };
  }
  const ws = d.world_seed ?? seed;
  const world = generateWorld({ seed: ws, characters: d.characters, heldOutFraction: d.held_out_fraction });
  const toPrompt = (p: ReturnType<typeof prompts>[number]): PromptRecord => ({
    id: p.id,
    name: p.characterName,
    profile: p.profile,
    message: p.turn.text,
    reference: referenceFor(world, p).text,
    characterId: p.characterId,
    turn: p.turn,
  });
  const heldOut = prompts(world, 'heldout', { perCharacter: 6, seed: ws + 1 }).map(toPrompt);
  const make = (step: number, k: number): SftRecord => {
    const e = sftExample({ seed, stage: sftStageAt(config, step), mix: d.mix, ...(d.fresh_characters ? {} : { characters: world.train }) }, step, k);
    return {
      id: e.id,
      name: e.characterName,
      profile: e.profile,
      message: e.turn.text,
      response: toResponseFormat(e.response, d.response_format),
      characterId: e.characterId,
      turn: e.turn,
    };
  };
  return {
    ...batches(make),
    sftEval: heldOut.map((p) => ({ ...p, response: toResponseFormat(p.reference!, d.response_format) })),
    rlTrain: prompts(world, 'train', { perCharacter: 8, seed: ws + 2 }).map(toPrompt),
    rlEval: prompts(world, 'heldout', { perCharacter: 4, seed: ws + 3 }).map(toPrompt),
    world,
  };
}

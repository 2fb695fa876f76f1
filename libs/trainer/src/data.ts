// Training data as the trainer sees it: SFT examples and RL prompts, from the persona testbed
// (characters split into training and held-out) or from the user's JSONL files.
import { readFileSync } from 'node:fs';
import { parsePsyCot } from '@rapo/psycot';
import { generateWorld, prompts, referenceFor, sftCorpus, type UserTurn, type World } from '@rapo/testbed';
import { z } from 'zod';
import { ConfigError, type TrainConfig } from './config.js';

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
}

export interface Dataset {
  sftTrain: SftRecord[];
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
  .refine((l) => l.message !== undefined || l.context !== undefined, { message: 'needs "message" (or "context"): the turn the character answers', path: ['message'] });
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

export function loadDataset(config: TrainConfig): Dataset {
  const d = config.data;
  if (d.source === 'jsonl') {
    const needSft = config.phases.includes('sft') && config.sft.steps > 0;
    const needRl = config.phases.includes('rl') && config.rl.steps > 0;
    if (needSft && !d.sft_file) throw new ConfigError('data.sft_file: needed for the sft phase with data.source "jsonl"');
    if (needRl && !d.prompts_file) throw new ConfigError('data.prompts_file: needed for the rl phase with data.source "jsonl"');
    const sft = d.sft_file ? readJsonl(d.sft_file, SftLine, 'SFT example').map((r, i) => ({ id: `sft-${i}`, ...r })) : [];
    const rl = d.prompts_file ? readJsonl(d.prompts_file, PromptLine, 'prompt').map((r, i) => ({ id: `prompt-${i}`, ...r })) : [];
    const [sftTrain, sftEval] = sft.length ? split(sft) : [[], []];
    const [rlTrain, rlEval] = rl.length ? split(rl) : [[], []];
    return { sftTrain, sftEval, rlTrain, rlEval };
  }
  const ws = d.world_seed ?? config.seed;
  const world = generateWorld({ seed: ws, characters: d.characters, heldOutFraction: d.held_out_fraction });
  const sftTrain = sftCorpus(world, { examplesPerCharacter: d.examples_per_character, mix: d.mix }).map((e) => ({
    id: e.id, name: e.characterName, profile: e.profile, message: e.turn.text, response: toResponseFormat(e.response, d.response_format), characterId: e.characterId, turn: e.turn,
  }));
  const toPrompt = (p: ReturnType<typeof prompts>[number]): PromptRecord => ({
    id: p.id, name: p.characterName, profile: p.profile, message: p.turn.text, reference: referenceFor(world, p).text, characterId: p.characterId, turn: p.turn,
  });
  const heldOut = prompts(world, 'heldout', { perCharacter: 6, seed: ws + 1 }).map(toPrompt);
  return {
    sftTrain,
    sftEval: heldOut.map((p) => ({ ...p, response: toResponseFormat(p.reference!, d.response_format) })),
    rlTrain: prompts(world, 'train', { perCharacter: 8, seed: ws + 2 }).map(toPrompt),
    rlEval: prompts(world, 'heldout', { perCharacter: 4, seed: ws + 3 }).map(toPrompt),
    world,
  };
}

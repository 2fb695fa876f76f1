// Corpora from the world: SFT examples for training characters (reference responses mixed with
// degraded ones), RL prompts, and held-out prompts for evaluation. Held-out characters never
// appear in an SFT example or a training RL prompt, not even as the source of foreign facts.
// Everything is a function of the world and the seed: the same seed gives the same bytes.
import type { ChatMessage } from '@rapo/llm';
import { buildChatPrompt, parseProfile, type Lang, type ReasoningStyle } from '@rapo/psycot';
import type { TurnKind } from './lexicon.js';
import {
  foreignResponse,
  genericResponse,
  offStyleResponse,
  paddedResponse,
  referenceResponse,
  RESPONSE_KINDS,
  type Response,
  type ResponseKind,
} from './responses.js';
import { Rng } from '@rapo/random';
import { DEFAULT_KIND_WEIGHTS, generateTurn, type UserTurn } from './turns.js';
import { freshCharacter, PROFILE_PHRASINGS, profileText, type Character, type World } from './world.js';

export type ResponseMix = Record<ResponseKind, number>;
/**
 * The default SFT mix: mostly reference answers; generic boilerplate and off-style answers so
 * the SFT policy starts imperfect; a few padded answers (reference plus empathy phrases), which
 * give RL a judge-pleasing habit to amplify. `foreign` (another character's facts) is an option.
 */
export const DEFAULT_MIX: ResponseMix = { reference: 0.6, generic: 0.05, padded: 0.25, foreign: 0, offstyle: 0.1 };

export interface Prompt {
  id: string;
  characterId: string;
  characterName: string;
  split: 'train' | 'heldout';
  /** Which phrasing of the profile text (0 .. PROFILE_PHRASINGS - 1). */
  profileVariant: number;
  profile: string;
  turn: UserTurn;
}

export interface Example extends Prompt {
  /** The character, for examples about a fresh character that no world holds. */
  character?: Character;
  responseKind: ResponseKind;
  /** The whole answer in the Psy-CoT format. */
  response: string;
  reply: string;
}

export interface CorpusOptions {
  /** Default: the world's seed. */
  seed?: number;
  /** Default 24. */
  examplesPerCharacter?: number;
  /** Shares of each response kind (normalized). Default DEFAULT_MIX. */
  mix?: Partial<ResponseMix>;
  kindWeights?: Partial<Record<TurnKind, number>>;
}

function drawKind(rng: Rng, mix: ResponseMix): ResponseKind {
  const total = RESPONSE_KINDS.reduce((s, k) => s + mix[k], 0);
  let x = rng.next() * total;
  for (const k of RESPONSE_KINDS) {
    x -= mix[k];
    if (x < 0) return k;
  }
  return 'reference';
}

function checkMix(mix: ResponseMix): void {
  for (const k of RESPONSE_KINDS) {
    if (!(mix[k] >= 0)) throw new RangeError(`Expected a share >= 0 for mix.${k} but received ${mix[k]}`);
  }
  if (!(RESPONSE_KINDS.reduce((s, k) => s + mix[k], 0) > 0)) throw new RangeError('Expected some response kind to have a positive share in mix');
}

function prompt(
  seed: number,
  c: Character,
  rng: Rng,
  id: string,
  split: Prompt['split'],
  weights: Record<TurnKind, number>,
  phrasings?: readonly number[],
): Prompt {
  const profileVariant = phrasings?.length ? rng.pick(phrasings) : rng.int(PROFILE_PHRASINGS);
  return {
    id,
    characterId: c.id,
    characterName: c.name,
    split,
    profileVariant,
    profile: profileText(c, profileVariant, seed),
    turn: generateTurn(rng, undefined, weights),
  };
}

function response(kind: ResponseKind, c: Character, turn: UserTurn, rng: Rng, other: () => Character): Response {
  switch (kind) {
    case 'reference':
      return referenceResponse(c, turn);
    case 'generic':
      return genericResponse(turn, rng);
    case 'padded':
      return paddedResponse(c, turn, rng);
    case 'foreign':
      return foreignResponse(c, other(), turn);
    case 'offstyle':
      return offStyleResponse(c, turn, rng);
  }
}

function checkPhrasings(phrasings: readonly number[] | undefined): void {
  for (const v of phrasings ?? []) {
    if (!(Number.isInteger(v) && v >= 0 && v < PROFILE_PHRASINGS)) {
      throw new RangeError(`Expected profile phrasings in [0, ${PROFILE_PHRASINGS - 1}] but received ${v}`);
    }
  }
}

/** SFT examples for the training characters. */
export function sftCorpus(world: World, options: CorpusOptions = {}): Example[] {
  const seed = options.seed ?? world.seed;
  const per = options.examplesPerCharacter ?? 24;
  const mix = { ...DEFAULT_MIX, ...options.mix };
  checkMix(mix);
  const weights = { ...DEFAULT_KIND_WEIGHTS, ...options.kindWeights };
  const out: Example[] = [];
  for (const c of world.train) {
    for (let k = 0; k < per; k++) {
      const rng = Rng.derive(seed, 'sft', c.id, k);
      const p = prompt(world.seed, c, rng, `sft-${c.id}-${k}`, 'train', weights);
      const kind = drawKind(rng, mix);
      const r = response(kind, c, p.turn, rng, () => rng.pick(world.train.filter((o) => o.id !== c.id)));
      out.push({ ...p, responseKind: kind, response: r.text, reply: r.reply });
    }
  }
  return out;
}

/**
 * The stages of the SFT curriculum: `copy` (a fact question and its reference answer: short,
 * and the fact is the only thing to get right), `grounded` (reference answers to every kind of
 * turn), `mix` (reference and degraded answers in the proportions of `mix`).
 */
export type SftStage = 'copy' | 'grounded' | 'mix';
export const SFT_STAGES: readonly SftStage[] = ['copy', 'grounded', 'mix'];

export interface SftExampleOptions {
  seed: number;
  stage: SftStage;
  /**
   * Whose examples: a fresh character for every example (default), or characters drawn from
   * this list (a world's training characters).
   */
  characters?: readonly Character[];
  /** The `mix` stage's shares of response kinds. Default DEFAULT_MIX. */
  mix?: Partial<ResponseMix>;
  kindWeights?: Partial<Record<TurnKind, number>>;
  /** Profile phrasings to draw from (default all). */
  phrasings?: readonly number[];
}

/**
 * SFT example `index` of batch `step`: the same arguments give the same example. By default
 * its character is fresh (no world holds it; its facts come from the training side of every
 * value space) and no two examples share one, so the answers can only be learned by reading
 * the profile. With `characters`, it is one of those.
 */
export function sftExample(options: SftExampleOptions, step: number, index: number): Example {
  const { seed, stage } = options;
  checkPhrasings(options.phrasings);
  const rng = Rng.derive(seed, 'sft-example', step, index);
  const pool = options.characters;
  if (pool && pool.length === 0) throw new RangeError('Expected at least one character to draw SFT examples from');
  const c = pool ? pool[rng.int(pool.length)]! : freshCharacter(seed, 'sft', step, index);
  const weights = stage === 'copy' ? { ...ZERO_WEIGHTS, fact: 1 } : { ...DEFAULT_KIND_WEIGHTS, ...options.kindWeights };
  const p = prompt(seed, c, rng, `sft-${step}-${index}`, 'train', weights, options.phrasings);
  let kind: ResponseKind = 'reference';
  if (stage === 'mix') {
    const mix = { ...DEFAULT_MIX, ...options.mix };
    checkMix(mix);
    kind = drawKind(rng, mix);
  }
  const other = () => (pool && pool.length > 1 ? rng.pick(pool.filter((o) => o.id !== c.id)) : freshCharacter(seed, 'sft-foreign', step, index));
  const r = response(kind, c, p.turn, rng, other);
  return { ...p, ...(pool ? {} : { character: c }), responseKind: kind, response: r.text, reply: r.reply };
}

const ZERO_WEIGHTS: Record<TurnKind, number> = {
  fact: 0,
  secret: 0,
  sad: 0,
  angry: 0,
  excited: 0,
  advice: 0,
  smalltalk: 0,
  challenge: 0,
  unknown: 0,
};

export interface PromptOptions {
  seed?: number;
  /** Prompts per character. Default 8. */
  perCharacter?: number;
  kindWeights?: Partial<Record<TurnKind, number>>;
}

/** RL or evaluation prompts for one side of the split. */
export function prompts(world: World, split: Prompt['split'], options: PromptOptions = {}): Prompt[] {
  const seed = options.seed ?? world.seed;
  const per = options.perCharacter ?? 8;
  const weights = { ...DEFAULT_KIND_WEIGHTS, ...options.kindWeights };
  const chars = split === 'train' ? world.train : world.heldOut;
  return chars.flatMap((c) =>
    Array.from({ length: per }, (_, k) => prompt(world.seed, c, Rng.derive(seed, `prompts-${split}`, c.id, k), `${split}-${c.id}-${k}`, split, weights)),
  );
}

/** The reference answer to a prompt (for evaluation with references, e.g. BLEU). */
export function referenceFor(world: World, p: Prompt): Response {
  return referenceResponse(world.byId.get(p.characterId)!, p.turn);
}

/** Chat messages for a prompt, through @rapo/psycot's builder. */
export function promptMessages(p: Prompt, style: ReasoningStyle = 'psy-cot', lang: Lang = 'en'): ChatMessage[] {
  return buildChatPrompt({ profile: parseProfile(p.profile, { name: p.characterName }), style, message: p.turn.text, lang });
}

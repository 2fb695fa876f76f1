// Corpora from the world: SFT examples for training characters (reference responses mixed with
// degraded ones), RL prompts, and held-out prompts for evaluation. Held-out characters never
// appear in an SFT example or a training RL prompt, not even as the source of foreign facts.
// Everything is a function of the world and the seed: the same seed gives the same bytes.
import type { ChatMessage } from '@rapo/llm';
import { buildChatPrompt, parseProfile, type Lang, type ReasoningStyle } from '@rapo/psycot';
import type { TurnKind } from './lexicon.js';
import {
  foreignResponse, genericResponse, offStyleResponse, referenceResponse, RESPONSE_KINDS, type Response, type ResponseKind,
} from './responses.js';
import { Rng } from './rng.js';
import { DEFAULT_KIND_WEIGHTS, generateTurn, type UserTurn } from './turns.js';
import { PROFILE_PHRASINGS, profileText, type Character, type World } from './world.js';

export type ResponseMix = Record<ResponseKind, number>;
export const DEFAULT_MIX: ResponseMix = { reference: 0.6, generic: 0.2, foreign: 0.1, offstyle: 0.1 };

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
  /** Shares of each response kind (normalized). Default 60% reference, 20% generic, 10% foreign, 10% off-style. */
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

function prompt(world: World, c: Character, rng: Rng, id: string, split: Prompt['split'], weights: Record<TurnKind, number>): Prompt {
  const profileVariant = rng.int(PROFILE_PHRASINGS);
  return {
    id,
    characterId: c.id,
    characterName: c.name,
    split,
    profileVariant,
    profile: profileText(c, profileVariant, world.seed),
    turn: generateTurn(rng, undefined, weights),
  };
}

function response(kind: ResponseKind, c: Character, turn: UserTurn, rng: Rng, pool: readonly Character[]): Response {
  switch (kind) {
    case 'reference':
      return referenceResponse(c, turn);
    case 'generic':
      return genericResponse(turn, rng);
    case 'foreign': {
      const others = pool.filter((o) => o.id !== c.id);
      return foreignResponse(c, rng.pick(others), turn);
    }
    case 'offstyle':
      return offStyleResponse(c, turn, rng);
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
      const p = prompt(world, c, rng, `sft-${c.id}-${k}`, 'train', weights);
      const kind = drawKind(rng, mix);
      const r = response(kind, c, p.turn, rng, world.train);
      out.push({ ...p, responseKind: kind, response: r.text, reply: r.reply });
    }
  }
  return out;
}

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
    Array.from({ length: per }, (_, k) => prompt(world, c, Rng.derive(seed, `prompts-${split}`, c.id, k), `${split}-${c.id}-${k}`, split, weights)),
  );
}

/** The reference answer to a prompt (for evaluation with references, e.g. BLEU). */
export function referenceFor(world: World, p: Prompt): Response {
  return referenceResponse(world.byId.get(p.characterId)!, p.turn);
}

/** One JSON object per line, keys in a fixed order. */
export function toJsonl(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** Chat messages for a prompt, through @rapo/psycot's builder. */
export function promptMessages(p: Prompt, style: ReasoningStyle = 'psy-cot', lang: Lang = 'en'): ChatMessage[] {
  return buildChatPrompt({ profile: parseProfile(p.profile, { name: p.characterName }), style, message: p.turn.text, lang });
}

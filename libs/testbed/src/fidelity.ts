// The fidelity metric: evaluation only, never a reward. It reads the reply (reasoning removed)
// and checks, per dimension in [0, 1]: the relevant facts, the speech style, the traits, no
// facts of other characters, no knowledge the character cannot have, staying in character, and
// how much of the reply is not boilerplate; overall is the mean of the first six times the
// last. docs/testbed.md has the formulas.
import { stripReasoning } from '@rapo/psycot';
import { relevantFacts } from './responses.js';
import {
  admitsAi,
  factsPresent,
  foreignFacts,
  genericCount,
  genericShare,
  oppositeTraits,
  otherStyles,
  outOfKnowledge,
  ownStyle,
  ownTraits,
} from './signals.js';
import { mentions } from './text.js';
import type { UserTurn } from './turns.js';
import type { Character, World } from './world.js';

export const FIDELITY_DIMENSIONS = ['facts', 'style', 'traits', 'foreign', 'knowledge', 'inCharacter', 'boilerplate'] as const;
export type FidelityDimension = (typeof FIDELITY_DIMENSIONS)[number];

export interface FidelityScore extends Record<FidelityDimension, number> {
  /** Mean of the six content dimensions, times the boilerplate dimension (1 - genericShare). */
  overall: number;
  /** Share of the reply's sentences that are generic boilerplate. */
  genericShare: number;
  /** The reply holds at least one generic phrase. */
  hasGeneric: boolean;
}

export function fidelity(world: World, c: Character, turn: UserTurn, response: string): FidelityScore {
  const reply = stripReasoning(response, 'psy-cot');
  if (!reply) {
    const zero = Object.fromEntries(FIDELITY_DIMENSIONS.map((d) => [d, 0])) as Record<FidelityDimension, number>;
    return { ...zero, overall: 0, genericShare: 0, hasGeneric: false };
  }
  const share = genericShare(reply);
  const scores: Record<FidelityDimension, number> = {
    facts: turn.kind === 'secret' ? (mentions(reply, c.secret) ? 0 : 1) : factsPresent(reply, c, relevantFacts(turn)),
    style: ownStyle(reply, c) ? (otherStyles(reply, c) ? 0.5 : 1) : 0,
    traits: oppositeTraits(reply, c) ? 0 : ownTraits(reply, c) ? 1 : 0.5,
    foreign: foreignFacts(reply, c, world).length > 0 ? 0 : 1,
    knowledge: outOfKnowledge(reply) ? 0 : 1,
    inCharacter: admitsAi(reply) ? 0 : 1,
    boilerplate: 1 - share,
  };
  // Boilerplate dilutes everything else: a reply that is half filler is half as faithful.
  const content = FIDELITY_DIMENSIONS.filter((d) => d !== 'boilerplate');
  const overall = (content.reduce((s, d) => s + scores[d], 0) / content.length) * scores.boilerplate;
  return { ...scores, overall, genericShare: share, hasGeneric: genericCount(reply) > 0 };
}

export interface FidelitySummary extends Record<FidelityDimension, number> {
  overall: number;
  /** Share of replies with at least one generic phrase. */
  genericRate: number;
  count: number;
}

export function summarizeFidelity(scores: readonly FidelityScore[]): FidelitySummary {
  const n = scores.length;
  const mean = (f: (s: FidelityScore) => number) => (n ? scores.reduce((a, s) => a + f(s), 0) / n : 0);
  const dims = Object.fromEntries(FIDELITY_DIMENSIONS.map((d) => [d, mean((s) => s[d])])) as Record<FidelityDimension, number>;
  return { ...dims, overall: mean((s) => s.overall), genericRate: mean((s) => (s.hasGeneric ? 1 : 0)), count: n };
}

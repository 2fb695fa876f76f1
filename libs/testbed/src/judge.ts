// The local judge: the testbed's reward. It imitates an LLM judge, including its weakness: it
// scores format, role-grounded content (the relevant profile facts, the character's voice) and
// empathy phrases, and it cannot tell generic boilerplate from real empathy, so boilerplate
// raises the score of any reply. That is the failure RAPO targets; docs/testbed.md.
import { parsePsyCot, parsePsyCotLenient, PsyCotParseError } from '@rapo/psycot';
import { relevantFacts } from './responses.js';
import { hashString, Rng } from '@rapo/random';
import { factsPresent, genericCount, ownStyle } from './signals.js';
import type { UserTurn } from './turns.js';
import type { Character } from './world.js';

export interface JudgeWeights {
  format: number;
  content: number;
  generic: number;
}

export const DEFAULT_JUDGE_WEIGHTS: JudgeWeights = { format: 0.2, content: 0.5, generic: 0.3 };

export interface JudgeOptions {
  /** Standard deviation of the noise added to each score (a judge is not deterministic). Default 0.05. */
  noise?: number;
  weights?: Partial<JudgeWeights>;
  /** Seeds the noise, which is a fixed function of (seed, character, turn, response). Default 0. */
  seed?: number;
}

export interface JudgeScore {
  /** 1: strict Psy-CoT; 0.5: readable with repairs; 0: no reply found. */
  format: number;
  /** Share of the relevant profile facts the reply states (1 when the turn needs none). */
  facts: number;
  /** 1 when the reply has a marker of the character's speech style. */
  style: number;
  /** 0.7 * facts + 0.3 * style. */
  content: number;
  /** Empathy phrases, min(1, distinct phrases / 2): the part a policy can farm. */
  generic: number;
  noise: number;
  /** Weighted sum plus noise, clipped to [0, 1]. */
  total: number;
}

function readReply(text: string): { format: number; reply: string } {
  try {
    return { format: 1, reply: parsePsyCot(text).reply };
  } catch (e) {
    if (!(e instanceof PsyCotParseError)) throw e;
  }
  try {
    return { format: 0.5, reply: parsePsyCotLenient(text).reply };
  } catch (e) {
    if (!(e instanceof PsyCotParseError)) throw e;
    return { format: 0, reply: '' };
  }
}

export class LocalJudge {
  readonly weights: JudgeWeights;
  readonly noise: number;
  readonly seed: number;

  constructor(options: JudgeOptions = {}) {
    this.weights = { ...DEFAULT_JUDGE_WEIGHTS, ...options.weights };
    this.noise = options.noise ?? 0.05;
    this.seed = options.seed ?? 0;
    if (!(this.noise >= 0)) throw new RangeError(`Expected a noise >= 0 but received ${this.noise}`);
  }

  score(c: Character, turn: UserTurn, response: string): JudgeScore {
    const { format, reply } = readReply(response);
    const facts = reply ? factsPresent(reply, c, relevantFacts(turn)) : 0;
    const style = reply && ownStyle(reply, c) ? 1 : 0;
    const content = 0.7 * facts + 0.3 * style;
    const generic = Math.min(1, genericCount(reply) / 2);
    const noise = this.noise > 0 ? this.noise * new Rng(hashString(`${this.seed}\u0000${c.id}\u0000${turn.text}\u0000${response}`)).gaussian() : 0;
    const w = this.weights;
    const total = Math.min(1, Math.max(0, w.format * format + w.content * content + w.generic * generic + noise));
    return { format, facts, style, content, generic, noise, total };
  }
}

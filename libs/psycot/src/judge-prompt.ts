// A role-play judge prompt (our own rubric) for any chat model used as a reward or an
// evaluator, and the parser of its score. The parts sit between tags so that a program playing
// judge (the testbed's) can read them back.
import type { ChatMessage } from '@rapo/llm';
import { profileText, type DynamicProfile, type Profile } from './profile.js';
import type { ChatTurn } from './prompts.js';

export const JUDGE_RUBRIC = `You grade one reply of a role-playing agent. The agent was given the character profile and the conversation below and had to answer the user's last message as that character.

Score the reply from 0 to 10:
- 9-10: fully in character; uses the right facts from the profile; the character's personality and way of speaking are unmistakable; responds to what the user actually said.
- 6-8: in character with minor slips: a fact left out, a voice that wavers, a generic sentence or two.
- 3-5: plausible but generic: could come from almost any character, or gets a fact wrong.
- 0-2: out of character, contradicts the profile, claims knowledge the character cannot have, or admits to being an AI.

Write "Score: <number>" on the first line, then one sentence with the main reason.`;

export interface JudgeInput {
  profile: Profile | DynamicProfile | string;
  history?: ChatTurn[];
  message: string;
  /** The reply to grade (with or without its reasoning, as the caller decides). */
  response: string;
  rubric?: string;
}

export function buildJudgeMessages(input: JudgeInput): ChatMessage[] {
  const profile = typeof input.profile === 'string' ? input.profile : profileText(input.profile);
  const history = (input.history ?? []).map((t) => `${t.role === 'user' ? 'User' : 'Character'}: ${t.text}`).join('\n');
  return [
    { role: 'system', content: input.rubric ?? JUDGE_RUBRIC },
    {
      role: 'user',
      content: [
        `<profile>\n${profile}\n</profile>`,
        `<conversation>\n${history}\n</conversation>`,
        `<message>\n${input.message}\n</message>`,
        `<response>\n${input.response}\n</response>`,
      ].join('\n'),
    },
  ];
}

/** The tagged parts of a judge request, as buildJudgeMessages wrote them. */
export function readJudgeRequest(text: string): { profile: string; conversation: string; message: string; response: string } | undefined {
  const part = (tag: string) => {
    const m = new RegExp(`<${tag}>\\n([\\s\\S]*?)\\n</${tag}>`).exec(text);
    return m?.[1];
  };
  const profile = part('profile');
  const message = part('message');
  // The response is last and may itself contain tags: take everything up to the final </response>.
  const start = text.indexOf('<response>\n');
  const end = text.lastIndexOf('\n</response>');
  if (profile === undefined || message === undefined || start < 0 || end < start) return undefined;
  return { profile, conversation: part('conversation') ?? '', message, response: text.slice(start + '<response>\n'.length, end) };
}

export class JudgeScoreError extends Error {
  override name = 'JudgeScoreError';
}

/** The score in a judge's answer ("Score: 7", "score: 7.5/10", "**Score:** 8"), in [0, max]. */
export function parseJudgeScore(text: string, max = 10): number {
  const m = /score(?:\s+is)?\W{0,4}\s*(-?\d+(?:\.\d+)?)\s*(?:\/\s*(\d+))?/i.exec(text);
  if (!m) throw new JudgeScoreError(`Expected "Score: <number>" in the judge's answer but received ${JSON.stringify(text.slice(0, 120))}`);
  let score = Number(m[1]);
  if (m[2] && Number(m[2]) !== max && Number(m[2]) > 0) score = (score / Number(m[2])) * max;
  if (!(score >= 0 && score <= max)) throw new JudgeScoreError(`Expected a score in [0, ${max}] but received ${m[1]}${m[2] ? `/${m[2]}` : ''}`);
  return score;
}

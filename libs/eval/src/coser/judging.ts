// Judging a simulated scene, CoSER style: one judge question per dimension, answered as a list
// of flaws with integer severities 1-5; a dimension's score is
//   clamp(100 - (sum of severities - 0.3 * actor_turns) * 5, 0, 100)
// where actor_turns counts the turns of the characters (Environment turns and next-speaker
// decisions not counted). The rubric wording is ours; the dimensions, the flaw/severity format
// and the formula are CoSER's.
import type { ChatMessage } from '@rapo/llm';
import { JudgeParseError } from '../judge.js';

export const DIMENSIONS = ['Storyline Consistency', 'Anthropomorphism', 'Character Fidelity', 'Storyline Quality'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Per actor turn, this many severity points are forgiven (longer scenes have more room for flaws). */
export const SEVERITY_ALLOWANCE_PER_TURN = 0.3;
/** Each remaining severity point costs this many points out of 100. */
export const POINTS_PER_SEVERITY = 5;

export interface Flaw {
  /** Where the flaw shows and what it is. */
  instance: string;
  /** The kind of flaw (one of the dimension's kinds, as the judge named it). */
  type: string;
  /** 1 (minor) .. 5 (severe). */
  severity: number;
}

export interface DimensionVerdict {
  flaws: Flaw[];
}

/** CoSER's per-dimension score from the flaws' severities and the number of actor turns. */
export function dimensionScore(severities: readonly number[], actorTurns: number): number {
  const total = severities.reduce((s, x) => s + x, 0);
  return Math.max(0, Math.min(100 - (total - SEVERITY_ALLOWANCE_PER_TURN * actorTurns) * POINTS_PER_SEVERITY, 100));
}

/** Turns spoken by the characters: every turn except the environment's. */
export function countActorTurns(turns: readonly { speaker: string }[], environment = 'Environment'): number {
  return turns.filter((t) => t.speaker !== environment).length;
}

const RUBRICS: Record<Dimension, { question: string; kinds: [string, string][] }> = {
  'Storyline Consistency': {
    question:
      "Do the characters react as the original conversation shows them reacting? Compare each character's feelings, attitude towards the others, decisions and actions in the simulation with the original conversation and the story so far.",
    kinds: [
      [
        'Storyline Consistency',
        'a character responds with an emotion, a stance, a decision or an action that contradicts how that character responds in the original conversation or what the plot has established at this point',
      ],
    ],
  },
  Anthropomorphism: {
    question: 'Do the characters come across as living people rather than as an AI assistant wearing a costume?',
    kinds: [
      [
        'Self-identity',
        'behaves like a helpful assistant: explains, lectures, moralises, summarises, agrees too readily, lacks wishes and initiative of its own, or forgets its own social position',
      ],
      [
        'Emotional Depth',
        'feelings are flat, stated outright instead of shown, or lack the conflict, subtext and ambivalence a person in that situation would have',
      ],
      ['Persona Coherence', "the character's manner, mood or views shift without a cause within the scene"],
      ['Social Interaction', 'ignores or misreads what others say and feel, talks past them, or shows no grasp of the relationship and the social situation'],
    ],
  },
  'Character Fidelity': {
    question: 'Is each character portrayed true to the book and to their profile?',
    kinds: [
      ['Character Language', "vocabulary, diction, register or period of the speech do not fit the character's voice in the book"],
      ['Knowledge & Background', 'the character shows knowledge they could not have, misses what they should know, or gets facts of their own story wrong'],
      ['Personality & Behavior', "words or deeds go against the character's established traits, values, habits or motives"],
      ['Relationships', 'the character treats someone in a way that misrepresents their bond, history or standing with that person'],
    ],
  },
  'Storyline Quality': {
    question: 'Judged as a piece of story on its own, does the simulated conversation develop well and hang together?',
    kinds: [
      ['Flow & Progression', 'the scene repeats itself, stalls, goes in circles, drags with verbose or redundant lines, or jumps without motivation'],
      ['Logical Consistency', 'the conversation contradicts itself: facts, events, positions or what someone said earlier no longer agree'],
    ],
  },
};

export interface JudgeContext {
  book: string;
  plotSummary: string;
  scenario: string;
  /** [name, profile text] of the characters played. */
  profiles: [string, string][];
  majorCharacters: string[];
  /** The original conversation, "Name: text" blocks, thoughts removed. */
  reference: string;
  /** The simulated conversation, "Name: text" blocks, reasoning removed. */
  simulation: string;
}

/** The judge's messages for one dimension: context and rubric as system, the simulation as user. */
export function judgeMessages(dimension: Dimension, ctx: JudgeContext): ChatMessage[] {
  const rubric = RUBRICS[dimension];
  const system = [
    `You are a careful critic of character role-play. Agents acted out a scene from "${ctx.book}": each character was played by an AI agent, and lines under "Environment" were written by a separate narrator agent. Find the flaws of the simulated conversation on one dimension only: ${dimension}.`,
    '',
    '# Plot summary',
    ctx.plotSummary,
    '',
    '# Scenario',
    ctx.scenario,
    '',
    '# Characters',
    ...ctx.profiles.map(([name, text]) => `## ${name}\n${text}`),
    '',
    `Main characters: ${ctx.majorCharacters.join(', ')}`,
    '',
    '# The original conversation in the book (reference)',
    ctx.reference,
    '',
    `# Dimension: ${dimension}`,
    rubric.question,
    'Kinds of flaw to look for:',
    ...rubric.kinds.map(([type, what]) => `- ${type}: ${what}`),
    '',
    '# Severity',
    'An integer from 1 to 5: 1 = a small slip a reader would hardly notice; 3 = a clear problem that spoils part of the scene; 5 = a severe failure that breaks the scene or the character.',
    '',
    '# How to answer',
    'Judge this dimension and no other. The original conversation shows what these characters would plausibly say and do; use it as evidence, not as a script to be copied word for word.',
    'List every real flaw, each once, pointing to the line where it shows. If you find none, give an empty list.',
    'Answer with JSON only, in this form:',
    `{"${dimension}": {"flaws": [{"instance": "<where the flaw shows and what it is>", "type": "<one of the kinds above>", "severity": <integer 1-5>}]}}`,
  ].join('\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: `The simulated conversation:\n\n${ctx.simulation}` },
  ];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One flaw, checked: a description (instance or description), a type, an integer severity 1..5. */
function checkFlaw(f: unknown, i: number, dimension: Dimension): Flaw {
  if (!isObj(f)) throw new JudgeParseError(`flaws[${i}] is not an object`);
  const instance = typeof f.instance === 'string' ? f.instance : typeof f.description === 'string' ? f.description : undefined;
  if (!instance?.trim()) throw new JudgeParseError(`flaws[${i}] has no "instance" saying where the flaw shows`);
  const sev = typeof f.severity === 'string' && /^\s*\d+\s*$/.test(f.severity) ? Number(f.severity) : f.severity;
  if (typeof sev !== 'number' || !Number.isInteger(sev) || sev < 1 || sev > 5) {
    throw new JudgeParseError(`flaws[${i}].severity must be an integer from 1 to 5 but is ${JSON.stringify(f.severity)}`);
  }
  const type = typeof f.type === 'string' && f.type.trim() ? f.type : dimension;
  return { instance, type, severity: sev };
}

/**
 * A validator for parseJudgeJson: accepts {"<dimension>": {"flaws": [...]}} (the format asked
 * for; the dimension key is matched without regard to case), {"flaws": [...]}, or a bare array
 * of flaws. An empty list is valid (no flaws).
 */
export function flawValidator(dimension: Dimension): (v: unknown) => DimensionVerdict {
  return (v: unknown) => {
    let list: unknown = v;
    if (isObj(v)) {
      const key = Object.keys(v).find((k) => k.trim().toLowerCase() === dimension.toLowerCase());
      const inner = key !== undefined ? v[key] : 'flaws' in v ? v : undefined;
      if (inner === undefined) throw new JudgeParseError(`the JSON has neither a "${dimension}" entry nor a "flaws" list`);
      list = isObj(inner) ? inner.flaws : inner;
    }
    if (!Array.isArray(list)) throw new JudgeParseError(`"flaws" must be a list (use [] for no flaws)`);
    return { flaws: list.map((f, i) => checkFlaw(f, i, dimension)) };
  };
}

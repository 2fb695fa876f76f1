// Given-circumstance acting: the scene of a CoSER case played out by agents.
//
//   - Every character who speaks in the original conversation (speaking_characters_w_env,
//     Environment aside) is played by the model under test, through the psycot Character agent
//     and its scene prompt, in the run's reasoning style. Its profile: the plot's description of
//     the character + its profile text + its inner state in this scene (thought/motivation).
//     The plot summary is not shown to the actors (as in CoSER), nor other characters' inner states.
//   - An environment agent narrates what happens around the characters.
//   - A next-speaker predictor picks, after each turn, who acts next (a character or
//     "Environment") or ends the scene with <END CHAT>.
//
// The scene starts from the scenario alone (every agent's prompt holds it; nobody has spoken)
// and the first speaker is the first name of speaking_characters_w_env, as in CoSER. At most
// maxRounds turns (one speaker per round). Rounds count from 0, as in CoSER's code: an
// <END CHAT> is honoured after round END_ALLOWED_FROM_ROUND (5) or later, i.e. once at least six
// turns were spoken; earlier it is treated like any invalid answer. Reasoning is stripped
// (stripReasoning) before any other agent, the judge or the overlap metrics see a turn.
import type { CallOptions, ChatMessage, ChatModel } from '@rapo/llm';
import {
  Character,
  fromCoser,
  parseProfile,
  PsyCotParseError,
  renderProfile,
  stripReasoning,
  type Lang,
  type Profile,
  type ReasoningStyle,
  type SceneLine,
} from '@rapo/psycot';
import { ENVIRONMENT, type CoserCase, type CoserTestItem } from './load.js';

export const END_CHAT = '<END CHAT>';
/** First 0-based round after which <END CHAT> is accepted. */
export const END_ALLOWED_FROM_ROUND = 5;
export const DEFAULT_MAX_ROUNDS = 20;

export interface SceneTurn {
  round: number;
  speaker: string;
  /** 'model' for a character (the model under test), 'environment' for the narrator. */
  role: 'model' | 'environment';
  /** What everyone else sees: reasoning stripped, a leading "Name:" label removed. */
  content: string;
  /** The model's text as it came. */
  raw: string;
}

export interface NextSpeakerDecision {
  /** The round the decision follows. */
  round: number;
  /** The predictor's answer as it came. */
  raw: string;
  /** What the answer names: a speaker, END_CHAT, or null when it names nobody we know. */
  parsed: string | null;
  /** Who acts next (or END_CHAT). */
  next: string;
  /** Why the answer was not followed, when it was not. */
  fallback?: string;
}

export interface Simulation {
  turns: SceneTurn[];
  decisions: NextSpeakerDecision[];
  ended: 'end-chat' | 'max-rounds';
  /** The characters the model under test played. */
  cast: string[];
  /** Turns whose actor answer had to be asked again or repaired (psycot Character). */
  repairs: { round: number; speaker: string; attempts: number; repairs: string[] }[];
}

export interface SimulationSetup {
  actor: ChatModel;
  environment: ChatModel;
  nextSpeaker: ChatModel;
  reasoning: ReasoningStyle;
  lang: Lang;
  maxRounds: number;
  temperature: number;
  maxTokens: number;
  signal?: AbortSignal;
}

/** An actor's answer that could not be read even after the psycot repair ask. */
export class ActorFormatError extends Error {
  override name = 'ActorFormatError';
}

// --- cast and profiles -------------------------------------------------------------------------

/** The characters the model under test plays: the speakers of the original conversation but Environment. */
export function coserCast(item: CoserTestItem): string[] {
  return [...new Set(item.speaking_characters_w_env.filter((s) => s !== ENVIRONMENT))];
}

/** Who may act: the cast and Environment (added when the data does not list it). */
export function coserSpeakers(item: CoserTestItem): string[] {
  return [...coserCast(item), ENVIRONMENT];
}

/**
 * A character's profile as the actors and the judge see it: the plot's description, the
 * profile text, and (withMotive) the inner state in this scene. The per-plot summary of what
 * the character goes through is left out, so that the actors are not told how the scene ends.
 * A speaker the item has nothing about (a "Servant") gets a one-line profile.
 */
export function coserProfile(c: CoserCase, name: string, withMotive: boolean): Profile {
  const { item } = c;
  const motive = withMotive ? c.motives[name] : undefined;
  const view = {
    character_profiles: item.character_profiles,
    plot: { key_characters: item.plot.key_characters.map((k) => ({ name: k.name, ...(k.description ? { description: k.description } : {}) })) },
    key_characters: motive ? [{ name, thought: motive }] : [],
  };
  const known = name in item.character_profiles || view.plot.key_characters.some((k) => k.name === name) || motive;
  if (!known) return parseProfile({ name, identity: `A minor character in this scene of ${item.book}.` });
  return fromCoser(view, name);
}

/** The scenario as every agent reads it. */
export function sceneScenario(item: CoserTestItem): string {
  return `A scene from ${item.book}.\n\n${item.scenario.trim()}`;
}

/** Removes a leading "Name:" label the model may have written before its own turn. */
export function stripSpeakerLabel(text: string, speaker: string): string {
  const t = text.trim();
  for (const sep of [':', '：']) {
    if (t.toLowerCase().startsWith(`${speaker.toLowerCase()}${sep}`)) return t.slice(speaker.length + 1).trim();
  }
  return t;
}

// --- the environment and the next-speaker predictor ----------------------------------------

const transcriptText = (lines: readonly SceneLine[]) =>
  lines.length ? `The scene so far:\n\n${lines.map((l) => `${l.speaker}: ${l.text}`).join('\n\n')}` : 'The scene has not started yet; nobody has spoken.';

/** Messages for the environment agent's turn. */
export function environmentMessages(item: CoserTestItem, transcript: readonly SceneLine[]): ChatMessage[] {
  const majors = item.major_characters.filter((m) => m !== ENVIRONMENT);
  return sceneDirection(item, transcript, 'What happens around them now?', [
    `You narrate the surroundings of a role-play scene. Characters are played by other agents; your lines appear under the name "${ENVIRONMENT}".`,
    'When it is your turn, describe what changes around the characters in response to what they just said and did: the place itself, sounds, light and weather, and what bystanders, servants or crowds do or say.',
    `Never speak, think or act for the main characters (${majors.join(', ')}); minor figures who are not among them you may voice.`,
    'Keep it short (one to three sentences), concrete, and in the tone, period and culture of the scene. Write only the narration: no label, no notes.',
  ]);
}

/** Messages for the next-speaker predictor. */
export function nextSpeakerMessages(item: CoserTestItem, transcript: readonly SceneLine[]): ChatMessage[] {
  const speakers = coserSpeakers(item);
  return sceneDirection(item, transcript, 'Who acts next?', [
    'You direct the turn order of a role-play scene in which several agents take turns.',
    `After each turn you decide who acts next: one of the characters, or "${ENVIRONMENT}" (the narrator, who describes the surroundings and background people). Pick whoever would most naturally act next given what just happened.`,
    `When the scene has reached a natural end, answer ${END_CHAT} instead.`,
    `Answer with exactly one name from the list below, or ${END_CHAT}, and nothing else.`,
    '',
    '# Who can act',
    ...speakers.map((s) => `- ${s}`),
  ]);
}

/** Messages for a helper of the scene (narrator, turn director): its instructions, the scenario, then the transcript and one question. */
function sceneDirection(item: CoserTestItem, transcript: readonly SceneLine[], question: string, instructions: string[]): ChatMessage[] {
  const system = [...instructions, '', '# Scenario', sceneScenario(item)].join('\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: `${transcriptText(transcript)}\n\n${question}` },
  ];
}

const norm = (s: string) => s.normalize('NFKC').toLowerCase().replace(/[‘’]/g, "'").replace(/\s+/g, ' ').trim();
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What a next-speaker answer names. Rules, in order (case and spacing ignored; a <think> block
 * is dropped first):
 *   1. "<END CHAT>" (or "END CHAT" alone) anywhere -> END_CHAT.
 *   2. The first non-empty line, without quotes, markdown, a "Next speaker:" lead-in or final
 *      punctuation, equals a candidate -> that candidate.
 *   3. Otherwise the candidate named earliest in the answer as whole words (a longer name wins
 *      a tie, so "Mr Bennet" is not read inside "Mr Bennet's").
 *   4. Otherwise null.
 */
export function parseNextSpeaker(answer: string, candidates: readonly string[]): string | null {
  const text = stripReasoning(answer, 'generic-cot');
  if (/<\s*end[\s_-]*chat\s*>/i.test(text) || /^[\s"'*`]*end[\s_-]*chat[\s"'*`.!]*$/i.test(text)) return END_CHAT;
  const firstLine = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const cleaned = norm(firstLine)
    .replace(/^(?:next speaker|speaker|next)\s*[:：-]\s*/, '')
    .replace(/^[\s"'*`#>_-]+|[\s"'*`.!:;,_-]+$/g, '');
  const exact = candidates.find((c) => norm(c) === cleaned);
  if (exact) return exact;
  const haystack = norm(text);
  let best: { name: string; at: number } | null = null;
  for (const c of candidates) {
    const m = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(norm(c))}(?![\\p{L}\\p{N}])`, 'u').exec(haystack);
    if (m && (!best || m.index < best.at || (m.index === best.at && c.length > best.name.length))) best = { name: c, at: m.index };
  }
  return best?.name ?? null;
}

/**
 * Who acts next after `round`, given the predictor's answer. As in CoSER, an answer is followed
 * when it names a speaker other than the current one, or <END CHAT> from END_ALLOWED_FROM_ROUND
 * on. Otherwise (unknown name, the same speaker again, an early end) the next speaker is chosen
 * deterministically (CoSER draws at random): among the major characters and Environment other
 * than the current speaker, the one whose last turn lies furthest back (never = furthest),
 * ties in list order.
 */
export function decideNextSpeaker(args: {
  raw: string;
  round: number;
  current: string;
  item: CoserTestItem;
  turns: readonly { speaker: string }[];
}): NextSpeakerDecision {
  const { raw, round, current, item, turns } = args;
  const speakers = coserSpeakers(item);
  const parsed = parseNextSpeaker(raw, [...speakers, END_CHAT]);
  let fallback: string | undefined;
  if (parsed === END_CHAT) {
    if (round >= END_ALLOWED_FROM_ROUND) return { round, raw, parsed, next: END_CHAT };
    fallback = `${END_CHAT} after round ${round} is too early (allowed from round ${END_ALLOWED_FROM_ROUND})`;
  } else if (parsed === null) fallback = 'the answer names none of the speakers';
  else if (parsed === current) fallback = `${parsed} has just spoken`;
  else return { round, raw, parsed, next: parsed };

  const cast = new Set(coserCast(item));
  let pool = [...new Set([...item.major_characters.filter((m) => cast.has(m)), ENVIRONMENT])].filter((s) => s !== current);
  if (pool.length === 0) pool = speakers.filter((s) => s !== current);
  const lastTurn = (s: string) => {
    for (let i = turns.length - 1; i >= 0; i--) if (turns[i]!.speaker === s) return i;
    return -1;
  };
  const next = pool.reduce((a, b) => (lastTurn(b) < lastTurn(a) ? b : a));
  return { round, raw, parsed, next, fallback: `${fallback}; chose ${next}, the speaker who acted least recently` };
}

// --- the scene ---------------------------------------------------------------------------------

async function ask(model: ChatModel, messages: ChatMessage[], params: { temperature: number; max_tokens: number }, call: CallOptions): Promise<string> {
  const res = await model.chat({ messages, ...params }, call);
  return res.choices[0]?.content ?? '';
}

/** Plays out the scene of a case. HTTP errors and timeouts propagate; an unreadable actor answer is an ActorFormatError. */
export async function simulateScene(c: CoserCase, setup: SimulationSetup): Promise<Simulation> {
  const { item } = c;
  if (!Number.isInteger(setup.maxRounds) || setup.maxRounds < 1) {
    throw new RangeError(`Expected a positive integer for maxRounds but received ${setup.maxRounds}`);
  }
  const call: CallOptions = { signal: setup.signal };
  const cast = coserCast(item);
  const publicProfiles = new Map(cast.map((n) => [n, coserProfile(c, n, false)]));
  const actors = new Map(
    cast.map((name) => [
      name,
      new Character({
        profile: coserProfile(c, name, true),
        model: setup.actor,
        style: setup.reasoning,
        lang: setup.lang,
        lenient: true,
        params: { temperature: setup.temperature, max_tokens: setup.maxTokens },
      }),
    ]),
  );
  const scenario = sceneScenario(item);
  const turns: SceneTurn[] = [];
  const decisions: NextSpeakerDecision[] = [];
  const repairs: Simulation['repairs'] = [];
  const lines = (): SceneLine[] => turns.map((t) => ({ speaker: t.speaker, text: t.content }));

  let speaker = item.speaking_characters_w_env[0]!;
  let ended: Simulation['ended'] = 'max-rounds';
  for (let round = 0; round < setup.maxRounds; round++) {
    if (speaker === ENVIRONMENT) {
      const raw = await ask(setup.environment, environmentMessages(item, lines()), { temperature: setup.temperature, max_tokens: setup.maxTokens }, call);
      turns.push({ round, speaker, role: 'environment', content: stripSpeakerLabel(stripReasoning(raw, 'generic-cot'), ENVIRONMENT), raw });
    } else {
      const actor = actors.get(speaker)!;
      const others = cast.filter((n) => n !== speaker).map((n) => publicProfiles.get(n)!);
      let result;
      try {
        result = await actor.sceneTurn({ scenario, others, transcript: lines() }, call);
      } catch (e) {
        if (e instanceof PsyCotParseError) {
          throw new ActorFormatError(
            `${speaker}'s answer in round ${round} could not be read in the ${setup.reasoning} format, even after asking again: ${e.message}`,
          );
        }
        throw e;
      }
      if (result.attempts > 1 || result.repairs.length) repairs.push({ round, speaker, attempts: result.attempts, repairs: result.repairs });
      const content = stripSpeakerLabel(stripReasoning(result.raw, setup.reasoning) || result.reply, speaker);
      turns.push({ round, speaker, role: 'model', content, raw: result.raw });
    }
    if (round === setup.maxRounds - 1) break; // no decision needed after the last round
    const raw = await ask(setup.nextSpeaker, nextSpeakerMessages(item, lines()), { temperature: 0, max_tokens: 256 }, call);
    const decision = decideNextSpeaker({ raw, round, current: speaker, item, turns });
    decisions.push(decision);
    if (decision.next === END_CHAT) {
      ended = 'end-chat';
      break;
    }
    speaker = decision.next;
  }
  return { turns, decisions, ended, cast, repairs };
}

/** A profile as text for the judge. */
export function profileForJudge(c: CoserCase, name: string, lang: Lang): string {
  return renderProfile(coserProfile(c, name, false), lang);
}

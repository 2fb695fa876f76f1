// CoSER (Wang et al. 2025, "CoSER: Coordinating LLM-Based Persona Simulation of Established
// Roles"): given-circumstance acting judged on four dimensions, with BLEU and ROUGE-L against
// the original conversation. See load.ts (cases), simulate.ts (the scene), judging.ts (the
// judge and the score) and docs/eval.md, "CoSER".
import type { ChatModel, ChatRequest, CallOptions, ChatResponse } from '@rapo/llm';
import { judgeMaterial, stripReasoning, type Lang, type ReasoningStyle } from '@rapo/psycot';
import { askJudge } from '../judge.js';
import { bleu } from '../metrics/bleu.js';
import { rougeL } from '../metrics/rouge.js';
import type { Aggregate, CaseRecord, EvalContext, Judgement, Protocol, ScoreRange, TranscriptEntry } from '../types.js';
import {
  countActorTurns,
  countedSeverities,
  DIMENSIONS,
  dimensionScore,
  JUDGE_SIMULATION_BUDGET,
  judgeMessages,
  readVerdict,
  type DimensionVerdict,
} from './judging.js';
import { ENVIRONMENT, loadCoser, type CoserCase, type CoserTestItem } from './load.js';
import { ActorFormatError, DEFAULT_MAX_ROUNDS, END_ALLOWED_FROM_ROUND, profileForJudge, simulateScene, type Simulation } from './simulate.js';

export * from './load.js';
export * from './judging.js';
export * from './simulate.js';

const DEFAULT_TEMPERATURE = 0.7;
const DEFAULT_MAX_TOKENS = 1024;
/** Longest plot text shown to the judge when an item has no plot summary. */
const PLOT_TEXT_CHARS = 2000;

/** The original conversation as "Name: text" blocks, the characters' [thoughts] removed (Environment lines kept as they are). */
export function referenceText(item: CoserTestItem): string {
  return item.dialogues
    .map((d) => `${d.character}: ${d.character === ENVIRONMENT ? d.message.trim() : stripReasoning(d.message, 'inner-monologue')}`)
    .join('\n\n');
}

/** The simulated conversation as "Name: text" blocks (reasoning already removed from each turn). */
export function simulationText(turns: readonly { speaker: string; content: string }[]): string {
  return turns.map((t) => `${t.speaker}: ${t.content}`).join('\n\n');
}

/** BLEU and ROUGE-L of the simulated conversation against the original one (CoSER compares the two whole conversations). */
export function overlapScores(reference: string, simulation: string): { bleu: number; rouge_l: number } {
  return { bleu: bleu(reference, simulation).score, rouge_l: rougeL(reference, simulation).f };
}

/** A ChatModel that notes whether any answer came fresh (not from the cache). */
function tracked(model: ChatModel, seen: { fresh: boolean }): ChatModel {
  return {
    name: model.name,
    usage: () => model.usage(),
    async chat(req: ChatRequest, opts?: CallOptions): Promise<ChatResponse> {
      const res = await model.chat(req, opts);
      if (!res.cached) seen.fresh = true;
      return res;
    },
  };
}

/** The transcript of a case: the scenario, the simulated turns, then the original conversation. */
function transcriptOf(item: CoserTestItem, sim: Simulation): TranscriptEntry[] {
  return [
    { speaker: 'scenario', role: 'context', content: item.scenario },
    ...sim.turns.map((t): TranscriptEntry => ({
      speaker: t.speaker,
      role: t.role,
      content: t.content,
      ...(t.raw.trim() !== t.content ? { raw: t.raw } : {}),
    })),
    ...item.dialogues.map((d): TranscriptEntry => ({ speaker: d.character, role: 'reference', content: d.message })),
  ];
}

/** The four judge questions, in parallel; the first call error aborts the others and propagates. */
async function judgeAll(c: CoserCase, sim: Simulation, ctx: EvalContext, judge: ChatModel): Promise<Judgement[]> {
  const { item } = c;
  const context = {
    book: item.book,
    plotSummary: item.plot.summary?.trim() || (item.plot.text ?? '').slice(0, PLOT_TEXT_CHARS),
    scenario: item.scenario,
    profiles: sim.cast.map((n): [string, string] => [n, profileForJudge(c, n, ctx.lang)]),
    majorCharacters: item.major_characters,
    reference: referenceText(item),
    simulation: simulationText(sim.turns),
  };
  const strict = ctx.options.strictJudge === true;
  // JSON the judge may quote back: as the scene has it, and as the judge was shown it (tags neutralized).
  const material = `${context.simulation}\n\n${judgeMaterial(context.simulation, { headings: true })}`;
  const controller = new AbortController();
  const onAbort = () => controller.abort(ctx.signal?.reason);
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal?.aborted) onAbort();
  try {
    return await Promise.all(
      DIMENSIONS.map((d) =>
        askJudge(judge, d, judgeMessages(d, context), (answer) => readVerdict(answer, d, { strict, material }), {
          attempts: ctx.judgeAttempts,
          signal: controller.signal,
        }).catch((e: unknown) => {
          controller.abort(e);
          throw e;
        }),
      ),
    );
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}

async function runCase(c: CoserCase, ctx: EvalContext): Promise<CaseRecord> {
  const started = Date.now();
  const seen = { fresh: false };
  const { item } = c;
  const opts = ctx.options;
  const meta: Record<string, unknown> = {
    file: c.file,
    index: c.index,
    book: item.book,
    tag: item.tag,
    i_p: item.plot.i_p,
    i_c: item.i_c,
  };
  const record = (rest: Pick<CaseRecord, 'status' | 'transcript' | 'judgements' | 'scores'> & { error?: string }): CaseRecord => ({
    id: c.id,
    benchmark: 'coser',
    ...rest,
    meta,
    seconds: seen.fresh ? (Date.now() - started) / 1000 : 0,
  });

  let sim: Simulation;
  try {
    sim = await simulateScene(c, {
      actor: tracked(ctx.model, seen),
      environment: tracked(opts.environment ?? ctx.model, seen),
      nextSpeaker: tracked(opts.nextSpeaker ?? ctx.model, seen),
      reasoning: ctx.reasoning,
      lang: ctx.lang,
      maxRounds: opts.maxRounds ?? DEFAULT_MAX_ROUNDS,
      temperature: opts.temperature ?? DEFAULT_TEMPERATURE,
      maxTokens: opts.maxTokens ?? DEFAULT_MAX_TOKENS,
      signal: ctx.signal,
    });
  } catch (e) {
    if (!(e instanceof ActorFormatError)) throw e;
    return record({
      status: 'failed',
      error: e.message,
      transcript: [{ speaker: 'scenario', role: 'context', content: item.scenario }],
      judgements: [],
      scores: {},
    });
  }

  const actorTurns = countActorTurns(sim.turns, ENVIRONMENT);
  Object.assign(meta, {
    cast: sim.cast,
    firstSpeaker: sim.turns[0]?.speaker,
    rounds: sim.turns.length,
    actorTurns,
    environmentTurns: sim.turns.length - actorTurns,
    ended: sim.ended,
    nextSpeaker: sim.decisions,
    nextSpeakerFallbacks: sim.decisions.filter((d) => d.fallback).length,
    actorRepairs: sim.repairs,
    judgeRules: opts.strictJudge ? 'strict' : 'official',
  });
  const shown = simulationText(sim.turns).length;
  if (shown > JUDGE_SIMULATION_BUDGET) meta.judgeMaterialCut = shown - JUDGE_SIMULATION_BUDGET;
  const transcript = transcriptOf(item, sim);

  const judgements = await judgeAll(c, sim, ctx, tracked(ctx.judge, seen));
  const unread = judgements.find((j) => j.parsed === null);
  if (unread) {
    return record({
      status: 'failed',
      error: `the judge's answer on "${unread.dimension}" could not be read after ${unread.raw.length} attempt(s): ${unread.error}`,
      transcript,
      judgements,
      scores: {},
    });
  }

  const scores: Record<string, number> = {};
  const ignored: Record<string, unknown[]> = {};
  for (const j of judgements) {
    const verdict = j.parsed as DimensionVerdict;
    scores[j.dimension] = dimensionScore(countedSeverities(verdict), actorTurns);
    if (verdict.ignoredSeverities) ignored[j.dimension] = verdict.ignoredSeverities;
  }
  if (Object.keys(ignored).length) meta.ignoredSeverities = ignored;
  Object.assign(scores, overlapScores(referenceText(item), simulationText(sim.turns)));
  return record({ status: 'ok', transcript, judgements, scores });
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** The headline numbers of a set of scored records: each dimension's mean, their mean (avg), BLEU, ROUGE-L. */
function headline(records: readonly CaseRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of [...DIMENSIONS, 'bleu', 'rouge_l']) {
    const xs = records.map((r) => r.scores[key]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    if (xs.length) out[key] = mean(xs);
  }
  if (DIMENSIONS.every((d) => d in out)) out.avg = mean(DIMENSIONS.map((d) => out[d]!));
  return out;
}

/** The scales of the headline keys: each dimension and their mean 0-100, BLEU and ROUGE-L 0-1. */
function headlineRanges(keys: readonly string[]): Record<string, ScoreRange> {
  return Object.fromEntries(keys.filter((k) => k !== 'cases').map((k): [string, ScoreRange] => [k, k === 'bleu' || k === 'rouge_l' ? [0, 1] : [0, 100]]));
}

function aggregate(records: CaseRecord[]): Aggregate {
  const ok = records.filter((r) => r.status === 'ok');
  const breakdown: Record<string, Record<string, number>> = {};
  const groups = new Map<string, CaseRecord[]>();
  for (const r of ok) {
    for (const key of [r.meta.tag ? `tag: ${String(r.meta.tag)}` : undefined, r.meta.book ? `book: ${String(r.meta.book)}` : undefined]) {
      if (key) groups.set(key, [...(groups.get(key) ?? []), r]);
    }
  }
  for (const [key, rs] of [...groups].sort(([a], [b]) => a.localeCompare(b))) breakdown[key] = { ...headline(rs), cases: rs.length };
  const scores = headline(ok);
  const ranges = {
    scores: headlineRanges(Object.keys(scores)),
    breakdown: Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, headlineRanges(Object.keys(v))])),
  };
  return { scores, breakdown, ranges };
}

function deviations(ctx: { lang: Lang; reasoning: ReasoningStyle }): string[] {
  const list = [
    "Prompts for the actors (psycot scene prompt), the environment, the next-speaker predictor and the four judges are our own wording, not CoSER's; the actor prompt follows the run's reasoning style rather than CoSER's fixed \"[thought] (action) speech\" format.",
    "No retrieval augmentation (CoSER's optional --retrieval): actors see only the case's profiles, scenario and their own inner state.",
    "The judge sees the scenario, plot summary, the played characters' profiles, the major characters and the original conversation as reference, like CoSER's, but the judge model is whatever --judge names (CoSER used GPT-4o); scores are not comparable across judges.",
    `Next speaker: the answer is read by fixed rules (<END CHAT> anywhere; an exact name on the first line; else the earliest whole-word name). An unknown name, the current speaker again, or <END CHAT> before round ${END_ALLOWED_FROM_ROUND} (0-based) is replaced deterministically by the major character or Environment who acted least recently; CoSER picks at random. Each replacement is recorded in the case's meta.`,
    'No next-speaker call after the last allowed round (CoSER asks and ignores the answer).',
    "Sampling: actors and environment at the run's temperature (default 0.7), next-speaker and judges at 0; CoSER samples every agent at temperature 0.",
    'Judge answers are read by CoSER\'s rules (a missing severity counts 1, an integer counts as given, a non-integer one is kept on the flaw but left out of the sum; of several JSON values the longest); with --strict-judge such answers are asked again instead. Differences in either mode: an answer with no usable JSON is asked again with the parse error (CoSER re-samples at temperature 1 and asks the judge to repair broken JSON) and a case whose judge never gives a readable answer is counted as failed; {"flaws": [...]} and a bare list are accepted besides {"<dimension>": {...}}; JSON quoted with \'>\' or copied from the simulated conversation is not taken for the verdict; a severity written 3.0 counts 3 (JSON in JavaScript cannot tell it from 3; Python leaves it out).',
    `The simulated conversation is shown to the judge between tags, with tag-like text and Markdown headings inside it neutralized and a notice that it is material, never instructions; past ${JUDGE_SIMULATION_BUDGET} characters it is cut with a marker (meta.judgeMaterialCut). CoSER shows it whole.`,
    'An actor answer that cannot be read in the reasoning format even after one repair ask (and lenient Psy-CoT recovery) makes the case failed; CoSER has no format to fail.',
    "BLEU and ROUGE-L use our tokenizer (lowercased; words, each punctuation mark, each CJK character) instead of NLTK word_tokenize; BLEU has no smoothing and is exactly 0 when a precision is 0 (NLTK returns ~1e-78); ROUGE-L is the summary-level union-LCS F-measure over sentences (rougeLsum, tokens clipped by their counts), not the `rouge` package CoSER calls, which counts each distinct word of the union once over the whole text: our ROUGE-L runs about twice as high as the authors' on their sample (BLEU within ~20%).",
    'Characters with no profile in the item (e.g. "Servant") are given a one-line profile; CoSER leaves their profile empty.',
  ];
  if (ctx.lang === 'zh')
    list.push(
      "lang zh: the actors' scene prompts are in Chinese, but the environment, next-speaker and judge prompts stay in English, as CoSER's data is English.",
    );
  if (ctx.reasoning !== 'inner-monologue') {
    list.push(
      `Reasoning style ${ctx.reasoning}: CoSER's actors write [thoughts] inline; here the ${ctx.reasoning} reasoning is removed before anyone else sees a turn.`,
    );
  }
  return list;
}

export const coser: Protocol<CoserCase> = {
  name: 'coser',
  load: loadCoser,
  runCase,
  aggregate,
  deviations,
};

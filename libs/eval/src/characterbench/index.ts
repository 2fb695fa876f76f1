// CharacterBench (Zhou et al., AAAI 2025; github.com/thu-coai/CharacterBench): one reply per item
// from the model under test, scored by a judge on the item's dimension and rubric scale; per test
// file mean(score) / max(gold score in the file) * 5, and "average" over the files given.
import type { Lang } from '@rapo/psycot';
import { judgeReply, replyingAgent, replyOrFailure, type CaseOutcome } from '../single-reply.js';
import type { Aggregate, CaseRecord, EvalContext, Protocol, ScoreRange, TranscriptEntry } from '../types.js';
import { DIMENSIONS, FILE_ORDER } from './dimensions.js';
import { loadCharacterBench, type CharacterBenchCase } from './load.js';
import { judgeMessages, readCharacterBenchScore, REPLY_BUDGET } from './prompt.js';

export { DIMENSIONS, FILE_ORDER, isDimension, type CharacterBenchDimension, type DimensionSpec } from './dimensions.js';
export { characterBenchFiles, CharacterBenchDataError, dimensionOfFile, loadCharacterBench, loadCharacterBenchFile, type CharacterBenchCase } from './load.js';
export { judgeMessages as characterBenchJudgeMessages, OFFICIAL_DEFAULT_SCORE, readCharacterBenchScore, REPLY_BUDGET } from './prompt.js';

/** How the user is introduced to the model under test when the item describes them. */
function scenarioOf(c: CharacterBenchCase, lang: Lang): string | undefined {
  if (!c.userProfile) return undefined;
  return lang === 'zh' ? `与你对话的${c.userName}：${c.userProfile}` : `${c.userName}, who is talking with you: ${c.userProfile}`;
}

/** The case's given text as transcript lines: the dialogue so far and the user's message. */
function contextTranscript(c: CharacterBenchCase): TranscriptEntry[] {
  return [
    ...c.history.map((t): TranscriptEntry => ({ speaker: t.role === 'user' ? c.userName : c.character, role: 'context', content: t.text })),
    { speaker: c.userName, role: 'context', content: c.message },
  ];
}

function baseMeta(c: CharacterBenchCase): Record<string, unknown> {
  return {
    file: c.file,
    dimension: c.dimension,
    index: c.index,
    character: c.character,
    gold: c.gold,
    maxGold: c.maxGold,
    scale: [1, DIMENSIONS[c.dimension].max],
    lang: c.lang,
    ...(c.untranslated.length ? { untranslated: c.untranslated } : {}),
  };
}

async function runCase(c: CharacterBenchCase, ctx: EvalContext): Promise<CaseRecord> {
  const agent = replyingAgent(c.profile, ctx);
  const scenario = scenarioOf(c, ctx.lang);
  const transcript = contextTranscript(c);
  const record = (r: CaseOutcome & { meta?: Record<string, unknown> }): CaseRecord => ({
    id: c.id,
    benchmark: 'characterbench',
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    transcript,
    judgements: r.judgements,
    scores: r.scores,
    meta: { ...baseMeta(c), ...r.meta },
    seconds: 0,
  });

  // A generic "user" is not worth naming to the model; a named user (a character too) is.
  const named = !/^(user|用户)$/i.test(c.userName);
  const replied = await replyOrFailure(
    agent,
    { history: c.history, message: c.message, ...(named ? { userName: c.userName } : {}), ...(scenario ? { scenario } : {}) },
    ctx,
  );
  if ('failed' in replied) return record(replied.failed);
  const { turn } = replied;
  transcript.push({ speaker: c.character, role: 'model', content: turn.reply, ...(turn.raw !== turn.reply ? { raw: turn.raw } : {}) });
  if (c.reference) transcript.push({ speaker: 'reference', role: 'reference', content: c.reference });

  const strict = ctx.options.strictJudge === true;
  let judgeNote: string | undefined;
  const parse = (answer: string) => {
    const read = readCharacterBenchScore(answer, DIMENSIONS[c.dimension].max, { strict });
    judgeNote = read.note;
    return read.score;
  };
  const judged = await judgeReply(ctx, c.dimension, judgeMessages(c, turn.reply, ctx.lang), parse);
  const meta = {
    attempts: turn.attempts,
    ...(turn.repairs.length ? { repairs: turn.repairs } : {}),
    judgeRules: strict ? 'strict' : 'official',
    ...(judgeNote ? { judgeNote } : {}),
    ...(turn.reply.length > REPLY_BUDGET ? { judgeMaterialCut: turn.reply.length - REPLY_BUDGET } : {}),
  };
  if ('failed' in judged) return record({ ...judged.failed, meta });
  return record({ status: 'ok', judgements: [judged.judgement], scores: { score: judged.score, normalized: (judged.score / c.maxGold) * 5 }, meta });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Per file: mean(score) / max(gold in the file) * 5 under the file's stem; "average": the mean of
 * those over the files present. Failed records are not scored.
 */
export function aggregateCharacterBench(records: CaseRecord[]): Aggregate {
  const byFile = new Map<string, { scores: number[]; golds: number[]; maxGold: number; dimension: string }>();
  for (const r of records) {
    if (r.status !== 'ok' || typeof r.scores.score !== 'number') continue;
    const file = String(r.meta.file);
    const maxGold = Number(r.meta.maxGold);
    if (!Number.isFinite(maxGold) || maxGold <= 0) throw new Error(`CharacterBench record ${r.id} has no usable meta.maxGold (${String(r.meta.maxGold)})`);
    const entry = byFile.get(file) ?? { scores: [], golds: [], maxGold, dimension: String(r.meta.dimension) };
    entry.scores.push(r.scores.score);
    if (typeof r.meta.gold === 'number') entry.golds.push(r.meta.gold);
    entry.maxGold = Math.max(entry.maxGold, maxGold);
    byFile.set(file, entry);
  }
  const rank = (file: string) => {
    const i = FILE_ORDER.indexOf(byFile.get(file)!.dimension as never);
    return i < 0 ? FILE_ORDER.length : i;
  };
  const files = [...byFile.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const perFile: Record<string, number> = {};
  const raw: Record<string, number> = {};
  const gold: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const maxGold: Record<string, number> = {};
  for (const f of files) {
    const e = byFile.get(f)!;
    perFile[f] = (mean(e.scores) / e.maxGold) * 5;
    raw[f] = mean(e.scores);
    if (e.golds.length) gold[f] = (mean(e.golds) / e.maxGold) * 5;
    counts[f] = e.scores.length;
    maxGold[f] = e.maxGold;
  }
  const values = Object.values(perFile);
  const scores = { ...(values.length ? { average: mean(values) } : {}), ...perFile };
  // Normalised scores (mean / max gold * 5) read on the 1-5 scale; raw ones on the file's rubric.
  const rubric = (f: string): ScoreRange => [1, DIMENSIONS[byFile.get(f)!.dimension as keyof typeof DIMENSIONS]?.max ?? 5];
  const onFiles = (range: (f: string) => ScoreRange) => Object.fromEntries(files.map((f) => [f, range(f)]));
  return {
    scores,
    breakdown: {
      'mean judge score on the rubric scale': raw,
      'max gold score in the file (normaliser)': maxGold,
      'human gold of the same items, normalised alike': gold,
      'scored cases': counts,
    },
    ranges: {
      scores: Object.fromEntries(Object.keys(scores).map((k): [string, ScoreRange] => [k, [1, 5]])),
      breakdown: {
        'mean judge score on the rubric scale': onFiles(rubric),
        'max gold score in the file (normaliser)': onFiles(rubric),
        'human gold of the same items, normalised alike': onFiles(() => [1, 5]),
      },
    },
  };
}

export const characterbench: Protocol<CharacterBenchCase> = {
  name: 'characterbench',
  load: loadCharacterBench,
  runCase,
  aggregate: aggregateCharacterBench,
  deviations: ({ lang, reasoning }) => [
    'Judge: the official scorer is CharacterJudge (a fine-tuned model); here the judge model given to the run rates each reply with our own rubric prompt per dimension, so the numbers are comparable with each other but not with the paper.',
    'Rubric scales follow the gold annotations of each file (memory, fact accuracy, attribute, behaviour (bot), emotion and empathy 1-4; boundary and behaviour (human) 1-3; morality 1-2; human-likeness and engagement 1-5). attribute_consistency_bot is judged on 1-4 because its gold scores top out at 4, although the official judge prompt lists five levels.',
    `Replies come from rapo's Character agent (reasoning style "${reasoning}", temperature 0.7 unless set, up to 1024 tokens) with the item's profile, user profile, greeting and dialogue as chat history, instead of the official single role-play prompt that asks for a short JSON reply (30 Chinese / 15 English characters at most).`,
    `Judge answers: the score is read from the last line that starts with "Score:" (or a bare number), else the first line (where the official judge writes it), never from a number inside the text or a ">"-quoted line. As all_eval.py does, an answer without a score counts 3 and a score outside the scale counts as written (noted in meta.judgeNote); with --strict-judge such answers are asked again (judgeAttempts) and the case fails when none parses.`,
    `The reply is shown to the judge between <reply> tags with tag-like text and headings in it neutralized and a notice that it is material, never instructions; past ${REPLY_BUDGET} characters it is cut with a marker (the official replies are short JSON answers and need no cut).`,
    'The judge sees the earlier dialogue except for the dimensions whose official judge input leaves it out (memory, fact accuracy, attribute (bot), boundary, emotion self-regulation, empathetic responsiveness).',
    '"average" is the mean over the test files given (13 in the full benchmark); result keys are the file stems, as all_eval.py names them. Each file\'s normaliser is the highest gold score among all its items, also when only some cases were run.',
    ...(lang === 'en'
      ? [
          'English run: texts come from translation_en; an item or field without a translation falls back to the Chinese original (listed in the case meta as untranslated).',
        ]
      : []),
  ],
};

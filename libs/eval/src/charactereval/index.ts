// CharacterEval (Tu et al., 2024; github.com/morecry/CharacterEval): one reply per (context,
// metric) from the model under test, playing the item's role; each scored 1-5 on its metric.
// The official scorer is a reward model (BaichuanCharRM) we cannot run: an LLM judge with our
// own rubric per metric stands in for it, a labelled proxy. Results: the mean per metric and the
// leaderboard's three group means.
import type { Lang } from '@rapo/psycot';
import { judgeReply, replyingAgent, replyOrFailure, type CaseOutcome } from '../single-reply.js';
import type { Aggregate, CaseRecord, EvalContext, Protocol, ScoreRange, TranscriptEntry } from '../types.js';
import { contextTurns, loadCharacterEval, type CharacterEvalCase } from './load.js';
import { GROUPS, METRIC_NAMES } from './metrics.js';
import { parseScoreLine } from '../judge.js';
import { judgeMessages, REPLY_BUDGET } from './prompt.js';

export { GROUPS, isMetric, METRIC_NAMES, METRICS, type CharacterEvalMetric, type MetricSpec } from './metrics.js';
export {
  characterEvalDir,
  CharacterEvalDataError,
  contextTurns,
  loadCharacterEval,
  loadCharacterEvalData,
  parseContext,
  readJsonOrLines,
  type CharacterEvalCase,
  type CharacterEvalLoad,
  type ContextLine,
} from './load.js';
export { judgeMessages as characterEvalJudgeMessages, REPLY_BUDGET as CHARACTEREVAL_REPLY_BUDGET } from './prompt.js';

/**
 * The reply as the official pipeline keeps it: its first non-empty line (against run-on
 * generation), without a leading "role：" the model may have copied from the context.
 */
export function firstReplyLine(reply: string, role: string): string {
  const line =
    reply
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? '';
  const prefix = new RegExp(`^${role.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*[：:]\\s*`);
  return line.replace(prefix, '').trim();
}

function scenarioOf(c: CharacterEvalCase, lang: Lang): string | undefined {
  if (!c.novel) return undefined;
  return lang === 'zh'
    ? `这段对话出自《${c.novel}》。其他人说的话以“名字：内容”的形式给出；你只以${c.role}的身份回复最后一句。`
    : `The conversation comes from 《${c.novel}》. Other people's lines are given as "name：text"; reply only as ${c.role}, to the last line.`;
}

async function runCase(c: CharacterEvalCase, ctx: EvalContext): Promise<CaseRecord> {
  const turns = contextTurns(c.context, c.role);
  const last = turns.at(-1)!;
  const agent = replyingAgent(c.profile, ctx);
  const speakers = new Set(c.context.filter((l) => l.speaker && l.speaker !== c.role).map((l) => l.speaker));
  const scenario = scenarioOf(c, ctx.lang);
  const transcript: TranscriptEntry[] = c.context.map((l) => ({ speaker: l.speaker || 'narration', role: 'context', content: l.text }));
  const meta: Record<string, unknown> = { item: c.itemId, metric: c.metric, metricZh: c.metricZh, role: c.role, novel: c.novel };
  const record = (r: CaseOutcome): CaseRecord => ({
    id: c.id,
    benchmark: 'charactereval',
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    transcript,
    judgements: r.judgements,
    scores: r.scores,
    meta,
    seconds: 0,
  });

  const input = {
    history: turns.slice(0, -1),
    message: last.text,
    ...(speakers.size === 1 ? { userName: [...speakers][0]! } : {}),
    ...(scenario ? { scenario } : {}),
  };
  const replied = await replyOrFailure(agent, input, ctx);
  if ('failed' in replied) return record(replied.failed);
  const { turn } = replied;
  const reply = firstReplyLine(turn.reply, c.role);
  transcript.push({ speaker: c.role, role: 'model', content: reply, ...(turn.raw !== reply ? { raw: turn.raw } : {}) });
  meta.attempts = turn.attempts;
  if (turn.repairs.length) meta.repairs = turn.repairs;
  if (!reply) return record({ status: 'failed', error: 'the model gave an empty reply', judgements: [], scores: {} });

  if (reply.length > REPLY_BUDGET) meta.judgeMaterialCut = reply.length - REPLY_BUDGET;
  // The official scorer is a reward model whose score is always in [1, 5]: no rule of its own for
  // an answer, so both modes read the last score line and ask again when there is none.
  const judged = await judgeReply(ctx, c.metric, judgeMessages(c, reply, ctx.lang), (a) => parseScoreLine(a, 1, 5));
  if ('failed' in judged) return record(judged.failed);
  return record({ status: 'ok', judgements: [judged.judgement], scores: { [c.metric]: judged.score } });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The mean score per metric (under the metric names) and, for each leaderboard group, the mean
 * of its metrics' means (over the metrics that have scored cases). Failed records are not scored.
 */
export function aggregateCharacterEval(records: CaseRecord[]): Aggregate {
  const byMetric = new Map<string, number[]>();
  for (const r of records) {
    if (r.status !== 'ok') continue;
    const metric = String(r.meta.metric);
    const score = r.scores[metric];
    if (typeof score !== 'number') continue;
    byMetric.set(metric, [...(byMetric.get(metric) ?? []), score]);
  }
  const metrics: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const m of METRIC_NAMES) {
    const xs = byMetric.get(m);
    if (!xs?.length) continue;
    metrics[m] = mean(xs);
    counts[m] = xs.length;
  }
  const groups: Record<string, number> = {};
  const groupCoverage: Record<string, number> = {};
  for (const [group, members] of Object.entries(GROUPS)) {
    const present = members.filter((m) => m in metrics);
    if (!present.length) continue;
    groups[group] = mean(present.map((m) => metrics[m]!));
    groupCoverage[group] = present.length;
  }
  return {
    scores: { ...groups, ...metrics },
    breakdown: {
      'group means (mean of the metric means)': groups,
      'metric means (1-5)': metrics,
      'scored cases per metric': counts,
      'metrics present per group': groupCoverage,
    },
    ranges: {
      // Every metric is a 1-5 score (the reward model's 4x+1, here the judge's integer), and so is a group's mean of them.
      scores: Object.fromEntries([...Object.keys(groups), ...Object.keys(metrics)].map((k): [string, ScoreRange] => [k, [1, 5]])),
      breakdown: {
        'group means (mean of the metric means)': Object.fromEntries(Object.keys(groups).map((k): [string, ScoreRange] => [k, [1, 5]])),
        'metric means (1-5)': Object.fromEntries(Object.keys(metrics).map((k): [string, ScoreRange] => [k, [1, 5]])),
        'metrics present per group': Object.fromEntries(Object.keys(groupCoverage).map((g): [string, ScoreRange] => [g, [0, GROUPS[g]!.length]])),
      },
    },
  };
}

export const charactereval: Protocol<CharacterEvalCase> = {
  name: 'charactereval',
  load: loadCharacterEval,
  runCase,
  aggregate: aggregateCharacterEval,
  deviations: ({ lang, reasoning }) => [
    'PROXY SCORER: the official scores come from the BaichuanCharRM reward model (4 x its output + 1, a continuous 1-5 score); it cannot run here, so the judge model given to the run rates each reply with our own 1-5 rubric per metric (integers). The numbers are an LLM-judge proxy, not comparable with the CharacterEval leaderboard.',
    "Each (context, metric) case asks the model for its own reply; the official pipeline generates one reply per context and scores it on all of the context's metrics. With the response cache on, identical requests share one answer.",
    `Replies come from rapo's Character agent (reasoning style "${reasoning}", temperature 0.7 unless set, up to 1024 tokens) with the role's profile and the context as chat history (other speakers' lines prefixed with their names), not the official get_response.py prompt; as the official transform step does, only the first line of the reply is kept (after the reasoning is stripped), and a leading "role：" is removed.`,
    'Items without an id2metric entry are skipped: the official data assigns them no metric to be judged on (loadCharacterEvalData() lists them).',
    'Personality back-testing (the MBTI metric) is not run; only the twelve per-reply metrics are.',
    `Judge answers: the score is read from the last line that starts with "Score:" (or a bare number), else the first line, never from a number inside the text or a ">"-quoted line; an answer without a score in 1-5 is asked again (judgeAttempts) and the case fails when none parses (the reward model always gives a score). The reply is shown between <reply> tags with tag-like text and headings in it neutralized and a notice that it is material, never instructions; past ${REPLY_BUDGET} characters it is cut with a marker (the official scorer keeps the last 4096 tokens of its input, cutting the profile first).`,
    'Group scores are the means of the metric means in each leaderboard group (Conversational Ability: Fluency, Coherence, Consistency; Character Consistency: Exposure, Accuracy, Hallucination, Utterance, Behavior; Role-playing Attractiveness: Humanlikeness, Communication_skills, Diversity, Empathy), over the metrics that have scored cases.',
    ...(lang === 'en'
      ? [
          'English run: the instructions to the model and the judge are in English; the data (profiles, contexts) stays Chinese, as CharacterEval has no translation.',
        ]
      : []),
  ],
};

// The shapes every benchmark protocol shares: a case goes in, a CaseRecord comes out (one line of
// cases.jsonl), and the records of a run aggregate into the headline numbers of results.json
// under the benchmark's official key names.
import type { ChatModel, UsageTotals } from '@rapo/llm';
import type { Lang, ReasoningStyle } from '@rapo/psycot';

export type BenchmarkName = 'coser' | 'characterbench' | 'charactereval' | 'testbed';
export const BENCHMARKS: readonly BenchmarkName[] = ['coser', 'characterbench', 'charactereval', 'testbed'];

/** What a protocol needs to run one case. */
export interface EvalContext {
  /** The model under test (it plays the characters). */
  model: ChatModel;
  /** The judge. */
  judge: ChatModel;
  /** How the model under test reasons before it replies. */
  reasoning: ReasoningStyle;
  lang: Lang;
  /** Attempts at a judge answer that parses: the first ask plus re-asks. Default 3. */
  judgeAttempts: number;
  /** Protocol options (CoSER: the environment and next-speaker models, the round limit...). */
  options: ProtocolOptions;
  signal?: AbortSignal;
}

export interface ProtocolOptions {
  /** CoSER: the model that plays the environment (default: the model under test). */
  environment?: ChatModel;
  /** CoSER: the model that predicts the next speaker (default: the model under test). */
  nextSpeaker?: ChatModel;
  /** CoSER: most rounds of a simulation (default 20). */
  maxRounds?: number;
  /** Sampling temperature of the model under test (default 0.7; judges always use 0). */
  temperature?: number;
  /** Longest reply of the model under test, in tokens (default 1024). */
  maxTokens?: number;
  /** Testbed: a checkpoint directory's characters are the testbed's held-out ones. */
  seed?: number;
  /**
   * Judge answers: false (default) reads them by each benchmark's official rules (CoSER: a missing
   * severity counts 1, a non-integer one is left out; CharacterBench: an unreadable answer scores
   * the official default 3); true asks again instead, and fails the case when no answer follows
   * rapo's stricter format (docs/eval.md, "Reading judge answers").
   */
  strictJudge?: boolean;
}

/** One line of the transcript a case produced. */
export interface TranscriptEntry {
  /** Who speaks: a character name, "user", "environment", "judge"... */
  speaker: string;
  /** 'model' for text the model under test wrote; 'context' for given text; 'environment' for the environment agent. */
  role: 'model' | 'context' | 'environment' | 'reference';
  /** What others (and the judge) see: reasoning stripped. */
  content: string;
  /** The model's raw text, reasoning included, when it differs from content. */
  raw?: string;
}

/** One judge question and what came back. */
export interface Judgement {
  /** The dimension or metric judged. */
  dimension: string;
  /** Every raw judge answer, in order (more than one when an answer had to be asked again). */
  raw: string[];
  /** The validated parse of the last answer, or null when none parsed. */
  parsed: unknown;
  /** Why the last answer did not parse. */
  error?: string;
}

/**
 * Why a case failed (meta.failure of its record): 'call-error', a call failed after the client's
 * own retries (server down, timeouts, 5xx): the case runs again on the next run;
 * 'context-overflow', a prompt longer than a model's context: permanent; 'unscorable', the
 * protocol could not score what came back (a judge answer that never parsed, a reply that broke
 * the reasoning format, an empty reply): permanent, since asking again replays cached answers.
 */
export type FailureKind = 'call-error' | 'context-overflow' | 'unscorable';

/** A text a model returned during a case, as it came (reasoning and all). */
export interface ReturnedText {
  /** The role that answered: "model", "judge", "environment", "nextSpeaker". */
  role: string;
  text: string;
}

export interface CaseRecord {
  id: string;
  benchmark: BenchmarkName;
  /** 'failed': the case could not be scored (its error says why); it is counted, never scored. */
  status: 'ok' | 'failed';
  error?: string;
  transcript: TranscriptEntry[];
  judgements: Judgement[];
  /** The numbers this case contributes, keyed as the protocol's aggregate() reads them. */
  scores: Record<string, number>;
  /** Protocol facts about the case (the test file, the metric, the character...). */
  meta: Record<string, unknown>;
  /** Seconds the case took (0 when every call came from the cache). */
  seconds: number;
  /**
   * Failed cases only: every answer the models gave during the case, in order, raw (the reply that
   * broke the format, the judge answers that could not be read, what came back before a call
   * failed), so a failure can be read from cases.jsonl and the report.
   */
  returned?: ReturnedText[];
}

/** The scale a number is read on, [lowest, highest]: a 0-10 judge score, a 1-5 rubric, a 0-1 share. */
export type ScoreRange = [lo: number, hi: number];

/** The scales of the numbers of a run whose scale is known, for the report's bars. */
export interface ScoreRanges {
  /** By headline key. */
  scores?: Record<string, ScoreRange>;
  /** By breakdown name, then key. Counts (cases, files) have none. */
  breakdown?: Record<string, Record<string, ScoreRange>>;
}

export interface Aggregate {
  /** Headline numbers under the official key names. */
  scores: Record<string, number>;
  /** Breakdowns for the report (per file, per metric, per dimension...). */
  breakdown?: Record<string, Record<string, number>>;
  /** The scale of each number whose scale is known (a judge's 0-10, a 1-5 rubric, a 0-1 share). */
  ranges?: ScoreRanges;
}

/** A benchmark: load cases, run one, aggregate the records. */
export interface Protocol<C extends { id: string } = { id: string }> {
  readonly name: BenchmarkName;
  /** Loads the cases from a file or folder; bad data is an error naming the file and the problem. */
  load(path: string, opts: { lang: Lang }): C[];
  runCase(c: C, ctx: EvalContext): Promise<CaseRecord>;
  aggregate(records: CaseRecord[]): Aggregate;
  /** How this implementation differs from the official protocol, for the report. */
  deviations(ctx: { lang: Lang; reasoning: ReasoningStyle }): string[];
}

/** results.json */
export interface EvalResults {
  benchmark: BenchmarkName;
  data: string;
  model: string;
  judge: string;
  reasoning: ReasoningStyle;
  lang: Lang;
  /** Headline numbers under the official key names (means over the cases that were scored). */
  scores: Record<string, number>;
  breakdown: Record<string, Record<string, number>>;
  /** The protocol's scales of the numbers above, where known (absent in results.json from before them). */
  ranges?: ScoreRanges;
  /** failed counts every failed record, call errors included; failures splits it by kind. */
  cases: { total: number; ok: number; failed: number; pending: number; failures?: Partial<Record<FailureKind, number>> };
  deviations: string[];
  usage: { model: UsageTotals; judge: UsageTotals };
  createdAt: string;
  /** False while cases remain (an interrupted run); rerunning the command completes it. */
  complete: boolean;
}

// Runs a benchmark against a model and a judge into an output folder, resumably: every finished
// case is one line of cases.jsonl, so rerunning the same command runs only the cases without a
// record or whose calls failed (and, with the response cache in the folder, repeats no call that
// had finished). Every input is checked before run.json is written, so a command that fails to
// start leaves nothing that would refuse the corrected one.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isContextOverflow, LlmError, type ChatModel } from '@rapo/llm';
import type { Lang, ReasoningStyle } from '@rapo/psycot';
import { writeFileAtomic, writeJsonAtomic } from '@rapo/files';
import { appendCase, readCases } from './files.js';
import { renderReport } from './report.js';
import { RecordingChatModel } from './returned.js';
import type { Aggregate, BenchmarkName, CaseRecord, EvalContext, EvalResults, FailureKind, Protocol, ProtocolOptions, ReturnedText } from './types.js';
import { MeteredChatModel } from './usage.js';

export interface RunOptions {
  benchmark: BenchmarkName;
  /** The benchmark's file or folder. */
  data: string;
  model: ChatModel;
  judge: ChatModel;
  /** The output folder: results.json, cases.jsonl, report.html, run.json. */
  out: string;
  reasoning?: ReasoningStyle;
  lang?: Lang;
  /** Run only the first N cases (a rerun with a larger N adds the rest). */
  limit?: number;
  /** Cases run at the same time. Default 4. */
  concurrency?: number;
  /** Attempts at a parseable judge answer. Default 3. */
  judgeAttempts?: number;
  options?: ProtocolOptions;
  signal?: AbortSignal;
  /** Called after each case finishes; `error` is what a failed call threw (for stack traces). */
  onCase?: (record: CaseRecord, progress: { done: number; total: number; failed: number }, error?: unknown) => void;
  /** The protocol to use instead of the built-in one for `benchmark` (tests, extensions). */
  protocol?: Protocol;
}

/** What identifies a run: a folder holds one. */
type RunIdentity = Pick<EvalResults, 'benchmark' | 'data' | 'model' | 'judge' | 'reasoning' | 'lang'> & {
  /** How judge answers are read: the benchmark's official rules, or strict (re-ask); a run keeps one. */
  judgeRules: 'official' | 'strict';
};

/** The failure kinds a case record's meta.failure holds; only call errors run again. */
export const FAILURE_KINDS: readonly FailureKind[] = ['call-error', 'context-overflow', 'unscorable'];

/** A run that cannot start (bad --data, a folder holding another run...): the caller's input is wrong. */
export class EvalRunError extends Error {
  override name = 'EvalRunError';
}

/** Why a case failed; records from before failure kinds (none set) count as unscorable. */
export function failureOf(r: CaseRecord): FailureKind | undefined {
  if (r.status !== 'failed') return undefined;
  const f = r.meta.failure;
  return (FAILURE_KINDS as readonly unknown[]).includes(f) ? (f as FailureKind) : 'unscorable';
}

const ROLE_WORDS: Record<string, string> = { model: 'model under test', judge: 'judge', environment: 'environment model', nextSpeaker: 'next-speaker model' };

/** The record of a case whose call threw: a context overflow is for good, anything else runs again. */
function failedCall(id: string, benchmark: BenchmarkName, e: unknown, role: string | undefined): CaseRecord {
  const who = role ? `the ${ROLE_WORDS[role] ?? role}` : 'a call';
  const message = e instanceof Error ? (e instanceof LlmError ? e.message : `${e.name}: ${e.message}`) : String(e);
  const overflow = isContextOverflow(e);
  return {
    id,
    benchmark,
    status: 'failed',
    error: overflow
      ? `the prompt for ${who} is longer than its context (not retried; a rerun fails the same way): ${message}`
      : `${who} failed (the case runs again on the next run): ${message}`,
    transcript: [],
    judgements: [],
    scores: {},
    meta: { failure: overflow ? 'context-overflow' : 'call-error', ...(role ? { role } : {}) },
    seconds: 0,
  };
}

/** Runs (or continues) a benchmark; returns what it wrote to results.json. */
export async function runEval(o: RunOptions): Promise<EvalResults> {
  // Loaded on first use, so a caller passing its own protocol does not load the built-in ones.
  const protocol = o.protocol ?? (await import('./protocols.js')).PROTOCOLS[o.benchmark];
  const identity: RunIdentity = {
    benchmark: o.benchmark,
    data: resolve(o.data),
    model: o.model.name,
    judge: o.judge.name,
    reasoning: o.reasoning ?? 'none',
    lang: o.lang ?? 'en',
    judgeRules: o.options?.strictJudge ? 'strict' : 'official',
  };
  const concurrency = o.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`Expected an integer >= 1 for concurrency but received ${o.concurrency}`);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) throw new RangeError(`Expected an integer >= 1 for limit but received ${o.limit}`);

  // Everything the run needs is read and checked before anything is written to the folder.
  let all: { id: string }[];
  try {
    all = protocol.load(o.data, { lang: identity.lang });
  } catch (e) {
    throw new EvalRunError(`cannot read the ${o.benchmark} data (--data ${o.data}): ${(e as Error).message}`, { cause: e });
  }
  if (all.length === 0) throw new EvalRunError(`--data ${o.data} holds no ${o.benchmark} cases; check that it is the benchmark's file or folder`);
  const ids = new Set<string>();
  for (const c of all) {
    if (ids.has(c.id)) throw new EvalRunError(`${o.data}: two cases share the id "${c.id}"; case ids must be unique`);
    ids.add(c.id);
  }
  if (existsSync(o.out) && !statSync(o.out).isDirectory()) throw new EvalRunError(`--out ${o.out} is a file, not a folder; pass a folder for the run`);
  checkIdentity(o.out, identity);
  const casesPath = join(o.out, 'cases.jsonl');
  let records: Map<string, CaseRecord>;
  try {
    records = readCases(casesPath);
  } catch (e) {
    throw new EvalRunError((e as Error).message, { cause: e });
  }

  mkdirSync(o.out, { recursive: true });
  writeJsonAtomic(join(o.out, 'run.json'), identity);

  const cases = o.limit ? all.slice(0, o.limit) : all;
  // Cases that ended in a call error (a timeout, a server down) run again; the other failures
  // stay: a judge answer that never parsed would be replayed from the cache, and a prompt longer
  // than a model's context is as long next time.
  const pending = cases.filter((c) => {
    const r = records.get(c.id);
    return !r || failureOf(r) === 'call-error';
  });

  // Each role counts its own usage, even when the model and the judge are one object; the role
  // of a call that threw names the culprit in the case's error.
  const roleOf = new WeakMap<object, string>();
  const noteRole = (e: unknown, role: string) => {
    if (typeof e === 'object' && e !== null && !roleOf.has(e)) roleOf.set(e, role);
  };
  const model = new MeteredChatModel(o.model, 'model', noteRole);
  const judge = new MeteredChatModel(o.judge, 'judge', noteRole);
  const opts = o.options ?? {};
  const ctx = {
    model,
    judge,
    reasoning: identity.reasoning,
    lang: identity.lang,
    judgeAttempts: o.judgeAttempts ?? 3,
    options: {
      ...opts,
      ...(opts.environment ? { environment: new MeteredChatModel(opts.environment, 'environment', noteRole) } : {}),
      ...(opts.nextSpeaker ? { nextSpeaker: new MeteredChatModel(opts.nextSpeaker, 'nextSpeaker', noteRole) } : {}),
    },
    ...(o.signal ? { signal: o.signal } : {}),
  };
  let next = 0;
  let done = cases.length - pending.length;
  let failed = cases.filter((c) => {
    const r = records.get(c.id);
    return r !== undefined && r.status === 'failed' && failureOf(r) !== 'call-error';
  }).length;
  // Each case sees the models through wrappers that note what they answered, kept on its record if it fails.
  const recording = (returned: ReturnedText[]): EvalContext => ({
    ...ctx,
    model: new RecordingChatModel(ctx.model, 'model', returned),
    judge: new RecordingChatModel(ctx.judge, 'judge', returned),
    options: {
      ...ctx.options,
      ...(ctx.options.environment ? { environment: new RecordingChatModel(ctx.options.environment, 'environment', returned) } : {}),
      ...(ctx.options.nextSpeaker ? { nextSpeaker: new RecordingChatModel(ctx.options.nextSpeaker, 'nextSpeaker', returned) } : {}),
    },
  });
  const worker = async () => {
    while (next < pending.length && !o.signal?.aborted) {
      const c = pending[next++]!;
      const t0 = performance.now();
      let record: CaseRecord;
      let error: unknown;
      const returned: ReturnedText[] = [];
      try {
        record = await protocol.runCase(c, recording(returned));
        if (record.status === 'failed' && !record.meta.failure) record.meta = { ...record.meta, failure: 'unscorable' };
      } catch (e) {
        if (o.signal?.aborted) return; // interrupted: the case has no record and runs next time
        error = e;
        record = failedCall(c.id, o.benchmark, e, typeof e === 'object' && e !== null ? roleOf.get(e) : undefined);
      }
      record.seconds = (performance.now() - t0) / 1000;
      if (record.status === 'failed' && returned.length) record.returned = returned;
      records.set(c.id, record);
      appendCase(casesPath, record);
      done++;
      if (record.status === 'failed') failed++;
      o.onCase?.(record, { done, total: cases.length, failed }, error);
    }
  };
  let interrupted: unknown;
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
  } catch (e) {
    interrupted = e;
  }

  const results = summarize(
    { model, judge },
    identity,
    protocol,
    cases.map((c) => records.get(c.id)).filter((r): r is CaseRecord => r !== undefined),
    cases.length,
  );
  writeJsonAtomic(join(o.out, 'results.json'), results);
  writeFileAtomic(
    join(o.out, 'report.html'),
    renderReport(
      results,
      [...records.values()].filter((r) => ids.has(r.id)),
    ),
  );
  if (interrupted) throw interrupted;
  if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
  return results;
}

function checkIdentity(out: string, identity: RunIdentity) {
  const path = join(out, 'run.json');
  if (!existsSync(path)) {
    if (existsSync(join(out, 'cases.jsonl')))
      throw new EvalRunError(`${out} has cases.jsonl but no run.json: it was not written by rapo-eval; use another --out`);
    return;
  }
  let before: RunIdentity;
  try {
    before = JSON.parse(readFileSync(path, 'utf8')) as RunIdentity;
    // Runs recorded before judgeRules existed re-asked every unreadable answer: strict.
    before.judgeRules ??= 'strict';
  } catch (e) {
    throw new EvalRunError(`${path} is not readable JSON (${(e as Error).message}); use another --out`);
  }
  const diff = (Object.keys(identity) as (keyof RunIdentity)[]).filter((k) => before[k] !== identity[k]);
  if (diff.length) {
    throw new EvalRunError(
      `${out} holds a run with another ${diff.join(', ')} (${diff.map((k) => `${k}: "${before[k]}" there, "${identity[k]}" now`).join('; ')}). ` +
        'Rerun with the same settings to continue it, or pass another --out.',
    );
  }
}

function summarize(roles: { model: ChatModel; judge: ChatModel }, id: RunIdentity, protocol: Protocol, records: CaseRecord[], total: number): EvalResults {
  const ok = records.filter((r) => r.status === 'ok');
  const agg: Aggregate = ok.length ? protocol.aggregate(ok) : { scores: {}, breakdown: {} };
  const failures: Partial<Record<FailureKind, number>> = {};
  for (const r of records) {
    const f = failureOf(r);
    if (f) failures[f] = (failures[f] ?? 0) + 1;
  }
  return {
    benchmark: id.benchmark,
    data: id.data,
    model: id.model,
    judge: id.judge,
    reasoning: id.reasoning,
    lang: id.lang,
    scores: agg.scores,
    breakdown: agg.breakdown ?? {},
    ...(agg.ranges ? { ranges: agg.ranges } : {}),
    cases: { total, ok: ok.length, failed: records.length - ok.length, pending: total - records.length, failures },
    deviations: protocol.deviations({ lang: id.lang, reasoning: id.reasoning }),
    usage: { model: roles.model.usage(), judge: roles.judge.usage() },
    createdAt: new Date().toISOString(),
    complete: records.length === total && !failures['call-error'],
  };
}

// Runs a benchmark against a model and a judge into an output folder, resumably: every finished
// case is one line of cases.jsonl, so rerunning the same command runs only the cases without a
// record (and, with the response cache in the folder, repeats no call that had finished).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChatModel, UsageTotals } from '@rapo/llm';
import type { Lang, ReasoningStyle } from '@rapo/psycot';
import { writeFileAtomic, writeJsonAtomic } from '@rapo/files';
import { appendCase, readCases } from './files.js';
import { renderReport } from './report.js';
import type { BenchmarkName, CaseRecord, EvalResults, Protocol, ProtocolOptions } from './types.js';

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
  /** Called after each case finishes. */
  onCase?: (record: CaseRecord, progress: { done: number; total: number; failed: number }) => void;
  /** The protocol to use instead of the built-in one for `benchmark` (tests, extensions). */
  protocol?: Protocol;
}

/** What identifies a run: a folder holds one. */
type RunIdentity = Pick<EvalResults, 'benchmark' | 'data' | 'model' | 'judge' | 'reasoning' | 'lang'>;

const CALL_ERROR = 'call-error';

export class EvalRunError extends Error {
  override name = 'EvalRunError';
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
  };
  const concurrency = o.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`Expected an integer >= 1 for concurrency but received ${o.concurrency}`);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) throw new RangeError(`Expected an integer >= 1 for limit but received ${o.limit}`);

  mkdirSync(o.out, { recursive: true });
  checkIdentity(o.out, identity);
  writeJsonAtomic(join(o.out, 'run.json'), identity);

  const all = protocol.load(o.data, { lang: identity.lang });
  const ids = new Set<string>();
  for (const c of all) {
    if (ids.has(c.id)) throw new EvalRunError(`${o.data}: two cases share the id "${c.id}"; case ids must be unique`);
    ids.add(c.id);
  }
  const cases = o.limit ? all.slice(0, o.limit) : all;
  const casesPath = join(o.out, 'cases.jsonl');
  const records = readCases(casesPath);
  // Cases that ended in a call error (a timeout, a server down) run again; judge answers that
  // never parsed stay failed: asking again would replay the same cached answers.
  const pending = cases.filter((c) => {
    const r = records.get(c.id);
    return !r || r.meta.failure === CALL_ERROR;
  });

  const ctx = {
    model: o.model,
    judge: o.judge,
    reasoning: identity.reasoning,
    lang: identity.lang,
    judgeAttempts: o.judgeAttempts ?? 3,
    options: o.options ?? {},
    ...(o.signal ? { signal: o.signal } : {}),
  };
  let next = 0;
  let done = cases.length - pending.length;
  let failed = cases.filter((c) => records.get(c.id)?.status === 'failed' && records.get(c.id)?.meta.failure !== CALL_ERROR).length;
  const worker = async () => {
    while (next < pending.length && !o.signal?.aborted) {
      const c = pending[next++]!;
      const t0 = performance.now();
      let record: CaseRecord;
      try {
        record = await protocol.runCase(c, ctx);
      } catch (e) {
        if (o.signal?.aborted) return; // interrupted: the case has no record and runs next time
        record = {
          id: c.id,
          benchmark: o.benchmark,
          status: 'failed',
          error: `${(e as Error).name}: ${(e as Error).message}`,
          transcript: [],
          judgements: [],
          scores: {},
          meta: { failure: CALL_ERROR },
          seconds: 0,
        };
      }
      record.seconds = (performance.now() - t0) / 1000;
      records.set(c.id, record);
      appendCase(casesPath, record);
      done++;
      if (record.status === 'failed') failed++;
      o.onCase?.(record, { done, total: cases.length, failed });
    }
  };
  let interrupted: unknown;
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
  } catch (e) {
    interrupted = e;
  }

  const results = summarize(
    o,
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

function summarize(o: RunOptions, id: RunIdentity, protocol: Protocol, records: CaseRecord[], total: number): EvalResults {
  const ok = records.filter((r) => r.status === 'ok');
  const agg = ok.length ? protocol.aggregate(ok) : { scores: {}, breakdown: {} };
  const zero: UsageTotals = { requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 };
  return {
    benchmark: id.benchmark,
    data: id.data,
    model: id.model,
    judge: id.judge,
    reasoning: id.reasoning,
    lang: id.lang,
    scores: agg.scores,
    breakdown: agg.breakdown ?? {},
    cases: { total, ok: ok.length, failed: records.length - ok.length, pending: total - records.length },
    deviations: protocol.deviations({ lang: id.lang, reasoning: id.reasoning }),
    usage: { model: o.model.usage?.() ?? zero, judge: o.judge === o.model ? zero : (o.judge.usage?.() ?? zero) },
    createdAt: new Date().toISOString(),
    complete: records.length === total && records.every((r) => r.meta.failure !== CALL_ERROR),
  };
}

#!/usr/bin/env node
// rapo-eval: role-playing benchmarks against any chat model; see cli.ts for the options.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CachedChatModel,
  comparisonHtml,
  comparisonMarkdown,
  EvalRunError,
  failureOf,
  loadComparison,
  runEval,
  testbedWorld,
  type EvalResults,
} from '@rapo/eval';
import { createChatModel, type ChatModel } from '@rapo/llm';
// Importing @rapo/model registers the local:<checkpoint> backend with @rapo/llm.
import { describeBackend, initBackend } from '@rapo/model';
import { TestbedJudgeModel } from '@rapo/testbed';
import { parseCommandLine, UsageError, USAGE_EXIT } from '@rapo/cli';
import { parseEvalArgs, USAGE, type RunArgs } from './cli.js';

let verbose = false;

/** An error for stderr: its message, or with --verbose its stack (and its causes'). */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (!verbose) return e.message;
  let text = e.stack ?? `${e.name}: ${e.message}`;
  for (let c = e.cause; c instanceof Error; c = c.cause) text += `\ncaused by: ${c.stack ?? c.message}`;
  return text;
}

/**
 * The models of a run, one object per distinct spec (a local checkpoint is loaded once even when
 * it plays several roles; the run counts usage per role itself). A spec that cannot be made is a
 * usage error naming its option.
 */
function modelMaker(args: RunArgs, cacheDir: string) {
  const made = new Map<string, ChatModel>();
  return (spec: string, option: string): ChatModel => {
    let m = made.get(spec);
    if (m) return m;
    try {
      const inner =
        spec === 'testbed'
          ? new TestbedJudgeModel(testbedWorld(args.benchmark === 'testbed' ? args.data : 'testbed'))
          : createChatModel(spec, {
              timeoutMs: args.timeoutS * 1000,
              ...(args.apiKeyEnv ? { apiKeyEnv: args.apiKeyEnv } : {}),
              ...(verbose
                ? { onRetry: (r) => console.error(`rapo-eval: ${spec}: try ${r.attempt + 1} failed, trying again in ${r.waitMs} ms: ${r.error.message}`) }
                : {}),
            });
      m = new CachedChatModel(inner, cacheDir);
    } catch (e) {
      const what = spec === 'testbed' ? `${option} testbed (its world comes from --data ${args.data})` : `${option} ${spec}`;
      throw new UsageError(`${what}: ${(e as Error).message}`, { cause: e });
    }
    made.set(spec, m);
    return m;
  };
}

function headline(r: EvalResults): string {
  const scores = Object.entries(r.scores)
    .map(([k, v]) => `  ${k.padEnd(28)} ${v.toFixed(Math.abs(v) >= 100 ? 1 : 3)}`)
    .join('\n');
  const kinds = Object.entries(r.cases.failures ?? {})
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return `${scores}\n  cases: ${r.cases.ok} scored, ${r.cases.failed} failed${kinds ? ` (${kinds})` : ''}, ${r.cases.pending} pending of ${r.cases.total}`;
}

async function run(args: RunArgs): Promise<number> {
  const cache = join(args.out, 'llm-cache');
  // Local checkpoints run on the best tfjs backend here (rapo-native when the addon loads).
  if ([args.model, args.judge, args.envModel, args.nspModel].some((s) => s?.startsWith('local:'))) console.error(describeBackend(await initBackend()));
  const makeModel = modelMaker(args, cache);
  let model: ChatModel;
  let judge: ChatModel;
  let options;
  try {
    model = makeModel(args.model, '--model');
    judge = makeModel(args.judge, '--judge');
    options = {
      ...(args.envModel ? { environment: makeModel(args.envModel, '--env-model') } : {}),
      ...(args.nspModel ? { nextSpeaker: makeModel(args.nspModel, '--nsp-model') } : {}),
      ...(args.maxRounds !== undefined ? { maxRounds: args.maxRounds } : {}),
      ...(args.temperature !== undefined ? { temperature: args.temperature } : {}),
      ...(args.strictJudge ? { strictJudge: true } : {}),
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`rapo-eval: ${describeError(e)}`);
    return USAGE_EXIT;
  }
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: string) => {
    if (++interrupts > 1) process.exit(130);
    console.error(`\nrapo-eval: ${signal}: stopping; cases in flight are dropped and run again next time (${signal} again to exit at once)`);
    ac.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  console.error(`rapo-eval: ${args.benchmark} on ${model.name}, judge ${judge.name}, reasoning ${args.reasoning} -> ${args.out}`);
  const t0 = Date.now();
  try {
    const results = await runEval({
      benchmark: args.benchmark,
      data: args.data,
      model,
      judge,
      out: args.out,
      reasoning: args.reasoning,
      lang: args.lang,
      ...(args.limit !== undefined ? { limit: args.limit } : {}),
      concurrency: args.concurrency,
      judgeAttempts: args.judgeAttempts,
      options,
      signal: ac.signal,
      onCase: (r, p, error) => {
        const eta = p.done > 0 ? ((Date.now() - t0) / 1000 / p.done) * (p.total - p.done) : 0;
        console.error(
          `[${p.done}/${p.total}] ${r.id}: ${r.status === 'ok' ? 'ok' : `FAILED, ${failureOf(r)} (${r.error})`}  ${p.failed} failed  ${r.seconds.toFixed(1)}s${p.done < p.total ? `  eta ${Math.round(eta)}s` : ''}`,
        );
        if (verbose && error !== undefined) console.error(describeError(error));
      },
    });
    console.log(`${args.benchmark}: ${model.name}\n${headline(results)}`);
    console.log(`Results: ${join(args.out, 'results.json')}\nReport:  ${join(args.out, 'report.html')}`);
    const callErrors = results.cases.failures?.['call-error'] ?? 0;
    if (callErrors > 0) {
      console.error(
        `rapo-eval: ${callErrors} of ${results.cases.total} cases failed on call errors (their FAILED lines above, and cases.jsonl, say why); ` +
          'rerun the same command to run them again',
      );
      return 1;
    }
    return results.cases.failed > 0 && results.cases.ok === 0 ? 1 : 0;
  } catch (e) {
    if (ac.signal.aborted) {
      console.error(`rapo-eval: stopped; rerun the same command to continue (${join(args.out, 'results.json')} has the partial numbers)`);
      return 130;
    }
    if (e instanceof EvalRunError) {
      console.error(`rapo-eval: ${describeError(e)}`);
      return USAGE_EXIT;
    }
    console.error(`rapo-eval: ${describeError(e)}`);
    return 1;
  }
}

function compare(dirs: string[], out: string): number {
  const c = loadComparison(dirs);
  const md = comparisonMarkdown(c);
  process.stdout.write(md);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'compare.md'), md);
  writeFileSync(join(out, 'compare.html'), comparisonHtml(c));
  console.error(`wrote ${join(out, 'compare.md')} and ${join(out, 'compare.html')}`);
  return 0;
}

async function main(): Promise<number> {
  const args = parseCommandLine('rapo-eval', `${USAGE.split('\n\n')[0]}\n(rapo-eval --help lists every option)`, () => parseEvalArgs(process.argv.slice(2)));
  if (args === USAGE_EXIT) return USAGE_EXIT;
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  verbose = args.command === 'run' && args.verbose === true;
  try {
    return args.command === 'compare' ? compare(args.dirs, args.out) : await run(args);
  } catch (e) {
    console.error(`rapo-eval: ${describeError(e)}${verbose ? '' : ' (--verbose shows where)'}`);
    return 1;
  }
}

// Whatever escapes (an error in a callback, a promise nobody awaited) is reported as a message,
// with its stack only under --verbose, and ends the run with code 1.
const crash = (e: unknown) => {
  console.error(`rapo-eval: ${describeError(e)}${verbose ? '' : ' (--verbose shows where)'}`);
  process.exit(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
main().then((code) => process.exit(code), crash);

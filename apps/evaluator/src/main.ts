#!/usr/bin/env node
// rapo-eval: role-playing benchmarks against any chat model; see cli.ts for the options.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CachedChatModel, comparisonHtml, comparisonMarkdown, EvalRunError, loadComparison, runEval, testbedWorld, type EvalResults } from '@rapo/eval';
import { createChatModel, type ChatModel } from '@rapo/llm';
// Importing @rapo/model registers the local:<checkpoint> backend with @rapo/llm.
import { describeBackend, initBackend } from '@rapo/model';
import { TestbedJudgeModel } from '@rapo/testbed';
import { parseCommandLine, USAGE_EXIT } from '@rapo/cli';
import { parseEvalArgs, USAGE, type RunArgs } from './cli.js';

function makeModel(spec: string, args: RunArgs, cacheDir: string): ChatModel {
  const inner =
    spec === 'testbed'
      ? new TestbedJudgeModel(testbedWorld(args.benchmark === 'testbed' ? args.data : 'testbed'))
      : createChatModel(spec, { timeoutMs: args.timeoutS * 1000, ...(args.apiKeyEnv ? { apiKeyEnv: args.apiKeyEnv } : {}) });
  return new CachedChatModel(inner, cacheDir);
}

function headline(r: EvalResults): string {
  const scores = Object.entries(r.scores)
    .map(([k, v]) => `  ${k.padEnd(28)} ${v.toFixed(Math.abs(v) >= 100 ? 1 : 3)}`)
    .join('\n');
  return `${scores}\n  cases: ${r.cases.ok} scored, ${r.cases.failed} failed, ${r.cases.pending} pending of ${r.cases.total}`;
}

async function run(args: RunArgs): Promise<number> {
  const cache = join(args.out, 'llm-cache');
  // Local checkpoints run on the best tfjs backend here (rapo-native when the addon loads).
  if ([args.model, args.judge, args.envModel, args.nspModel].some((s) => s?.startsWith('local:'))) console.error(describeBackend(await initBackend()));
  const model = makeModel(args.model, args, cache);
  const judge = args.judge === args.model ? model : makeModel(args.judge, args, cache);
  const options = {
    ...(args.envModel ? { environment: makeModel(args.envModel, args, cache) } : {}),
    ...(args.nspModel ? { nextSpeaker: makeModel(args.nspModel, args, cache) } : {}),
    ...(args.maxRounds !== undefined ? { maxRounds: args.maxRounds } : {}),
    ...(args.temperature !== undefined ? { temperature: args.temperature } : {}),
  };
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
      onCase: (r, p) => {
        const eta = p.done > 0 ? ((Date.now() - t0) / 1000 / p.done) * (p.total - p.done) : 0;
        console.error(
          `[${p.done}/${p.total}] ${r.id}: ${r.status === 'ok' ? 'ok' : `FAILED (${r.error})`}  ${p.failed} failed  ${r.seconds.toFixed(1)}s${p.done < p.total ? `  eta ${Math.round(eta)}s` : ''}`,
        );
      },
    });
    console.log(`${args.benchmark}: ${model.name}\n${headline(results)}`);
    console.log(`Results: ${join(args.out, 'results.json')}\nReport:  ${join(args.out, 'report.html')}`);
    return results.cases.failed > 0 && results.cases.ok === 0 ? 1 : 0;
  } catch (e) {
    if (ac.signal.aborted) {
      console.error(`rapo-eval: stopped; rerun the same command to continue (${join(args.out, 'results.json')} has the partial numbers)`);
      return 130;
    }
    if (e instanceof EvalRunError) {
      console.error(`rapo-eval: ${e.message}`);
      return 2;
    }
    console.error(`rapo-eval: ${(e as Error).message}`);
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
  try {
    return args.command === 'compare' ? compare(args.dirs, args.out) : await run(args);
  } catch (e) {
    console.error(`rapo-eval: ${(e as Error).message}`);
    return 1;
  }
}

main().then((code) => process.exit(code));

// Command line of rapo-eval, kept apart from main.ts so it can be tested without running models.
import { parseOptions, UsageError } from '@rapo/cli';
import { BENCHMARKS, type BenchmarkName } from '@rapo/eval';
import { REASONING_STYLES, type Lang, type ReasoningStyle } from '@rapo/psycot';

export const USAGE = `Usage: rapo-eval run --benchmark <name> --data <path> --model <spec> --judge <spec> --out <dir> [options]
       rapo-eval compare <out-dir> <out-dir> ... [--out <dir>]

run: evaluates a chat model on a role-playing benchmark into <dir>: results.json (the headline
numbers under the benchmark's official keys), cases.jsonl (every case: transcript, the judge's
raw answers, the parsed result), report.html. Rerunning the same command continues an
interrupted run; nothing already answered is asked again (the responses are cached in <dir>).
Cases whose calls failed (a server down, timeouts) run again then; a case the judge could not
score, or whose prompt is longer than a model's context, stays failed. Exit code 1 while cases
are left with call errors.

  --benchmark <name>     coser | characterbench | charactereval | testbed
  --data <path>          the benchmark's file or folder (CoSER: test_set.json; CharacterBench: the
                         folder of *_test.json; CharacterEval: the folder of test_data.jsonl,
                         id2metric.jsonl, character_profiles.json; testbed: a rapo-train run folder
                         or "testbed[:seed=N,characters=N,heldout=F,per=N]")
  --model <spec>         the model under test: openai:<baseURL>#<model> or local:<checkpoint-dir>
  --judge <spec>         the judge, same forms; "testbed" for the testbed's own local judge
  --out <dir>            the output folder
  --reasoning <style>    none | generic-cot | inner-monologue | psy-cot (default none)
  --lang <en|zh>         prompt language (default en; CharacterBench and CharacterEval data is Chinese)
  --limit <N>            only the first N cases
  --concurrency <K>      cases at the same time (default 4)
  --judge-attempts <N>   tries at a readable judge answer before the case counts as failed (default 3)
  --strict-judge         ask the judge again about answers the official scorers would read anyway
                         (CoSER: a flaw without an integer severity; CharacterBench: no score or one
                         off the scale) instead of reading them by the official rules
  --env-model <spec>     CoSER: the environment agent (default: the model under test)
  --nsp-model <spec>     CoSER: the next-speaker predictor (default: the model under test)
  --max-rounds <N>       CoSER: most rounds per scene (default 20)
  --temperature <T>      sampling temperature of the model under test (default 0.7)
  --timeout <s>          per-request timeout of HTTP models (default 120)
  --api-key-env <NAME>   environment variable with the API key (default OPENAI_API_KEY)
  -v, --verbose          print each retry of a call and the stack trace of each error
  -h, --help             this text

compare: the headline numbers of several runs side by side; prints a table and writes
compare.md and compare.html into --out (default: the current folder).
`;

export { UsageError } from '@rapo/cli';

export interface RunArgs {
  command: 'run';
  benchmark: BenchmarkName;
  data: string;
  model: string;
  judge: string;
  out: string;
  reasoning: ReasoningStyle;
  lang: Lang;
  limit?: number;
  concurrency: number;
  judgeAttempts: number;
  /** Re-ask instead of reading messy judge answers by the official rules. */
  strictJudge?: boolean;
  envModel?: string;
  nspModel?: string;
  maxRounds?: number;
  temperature?: number;
  timeoutS: number;
  apiKeyEnv?: string;
  /** Retries and stack traces on stderr. */
  verbose?: boolean;
}

export interface CompareArgs {
  command: 'compare';
  dirs: string[];
  out: string;
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer >= ${min} but received "${v}"`);
  return n;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name}: expected one of ${allowed.join(', ')} but received "${v}"`);
  return v as T;
}

export function parseEvalArgs(argv: string[]): RunArgs | CompareArgs | 'help' {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('give a command: "run" to evaluate a model, "compare" to put runs side by side');
  if (command === '-h' || command === '--help' || command === 'help') return 'help';
  if (command === 'compare') {
    const parsed = parseOptions({ args: rest, options: { out: { type: 'string' } }, allowPositionals: true });
    if (parsed.positionals.length === 0) throw new UsageError('compare: give at least one rapo-eval output folder');
    return { command: 'compare', dirs: parsed.positionals, out: parsed.values.out ?? '.' };
  }
  if (command !== 'run') throw new UsageError(`unknown command "${command}"; expected "run" or "compare"`);
  const parsed = parseOptions({
    args: rest,
    options: {
      benchmark: { type: 'string' },
      data: { type: 'string' },
      model: { type: 'string' },
      judge: { type: 'string' },
      out: { type: 'string' },
      reasoning: { type: 'string' },
      lang: { type: 'string' },
      limit: { type: 'string' },
      concurrency: { type: 'string' },
      'judge-attempts': { type: 'string' },
      'strict-judge': { type: 'boolean' },
      'env-model': { type: 'string' },
      'nsp-model': { type: 'string' },
      'max-rounds': { type: 'string' },
      temperature: { type: 'string' },
      timeout: { type: 'string' },
      'api-key-env': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  const missing = (['benchmark', 'data', 'model', 'judge', 'out'] as const).filter((k) => !v[k]);
  if (missing.length) throw new UsageError(`run: missing ${missing.map((k) => `--${k}`).join(', ')}`);
  const temperature = v.temperature === undefined ? undefined : Number(v.temperature);
  if (temperature !== undefined && !(temperature >= 0 && temperature <= 2))
    throw new UsageError(`--temperature: expected a number in [0, 2] but received "${v.temperature}"`);
  const limit = int('limit', v.limit, 1);
  const maxRounds = int('max-rounds', v['max-rounds'], 1);
  return {
    command: 'run',
    benchmark: oneOf('benchmark', v.benchmark, BENCHMARKS, 'coser'),
    data: v.data!,
    model: v.model!,
    judge: v.judge!,
    out: v.out!,
    reasoning: oneOf('reasoning', v.reasoning, REASONING_STYLES, 'none'),
    lang: oneOf('lang', v.lang, ['en', 'zh'] as const, 'en'),
    ...(limit !== undefined ? { limit } : {}),
    concurrency: int('concurrency', v.concurrency, 1) ?? 4,
    judgeAttempts: int('judge-attempts', v['judge-attempts'], 1) ?? 3,
    ...(v['strict-judge'] ? { strictJudge: true } : {}),
    ...(v['env-model'] ? { envModel: v['env-model'] } : {}),
    ...(v['nsp-model'] ? { nspModel: v['nsp-model'] } : {}),
    ...(maxRounds !== undefined ? { maxRounds } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    timeoutS: int('timeout', v.timeout, 1) ?? 120,
    ...(v['api-key-env'] ? { apiKeyEnv: v['api-key-env'] } : {}),
    ...(v.verbose ? { verbose: true } : {}),
  };
}

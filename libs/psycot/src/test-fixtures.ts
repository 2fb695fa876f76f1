// Where the benchmark samples live (../shared/benchmarks beside the checkout, or
// RAPO_BENCHMARKS_DIR). Tests that read them are skipped, with the reason, where they are absent.
// Shared as `@rapo/psycot/testing` with the tests of @rapo/eval, which read the same samples.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function benchmarksDir(): string | undefined {
  if (process.env.RAPO_BENCHMARKS_DIR) return resolve(process.env.RAPO_BENCHMARKS_DIR);
  let dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  for (let up = 0; up < 4; up++) {
    const candidate = join(dir, '..', 'shared', 'benchmarks');
    if (existsSync(join(candidate, 'coser'))) return candidate;
    dir = join(dir, '..');
  }
  return undefined;
}

export const BENCHMARKS_MISSING = 'benchmark samples not found beside the checkout (set RAPO_BENCHMARKS_DIR)';

/** A sample file's JSON, e.g. readBenchmarkJson('characterbench/data/memory_consistency.json'). */
export function readBenchmarkJson<T>(relative: string): T {
  return JSON.parse(readFileSync(sample(relative), 'utf8')) as T;
}

/** Absolute path of a sample file, e.g. sample('coser/data/test/test_set.json'). */
export function sample(relative: string): string {
  const dir = benchmarksDir();
  if (!dir) throw new Error(BENCHMARKS_MISSING);
  return join(dir, relative);
}

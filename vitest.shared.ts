// Vitest settings shared by every project. With RAPO_TEST_JSON_DIR set (as .ci/run does), each
// project also writes its counts as JSON there, so CI can print one `N passed, N failed` line
// taken from the reporter itself.
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export function projectConfig(name: string, options: { testTimeout?: number } = {}) {
  const jsonDir = process.env.RAPO_TEST_JSON_DIR;
  return defineConfig({
    test: {
      include: ['**/*.test.ts'],
      exclude: ['**/node_modules/**'],
      pool: 'forks',
      testTimeout: options.testTimeout ?? 120_000,
      hookTimeout: 120_000,
      reporters: jsonDir ? ['default', ['json', { outputFile: join(jsonDir, `${name}.json`) }]] : ['default'],
    },
  });
}

// Vitest settings shared by every project. With RAPO_TEST_JSON_DIR set (as .ci/run does), each
// project also writes its counts as JSON there, so CI can print one `N passed, N failed` line
// taken from the reporter itself. Tests run on the TypeScript sources: the "rapo-source" export
// condition sends each @rapo/* import to the library's src/ (plain Node takes its built dist/;
// docs/design.md, "Source and built exports").
import { join } from 'node:path';
import { defaultServerConditions } from 'vite'; // vitest's own dependency
import { defineConfig } from 'vitest/config';

/** The export condition under which each @rapo library's package.json points at its TypeScript source. */
const SOURCE_CONDITION = 'rapo-source';

export function projectConfig(name: string, options: { testTimeout?: number; fileParallelism?: boolean } = {}) {
  const jsonDir = process.env.RAPO_TEST_JSON_DIR;
  return defineConfig({
    // Tests run as server code (Vite's ssr environment); its conditions replace Vite's defaults, so they are kept.
    ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
    test: {
      include: ['**/*.test.ts'],
      exclude: ['**/node_modules/**'],
      pool: 'forks',
      fileParallelism: options.fileParallelism ?? true,
      testTimeout: options.testTimeout ?? 120_000,
      hookTimeout: 120_000,
      reporters: jsonDir ? ['default', ['json', { outputFile: join(jsonDir, `${name}.json`) }]] : ['default'],
    },
  });
}

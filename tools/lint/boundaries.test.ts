// The lint rules that keep the architecture (eslint.config.mjs, docs/design.md) catch what they
// are there for: each case lints a one-line file placed in a project and checks which rule fires.
// This is also the documented way to see the rules work: `cd tools && npx vitest run lint`.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
let eslint: ESLint;

/** The rule ids ESLint reports for `code` as the file `path` (relative to the repository). */
async function rulesFor(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, path) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

beforeAll(() => {
  process.env.NX_DAEMON = 'false';
  // The boundary rule reads Nx's cached project graph and skips itself without one (a fresh
  // clone): compute it first, as `npm run lint` does.
  execFileSync(process.execPath, [resolve(root, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects'], { cwd: root, stdio: 'ignore' });
  eslint = new ESLint({ cwd: root });
}, 120_000);

describe('the module-boundary lint rules', () => {
  it('stop any project but @rapo/kernels from reaching the raw addon', async () => {
    expect(await rulesFor('libs/model/src/lint-probe.ts', "import { loadNative } from '@rapo/kernels';\nexport const a = loadNative;\n")).toContain(
      'no-restricted-imports',
    );
    expect(await rulesFor('libs/model/src/lint-probe.ts', "import type { RawAddon } from '@rapo/kernels';\nexport type A = RawAddon;\n")).toContain(
      'no-restricted-imports',
    );
    expect(
      await rulesFor('libs/trainer/src/lint-probe.ts', "import addon from '../../../native/build/Release/rapo.node';\nexport const a = addon;\n"),
    ).toContain('no-restricted-imports');
    expect(await rulesFor('tools/bench/lint-probe.ts', "import * as n from '@rapo/native';\nexport const a = n;\n")).toContain('no-restricted-imports');
    expect(await rulesFor('libs/eval/src/lint-probe.ts', "import { x } from '@rapo/kernels/src/loader.js';\nexport const a = x;\n")).toContain(
      'no-restricted-imports',
    );
  });

  it('keep TensorFlow.js inside @rapo/model', async () => {
    expect(await rulesFor('libs/eval/src/lint-probe.ts', "import * as tf from '@tensorflow/tfjs';\nexport const a = tf;\n")).toContain(
      '@nx/enforce-module-boundaries',
    );
    expect(await rulesFor('apps/trainer/src/lint-probe.ts', "import * as tf from '@tensorflow/tfjs';\nexport const a = tf;\n")).toContain(
      '@nx/enforce-module-boundaries',
    );
    expect(await rulesFor('libs/model/src/lint-probe.ts', "import * as tf from '@tensorflow/tfjs';\nexport const a = tf;\n")).toEqual([]);
  });

  it('make dependencies point one way: apps -> libs -> kernels', async () => {
    // A lower layer importing a higher one.
    expect(await rulesFor('libs/kernels/src/lint-probe.ts', "import { train } from '@rapo/trainer';\nexport const a = train;\n")).toContain(
      '@nx/enforce-module-boundaries',
    );
    expect(await rulesFor('libs/model/src/lint-probe.ts', "import { runStudy } from '@rapo/study';\nexport const a = runStudy;\n")).toContain(
      '@nx/enforce-module-boundaries',
    );
    expect(await rulesFor('libs/eval/src/lint-probe.ts', "import { train } from '@rapo/trainer';\nexport const a = train;\n")).toContain(
      '@nx/enforce-module-boundaries',
    );
    // The allowed direction passes.
    expect(await rulesFor('libs/trainer/src/lint-probe.ts', "import { miForward } from '@rapo/kernels';\nexport const a = miForward;\n")).toEqual([]);
    expect(await rulesFor('apps/study/src/lint-probe.ts', "import { runStudy } from '@rapo/study';\nexport const a = runStudy;\n")).toEqual([]);
  });
});

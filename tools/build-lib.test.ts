// tools/build-lib.mjs, what each lib's `build` target runs: it compiles a library into dist/ (and
// clears what an earlier build left there), and fails, naming the file, when the package.json
// promises plain Node a file the build does not write or points it at TypeScript source.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD_LIB = resolve(root, 'tools/build-lib.mjs');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A one-file library in a temporary folder, with the given exports. */
function fakeLib(exports: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapo-build-lib-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'index.ts'), 'export const answer: number = 42;\n');
  writeFileSync(join(dir, 'src', 'index.test.ts'), 'export const notShipped = 1;\n');
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: '@rapo/fake', type: 'module', main: './dist/index.js', types: './dist/index.d.ts', exports }),
  );
  writeFileSync(
    join(dir, 'tsconfig.build.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2023',
        strict: true,
        types: [],
        declaration: true,
        rootDir: 'src',
        outDir: 'dist',
      },
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
    }),
  );
  return dir;
}

const build = (...args: string[]) => spawnSync(process.execPath, [BUILD_LIB, ...args], { cwd: root, encoding: 'utf8' });

const GOOD = { '.': { 'rapo-source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } };

describe('tools/build-lib.mjs', () => {
  it('writes JavaScript and declarations, leaves tests out, and clears a stale dist/', () => {
    const dir = fakeLib(GOOD);
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'removed.js'), 'export {};\n');
    const r = build(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/built .*dist \(2 entry files\)/);
    for (const f of ['index.js', 'index.d.ts']) expect(existsSync(join(dir, 'dist', f)), f).toBe(true);
    expect(existsSync(join(dir, 'dist', 'index.test.js'))).toBe(false);
    expect(existsSync(join(dir, 'dist', 'removed.js'))).toBe(false);
  });

  it('fails, naming the file, when the package.json exports a file the build does not write', () => {
    const dir = fakeLib({ ...GOOD, './testing': { 'rapo-source': './src/testing.ts', types: './dist/testing.d.ts', default: './dist/testing.js' } });
    const r = build(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('names ./dist/testing.d.ts, ./dist/testing.js, which the build did not write');
  });

  it('refuses an export that sends plain Node to TypeScript source', () => {
    const r = build(fakeLib({ '.': './src/index.ts' }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('@rapo/fake: exports["."] points at TypeScript source (./src/index.ts); only the "rapo-source" condition may');
  });

  it('reports a failed compile', () => {
    const dir = fakeLib(GOOD);
    writeFileSync(join(dir, 'src', 'index.ts'), "export const answer: number = 'forty-two';\n");
    const r = build(dir);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/TS2322/);
    expect(r.stderr).toContain('build-lib: tsc failed');
  });

  it('exits 2 on a usage error or a folder that is not a library', () => {
    expect(build().status).toBe(2);
    const r = build('docs');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('docs is not a library to build (it needs a package.json and a tsconfig.build.json)');
  });
});

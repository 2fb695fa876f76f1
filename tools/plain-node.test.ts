// The libraries work outside the checkout's TypeScript tooling. `nx run psycot:build` (which builds
// @rapo/llm and @rapo/files first) writes JavaScript and declarations into dist/; a plain .mjs run
// by `node`, with no loader and no export condition, imports @rapo/psycot and @rapo/llm from there
// and plays a Character turn against an OpenAI-compatible server; a consumer's TypeScript, without
// the source condition, type-checks against the declarations. Every lib builds and each of its
// entry points loads the same way. Inside the checkout, vitest, tsc, tsx and the app bundles keep
// taking the sources (the "rapo-source" condition) even with dist/ present, and every lib's
// package.json has the same shape.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIBS = readdirSync(join(root, 'libs')).filter((d) => existsSync(join(root, 'libs', d, 'package.json')));

/** The environment of a process that knows nothing of the checkout's tooling: no NODE_OPTIONS (loaders, conditions). */
function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true' };
  delete env.NODE_OPTIONS;
  return env;
}

// A consumer outside the repository: a folder whose node_modules is the checkout's, so the @rapo
// packages resolve as they would for a project that installed them.
let consumer: string;

beforeAll(() => {
  const nx = createRequire(import.meta.url).resolve('nx/bin/nx.js');
  const r = spawnSync(process.execPath, [nx, 'run', 'psycot:build', '--outputStyle=static'], { cwd: root, env: plainEnv(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nx run psycot:build failed:\n${r.stdout}\n${r.stderr}`);
  consumer = mkdtempSync(join(tmpdir(), 'rapo-plain-node-'));
  symlinkSync(join(root, 'node_modules'), join(consumer, 'node_modules'), 'dir');
}, 300_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

describe('the built @rapo/psycot', () => {
  it('has JavaScript and declarations for each entry point, and no tests', () => {
    for (const f of ['index.js', 'index.d.ts', 'test-fixtures.js', 'test-fixtures.d.ts']) expect(existsSync(join(root, 'libs/psycot/dist', f)), f).toBe(true);
    for (const f of ['index.js', 'index.d.ts', 'test-server.js', 'test-server.d.ts']) expect(existsSync(join(root, 'libs/llm/dist', f)), f).toBe(true);
    expect(readFileSync(join(root, 'libs/psycot/dist/index.d.ts'), 'utf8')).toMatch(/parsePsyCot/);
    expect(readdirSync(join(root, 'libs/psycot/dist')).filter((f) => f.includes('.test.'))).toEqual([]);
  });

  it('runs from a plain .mjs under node, without a loader', () => {
    const script = `
import { fileURLToPath } from 'node:url';
import { OpenAICompatibleModel } from '@rapo/llm';
import { FakeChatServer } from '@rapo/llm/testing';
import { Character, PsyCotParseError, buildJudgeMessages, formatPsyCot, parseProfile, parsePsyCot } from '@rapo/psycot';

const resolved = ['@rapo/psycot', '@rapo/llm', '@rapo/llm/testing'].map((s) => fileURLToPath(import.meta.resolve(s)));
const profile = parseProfile({ name: 'Mara', identity: 'a retired smuggler who runs a tea house' });
const answer = formatPsyCot({ perception: 'She asks about the sea.', empathy: 'Old grief, guarded.', construction: 'A joke, then the truth.', reply: 'The sea left me first.' });
const parsed = parsePsyCot(answer);
let code;
try {
  parsePsyCot('Just a reply.');
} catch (e) {
  code = e instanceof PsyCotParseError ? e.code : 'not a PsyCotParseError: ' + e;
}
const judge = buildJudgeMessages({ profile, message: 'Why did you give up the sea?', response: parsed.reply });
const server = new FakeChatServer();
const baseURL = await server.start();
server.script({ kind: 'answer', content: answer });
const turn = await new Character({ profile, model: new OpenAICompatibleModel({ baseURL, model: 'm' }) }).turn({ message: 'Why did you give up the sea?' });
await server.stop();
console.log(JSON.stringify({ resolved, parsed, code, judge, reply: turn.reply, empathy: turn.sections?.empathy, requests: server.received.length }));
`;
    writeFileSync(join(consumer, 'use-psycot.mjs'), script);
    const r = spawnSync(process.execPath, ['use-psycot.mjs'], { cwd: consumer, env: plainEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.resolved).toEqual(['libs/psycot/dist/index.js', 'libs/llm/dist/index.js', 'libs/llm/dist/test-server.js'].map((f) => join(root, f)));
    expect(out.parsed).toEqual({
      perception: 'She asks about the sea.',
      empathy: 'Old grief, guarded.',
      construction: 'A joke, then the truth.',
      reply: 'The sea left me first.',
    });
    expect(out.code).toBe('missing-think');
    expect(out.judge.map((m: { role: string }) => m.role)).toEqual(['system', 'user']);
    expect(out.judge[1].content).toContain('a retired smuggler who runs a tea house');
    expect(out.judge[1].content).toContain('The sea left me first.');
    expect(out).toMatchObject({ reply: 'The sea left me first.', empathy: 'Old grief, guarded.', requests: 1 });
  });

  it('is what the checkout runs only under the "rapo-source" condition', () => {
    const script = "console.log(JSON.stringify(['@rapo/psycot', '@rapo/llm/testing'].map((s) => import.meta.resolve(s))));";
    writeFileSync(join(consumer, 'where.mjs'), script);
    const r = spawnSync(process.execPath, ['--conditions=rapo-source', 'where.mjs'], { cwd: consumer, env: plainEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as string[]).map((u) => fileURLToPath(u))).toEqual([
      join(root, 'libs/psycot/src/index.ts'),
      join(root, 'libs/llm/src/test-server.ts'),
    ]);
  });

  it("type-checks a consumer's TypeScript against the declarations (and @rapo/llm's behind them)", () => {
    writeFileSync(
      join(consumer, 'consumer.ts'),
      `import { createChatModel } from '@rapo/llm';
import { Character, parsePsyCot, type PsyCotOutput } from '@rapo/psycot';

const parsed: PsyCotOutput = parsePsyCot('<think><perception>a</perception><empathy>b</empathy><construction>c</construction></think> d');
export const reply: string = parsed.reply;
export const mara = new Character({ profile: 'A retired smuggler.', model: createChatModel('openai:http://127.0.0.1:1/v1#m') });
// @ts-expect-error the reply is a string: were the declarations missing, parsePsyCot would be any and this line no error
export const wrong: number = parsed.reply;
// @ts-expect-error the model must be a ChatModel, a type of @rapo/llm that psycot's declarations import
export const bad = new Character({ profile: 'x', model: 42 });
`,
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', strict: true, noEmit: true, types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', consumer, '--traceResolution'], { cwd: consumer, env: plainEnv(), encoding: 'utf8' });
    const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
    expect(errors, errors.join('\n')).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Module name '@rapo\/psycot' was successfully resolved to '[^']*libs\/psycot\/dist\/index\.d\.ts'/);
  });
});

describe('every lib', () => {
  it('builds, and each entry point its package.json exports loads under plain node', () => {
    const nx = createRequire(import.meta.url).resolve('nx/bin/nx.js');
    const b = spawnSync(process.execPath, [nx, 'run-many', '-t', 'build', '--projects=tag:type:lib', '--outputStyle=static'], {
      cwd: root,
      env: plainEnv(),
      encoding: 'utf8',
    });
    if (b.status !== 0) throw new Error(`building the libs failed:\n${b.stdout}\n${b.stderr}`);
    const entries = LIBS.flatMap((lib) => {
      const pkg = JSON.parse(readFileSync(join(root, 'libs', lib, 'package.json'), 'utf8')) as { name: string; exports: Record<string, { types: string }> };
      return Object.entries(pkg.exports).map(([sub, targets]) => {
        expect(existsSync(join(root, 'libs', lib, targets.types)), `${lib}: ${targets.types}`).toBe(true);
        return sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
      });
    });
    expect(entries.length).toBeGreaterThanOrEqual(LIBS.length);
    const script = `const out = {};
for (const name of ${JSON.stringify(entries)}) out[name] = { file: import.meta.resolve(name), exports: Object.keys(await import(name)).length };
console.log(JSON.stringify(out));
`;
    writeFileSync(join(consumer, 'load-all.mjs'), script);
    const r = spawnSync(process.execPath, ['load-all.mjs'], { cwd: consumer, env: plainEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, { file: string; exports: number }>;
    for (const name of entries) {
      expect(loaded[name]?.file, name).toMatch(/\/libs\/[a-z]+\/dist\/[a-z0-9-]+\.js$/);
      expect(loaded[name]?.exports, name).toBeGreaterThan(0);
    }
  }, 600_000);
});

describe('the checkout runs the sources, even where dist/ exists', () => {
  it('vitest resolves @rapo/* to src/ (vitest.shared.ts)', () => {
    expect(fileURLToPath(import.meta.resolve('@rapo/psycot'))).toBe(join(root, 'libs/psycot/src/index.ts'));
    expect(fileURLToPath(import.meta.resolve('@rapo/llm/testing'))).toBe(join(root, 'libs/llm/src/test-server.ts'));
  });

  it('tsc resolves @rapo/* to src/ (customConditions in tsconfig.base.json)', () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tools/tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
    expect(config?.errors).toEqual([]);
    const found = ts.resolveModuleName('@rapo/psycot', join(root, 'tools/plain-node.test.ts'), config!.options, ts.sys).resolvedModule;
    expect(found?.resolvedFileName).toBe(join(root, 'libs/psycot/src/index.ts'));
  });

  it('every tsx command of the npm scripts and Nx targets asks for the sources', () => {
    const scripts = Object.values((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    const targets = Object.values(
      (JSON.parse(readFileSync(join(root, 'tools/project.json'), 'utf8')) as { targets: Record<string, { options?: { command?: string } }> }).targets,
    );
    const commands = [...scripts, ...targets.map((t) => t.options?.command ?? '')].filter((c) => /\btsx\b/.test(c));
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) expect(c).toMatch(/\btsx --conditions=rapo-source /);
  });

  it('esbuild bundles the apps from source (tools/build-app.mjs)', () => {
    // A package shaped like the libs, whose two forms say which one the bundle took.
    const dir = join(consumer, 'bundle');
    mkdirSync(join(dir, 'node_modules', 'shaped'), { recursive: true });
    writeFileSync(
      join(dir, 'node_modules', 'shaped', 'package.json'),
      JSON.stringify({ name: 'shaped', type: 'module', exports: { '.': { 'rapo-source': './src.ts', default: './dist.js' } } }),
    );
    writeFileSync(join(dir, 'node_modules', 'shaped', 'src.ts'), "export const form: string = 'taken from source';\n");
    writeFileSync(join(dir, 'node_modules', 'shaped', 'dist.js'), "export const form = 'taken from dist';\n");
    writeFileSync(join(dir, 'main.ts'), "import { form } from 'shaped';\nconsole.log(form);\n");
    const r = spawnSync(process.execPath, ['tools/build-app.mjs', join(dir, 'main.ts'), join(dir, 'out.mjs')], {
      cwd: root,
      env: plainEnv(),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const run = spawnSync(process.execPath, [join(dir, 'out.mjs')], { cwd: dir, env: plainEnv(), encoding: 'utf8' });
    expect(run.stdout.trim(), run.stderr).toBe('taken from source');
  }, 120_000);
});

describe("every lib's package.json", () => {
  for (const lib of LIBS) {
    it(`${lib}: each export has its source under "rapo-source", then declarations and JavaScript in dist/`, () => {
      const dir = join(root, 'libs', lib);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        main: string;
        types: string;
        exports: Record<string, Record<string, string>>;
      };
      expect(Object.keys(pkg.exports)).toContain('.');
      for (const [entry, targets] of Object.entries(pkg.exports)) {
        // Order matters: Node and TypeScript take the first condition they know.
        expect(Object.keys(targets), entry).toEqual(['rapo-source', 'types', 'default']);
        const source = targets['rapo-source']!;
        expect(source, entry).toMatch(/^\.\/src\/.+\.ts$/);
        expect(existsSync(join(dir, source)), `${lib} ${entry}: ${source}`).toBe(true);
        const stem = source.slice('./src/'.length, -'.ts'.length);
        expect(targets, entry).toEqual({ 'rapo-source': source, types: `./dist/${stem}.d.ts`, default: `./dist/${stem}.js` });
      }
      expect({ main: pkg.main, types: pkg.types }).toEqual({ main: pkg.exports['.']!.default, types: pkg.exports['.']!.types });
      const project = JSON.parse(readFileSync(join(dir, 'project.json'), 'utf8')) as {
        targets: Record<string, { dependsOn?: unknown; options?: { command?: string } }>;
      };
      expect(project.targets.build).toMatchObject({ dependsOn: ['^build'], options: { command: `node tools/build-lib.mjs libs/${lib}` } });
      expect(existsSync(join(dir, 'tsconfig.build.json'))).toBe(true);
    });
  }
});

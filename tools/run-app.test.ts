// The npm scripts that run a tool build it quietly through tools/run-app.mjs: a command prints its
// own lines (no Nx chatter), a failed build shows Nx's output and stops, and SIGTERM reaches the tool.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const RUN_APP = resolve(root, 'tools/run-app.mjs');

const nxJson = readFileSync(resolve(root, 'nx.json'), 'utf8');

describe('npm run <tool> -- --help', () => {
  // The tools, and the benchmarks with one of their own options.
  for (const [script, usage, option] of [
    ['train', /rapo-train/, ''],
    ['eval', /^Usage: rapo-eval run/, ''],
    ['serve', /^Usage: rapo-serve/, ''],
    ['study', /rapo-study/, ''],
    ['bench', /Usage: npm run bench\b/, '--max-slow-mb'],
    ['bench:model', /Usage: npm run bench:model/, '--backends'],
    ['bench:rl', /Usage: npm run bench:rl/, '--reps'],
    ['bench:training', /Usage: npm run bench:training/, '--quick'],
  ] as const) {
    it(`${script} prints the tool's own help and nothing of Nx`, () => {
      const out = execFileSync(npm, ['run', '--silent', script, '--', '--help'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toMatch(usage);
      expect(out).toContain(option);
      expect(out).not.toMatch(/\bNX\b|Successfully ran target|nx run|Run a target for a project/);
    }, 180_000);
  }
});

describe('npx <tool> from the checkout', () => {
  const bins = ['trainer', 'evaluator', 'serve', 'study'].flatMap((dir) =>
    Object.keys((JSON.parse(readFileSync(resolve(root, 'apps', dir, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin),
  );
  it('has one command per app', () => expect(bins).toEqual(['rapo-train', 'rapo-eval', 'rapo-serve', 'rapo-study']));
  for (const name of ['rapo-train', 'rapo-eval', 'rapo-serve', 'rapo-study']) {
    it(`${name} --help runs as printed`, () => {
      const r = spawnSync('npx', ['--no-install', name, '--help'], { cwd: root, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(name);
      expect(r.stdout + r.stderr).not.toMatch(/\bNX\b|Successfully ran target/);
    }, 180_000);
  }
});

describe('tools/run-app.mjs', () => {
  it('shows Nx output and stops when the build fails', () => {
    const r = spawnSync(process.execPath, [RUN_APP, 'no-such-project:build', 'node', '-e', 'console.log("ran")'], { cwd: root, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('ran');
    expect(r.stderr).toMatch(/no-such-project/);
    expect(r.stderr).toContain('rapo: building no-such-project failed');
  }, 120_000);

  it('passes its arguments and exit code through, and SIGTERM on to the tool', async () => {
    const script = 'process.on("SIGTERM", () => process.exit(7)); console.log(JSON.stringify(process.argv.slice(1))); setInterval(() => {}, 1000);';
    const child = spawn(process.execPath, [RUN_APP, 'native:build', 'node', '-e', script, 'a b', '--flag'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const started = new Promise<void>((res) =>
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) res();
      }),
    );
    await started;
    expect(JSON.parse(out)).toEqual(['a b', '--flag']);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(code).toBe(7);
  }, 180_000);
});

describe('running the tools', () => {
  it('leaves the tracked nx.json as it was', () => {
    expect(readFileSync(resolve(root, 'nx.json'), 'utf8')).toBe(nxJson);
  });
});

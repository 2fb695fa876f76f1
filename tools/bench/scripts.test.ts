// The npm scripts run the benchmarks themselves, so `npm run bench -- --help` (and the others)
// print the benchmark's own options, not Nx's.
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('npm run bench* -- --help', () => {
  for (const [script, option] of [
    ['bench', '--max-slow-mb'],
    ['bench:model', '--backends'],
    ['bench:rl', '--reps'],
    ['bench:training', '--quick'],
  ] as const) {
    it(`${script} prints its own usage`, () => {
      const out = execFileSync(npm, ['run', '--silent', script, '--', '--help'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toMatch(new RegExp(`Usage: npm run ${script.replace(':', '\\:')}`));
      expect(out).toContain(option);
      expect(out).not.toMatch(/nx run <project>|Run a target for a project/);
    }, 120_000);
  }
});

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '@rapo/model';
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { errorText, helpText, parseTrainArgs, progressBar, UsageError } from './cli.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-train-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const BUNDLE = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/rapo-train.mjs');

describe('the npm scripts', () => {
  it('has no script that npm would run before or after another one (a "pretrain" script runs before every `npm run train`)', () => {
    const pkg = JSON.parse(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../../package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const names = Object.keys(pkg.scripts);
    expect(names).toContain('train');
    expect(names).toContain('base:pretrain');
    const hooks = names.filter((n) => ['pre', 'post'].some((p) => n.startsWith(p) && names.includes(n.slice(p.length))));
    expect(hooks).toEqual([]);
  });
});

describe('rapo-train arguments', () => {
  it('runs the default config into a dated run folder', () => {
    const a = parseTrainArgs([], new Date('2026-11-26T04:05:06Z'));
    expect(a).toMatchObject({ out: join('runs', '20261126-040506-rapo'), resume: false, config: { rl: { algo: 'rapo' } } });
  });

  it('reads --config and --set, and names what is wrong', () => {
    const file = join(root, 'c.yaml');
    writeFileSync(file, 'seed: 9\nrl:\n  algo: grpo\n');
    const a = parseTrainArgs(['--config', file, '--set', 'rl.steps=3', '--set', 'sft.steps=0', '--out', 'runs/x']);
    expect(a).toMatchObject({ out: 'runs/x', config: { seed: 9, rl: { algo: 'grpo', steps: 3 }, sft: { steps: 0 } } });
    expect(() => parseTrainArgs(['--set', 'rl.algo=ppo'])).toThrow(/rl\.algo.*"grpo" \| "rapo"/);
    expect(() => parseTrainArgs(['--bogus'])).toThrow(UsageError);
    expect(() => parseTrainArgs(['--resume', join(root, 'nothing')])).toThrow(/not a rapo-train run/);
    expect(() => parseTrainArgs(['--resume', 'a', '--out', 'b'])).toThrow(/leave out --out b/);
  });

  it('prints an error as its message, with the stack trace only under --verbose', () => {
    expect(parseTrainArgs(['--out', 'runs/x'])).toMatchObject({ verbose: false });
    expect(parseTrainArgs(['--out', 'runs/x', '--verbose'])).toMatchObject({ verbose: true });
    const e = new Error('could not reach the judge');
    expect(errorText(e, false)).toBe('rapo-train: could not reach the judge');
    expect(errorText(e, true)).toMatch(/^rapo-train: could not reach the judge\n\s+at .*cli\.test\.ts/);
    expect(errorText('plain', true)).toBe('rapo-train: plain');
    expect(helpText()).toContain('--verbose');
  });

  it('resumes with the config the run wrote', () => {
    const run = join(root, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'resolved-config.yaml'), 'seed: 4\n');
    expect(parseTrainArgs(['--resume', run])).toMatchObject({ out: run, resume: true, config: { seed: 4 } });
  });

  it('documents every option in --help and draws a progress bar', () => {
    const help = helpText();
    expect(help).toContain('--resume <dir>');
    expect(help).toContain('rl.rapo.lam_neg');
    expect(help).toContain('rl.rewards[]');
    expect(progressBar({ phase: 'rl', done: 5, total: 10, stepSeconds: 2, etaSeconds: 10, text: 'reward 0.5' }, 10)).toBe(
      '[#####.....] rl 5/10  reward 0.5  eta 10s',
    );
  });
});

const TINY_YAML = `seed: 11
data: { characters: 4 }
model: { init: scratch, vocab_size: 300, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 }
sft: { steps: 4, batch_size: 2, eval_every: 2, eval_batches: 1, lr: 0.01, warmup_steps: 1 }
rl: { steps: 4, prompts_per_step: 2, group_size: 2, max_new_tokens: 6, eval_every: 2, eval_prompts: 2, rewards: [{ type: testbed-judge, noise: 0.3 }] }
checkpoint: { every: 2, keep: 2 }
log: { samples_every: 1, samples: 1 }
`;

function runCli(args: string[]): { done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [BUNDLE, ...args], { env: { ...process.env, RAPO_TF_BACKEND: 'cpu' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return {
    done: new Promise((res) => child.on('exit', (code, signal) => res({ code, signal, stdout, stderr }))),
    kill: () => child.kill('SIGKILL'),
  };
}

const weights = (dir: string) => Object.fromEntries([...readSafetensors(join(dir, 'model.safetensors')).tensors].map(([k, v]) => [k, Array.from(v.data)]));

describe('rapo-train, the bundled app', () => {
  it('killed with SIGKILL mid-run, then resumed, ends with the parameters of an uninterrupted run', async () => {
    expect(existsSync(BUNDLE), `${BUNDLE} is missing: build it with npx nx run trainer-app:build`).toBe(true);
    const config = join(root, 'tiny.yaml');
    writeFileSync(config, TINY_YAML);
    const straight = join(root, 'straight');
    const killed = join(root, 'killed');
    const a = runCli(['--config', config, '--out', straight]);
    const b = runCli(['--config', config, '--out', killed]);
    // Kill b once it has checkpointed inside RL and logged a step after that checkpoint.
    const rlCheckpoint = join(killed, 'checkpoints', 'step-000006', 'state.json');
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const metrics = existsSync(join(killed, 'metrics.jsonl')) ? readFileSync(join(killed, 'metrics.jsonl'), 'utf8') : '';
      if (existsSync(rlCheckpoint) && metrics.includes('"step":2,"phase":"rl"') && /"step":2,"phase":"rl"[^\n]*"reward"/.test(metrics)) break;
    }
    b.kill();
    const killedResult = await b.done;
    expect(killedResult.signal).toBe('SIGKILL');
    expect(existsSync(join(killed, 'final'))).toBe(false);
    const ra = await a.done;
    expect(ra.code, ra.stderr).toBe(0);
    expect(ra.stdout).toContain(`Report:     ${join(straight, 'report.html')}`);
    // The hint runs as printed from the checkout (npx finds the rapo-serve command).
    const hint = /\(serve it: (npx rapo-serve \S+)\)/.exec(ra.stdout)?.[1];
    expect(hint).toBe(`npx rapo-serve ${join(straight, 'final')}`);
    const help = spawnSync('npx', ['--no-install', 'rapo-serve', '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    const resumed = await runCli(['--resume', killed]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .*step-000006 \(after 2 rl steps\)/);
    expect(weights(join(killed, 'final'))).toEqual(weights(join(straight, 'final')));
    expect(readdirSync(join(killed, 'checkpoints'))).toEqual(['step-000006', 'step-000008']);
  });

  it('stopped with Ctrl-C, prints a hint that continues the run as printed', async () => {
    const config = join(root, 'tiny-int.yaml');
    writeFileSync(config, TINY_YAML);
    const out = join(root, 'interrupted');
    const child = spawn(process.execPath, [BUNDLE, '--config', config, '--out', out], {
      env: { ...process.env, RAPO_TF_BACKEND: 'cpu' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const done = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const metrics = existsSync(join(out, 'metrics.jsonl')) ? readFileSync(join(out, 'metrics.jsonl'), 'utf8') : '';
      if (/"phase":"rl"[^\n]*"reward"/.test(metrics)) break;
    }
    child.kill('SIGINT');
    expect(await done).toBe(130); // stopped by the user, with a checkpoint
    const hint = /Continue with: npm run train -- (.+)$/m.exec(stdout);
    expect(hint, stdout).not.toBeNull();
    // What npm passes on after `--` is what the bundle gets.
    const resumed = await runCli(hint![1]!.trim().split(/\s+/)).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(existsSync(join(out, 'final', 'model.safetensors'))).toBe(true);
  });

  it('a judge it cannot reach stops the run with exit 1, a message that says how to resume, and no stack trace unless --verbose', async () => {
    // A port nothing listens on: every judge call is refused.
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const config = join(root, 'judge-down.yaml');
    writeFileSync(
      config,
      `seed: 11
phases: [rl]
data: { characters: 4 }
model: { init: scratch, vocab_size: 300, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 }
rl: { algo: grpo, steps: 2, prompts_per_step: 2, group_size: 2, max_new_tokens: 6, beta: 0, eval_prompts: 2, rewards: [{ type: llm-judge, model: "openai:http://127.0.0.1:${port}/v1#judge", max_retries: 0 }] }
probe: { prompts: 0 }
`,
    );
    const quiet = await runCli(['--config', config, '--out', join(root, 'judge-down')]).done;
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toMatch(
      /rapo-train: the held-out evaluation after 0 rl steps: rl\.rewards\[0\] .*could not score 2 of 2 answers \(0 unreadable, 2 failed calls\)/,
    );
    expect(quiet.stderr).toMatch(/could not reach http:\/\/127\.0\.0\.1/);
    expect(quiet.stderr).toMatch(/can be continued from the start with --resume: npm run train -- --resume /);
    expect(quiet.stderr).not.toMatch(/^\s+at /m);
    const verbose = await runCli(['--resume', join(root, 'judge-down'), '--verbose']).done;
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/could not score 2 of 2 answers/);
    expect(verbose.stderr).toMatch(/could not score 2 of 2 answers[\s\S]*^\s+at /m);
  });

  it('exits with status 2 and a message naming the key on a bad config', async () => {
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'rl:\n  algo: ppo\n');
    const r = await runCli(['--config', bad]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/rl\.algo: .*allowed: "grpo" \| "rapo"/);
  });
});

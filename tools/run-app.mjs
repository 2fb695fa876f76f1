#!/usr/bin/env node
// What the npm scripts that run a tool (train, eval, serve, study, base:pretrain, bench*) do:
// build an Nx target (an app's bundle, or the native addon, with what it depends on), then run
// the command with the arguments given. Nx's own output is shown only when the build fails, so a
// command prints its own lines and nothing else.
//   node tools/run-app.mjs <project:target> <command> [args...]
// e.g. node tools/run-app.mjs trainer-app:build node apps/trainer/dist/rapo-train.mjs --help
// The apps' bin files (npx rapo-train, rapo-eval, rapo-serve, rapo-study) call runApp too.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * Builds `target` quietly (its output only on failure), then runs `command args` with this
 * terminal and exits with its status. `node` as the command is this very Node.
 */
export async function runApp(target, command, args) {
  const project = target.split(':')[0];
  const nx = createRequire(import.meta.url).resolve('nx/bin/nx.js');
  const build = spawn(process.execPath, [nx, 'run', target, '--outputStyle=static'], {
    cwd: root,
    env: { ...process.env, NX_TUI: 'false', NX_NO_CLOUD: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  build.stdout.on('data', (d) => (log += d));
  build.stderr.on('data', (d) => (log += d));
  // A first build compiles the addon (minutes); say so rather than sit silent.
  const slow = setTimeout(() => console.error(`rapo: building ${project}... (a first build also compiles the native addon: a few minutes)`), 3000);
  const built = await new Promise((res) => build.on('close', res));
  clearTimeout(slow);
  if (built !== 0) {
    process.stderr.write(log);
    console.error(`\nrapo: building ${project} failed (Nx's output above); the command did not run`);
    process.exit(typeof built === 'number' ? built : 1);
  }

  // Anything but node (tsx) is found on the PATH npm run sets up.
  const app = spawn(command === 'node' ? process.execPath : command, args, { stdio: 'inherit' });
  // Ctrl-C (and a terminal's hang-up) reach the app directly, as the whole foreground process
  // group gets them: passing them on would make a second one, which the trainer reads as "stop
  // now, without a checkpoint". SIGTERM is sent to one process, so it is passed on; the app
  // decides how to stop (the trainer saves a checkpoint first).
  process.on('SIGINT', () => {});
  process.on('SIGHUP', () => {});
  process.on('SIGTERM', () => app.kill('SIGTERM'));
  app.on('close', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [target, command, ...args] = process.argv.slice(2);
  if (!target?.includes(':') || !command) {
    console.error('Usage: node tools/run-app.mjs <project:target> <command> [args...]');
    process.exit(2);
  }
  await runApp(target, command, args);
}

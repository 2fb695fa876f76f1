#!/usr/bin/env node
// rapo-train: SFT then GRPO or RAPO into a run folder; see cli.ts for the options.
import { baseDir, ConfigError, formatProgress, installBase, RunError, train } from '@rapo/trainer';
import { join } from 'node:path';
import { parseCommandLine, USAGE_EXIT } from '@rapo/cli';
import { errorText, helpText, parseTrainArgs, progressBar, USAGE } from './cli.js';

// Known before the arguments are parsed, for errors while parsing them.
const verboseFlag = process.argv.slice(2).includes('--verbose');

async function main(): Promise<number> {
  let args;
  try {
    args = parseCommandLine('rapo-train', `${USAGE.split('\n\n')[0]}\n(rapo-train --help lists every option)`, () => parseTrainArgs(process.argv.slice(2)));
  } catch (e) {
    // A config that does not validate is a usage error too; its message says what to change.
    if (!(e instanceof ConfigError)) throw e;
    console.error(errorText(e, verboseFlag));
    return USAGE_EXIT;
  }
  if (args === USAGE_EXIT) return USAGE_EXIT;
  if (args === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  const tty = process.stderr.isTTY;
  let barShown = false;
  const clearBar = () => {
    if (barShown) process.stderr.write('\r\x1b[2K');
    barShown = false;
  };
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: string) => {
    interrupts++;
    if (interrupts > 1) {
      console.error(`\nrapo-train: ${signal} again, exiting now; continue from the last checkpoint with: npm run train -- --resume ${args.out}`);
      process.exit(130);
    }
    clearBar();
    console.error(`rapo-train: ${signal}: stopping after this step with a checkpoint (${signal} again to exit at once)`);
    ac.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  console.error(`rapo-train: ${args.resume ? 'resuming' : 'writing'} ${args.out}`);
  try {
    const result = await train({
      config: args.config,
      out: args.out,
      resume: args.resume,
      signal: ac.signal,
      log: (line) => {
        clearBar();
        console.error(line);
      },
      progress: (p) => {
        // Every RL step gets its line (they are few and carry the signals); SFT steps every 5%.
        const line = p.phase === 'rl' || p.done === 1 || p.done === p.total || p.done % Math.max(1, Math.ceil(p.total / 20)) === 0;
        clearBar();
        if (line) console.error(formatProgress(p));
        if (tty && p.done < p.total) {
          // The bar stays under the step lines until the phase ends.
          process.stderr.write(progressBar({ ...p, text: p.text.split('  ')[0]! }, 20).slice(0, (process.stderr.columns || 120) - 1));
          barShown = true;
        }
      },
    });
    clearBar();
    if (!result.complete) {
      console.log(`Stopped at ${result.position.phase} step ${result.position.step}. Continue with: npm run train -- --resume ${args.out}`);
      return 130;
    }
    if (args.pretrain) {
      const dir = baseDir();
      const info = installBase(args.out, dir, { command: 'npm run base:pretrain', config: args.config, seconds: result.seconds, backend: result.backend });
      console.log(`Base model: ${dir} (model.init: base loads it)`);
      if (info.reading) console.log(`Held-out reading fields copied: ${(100 * info.reading.accuracy).toFixed(1)}%`);
      return 0;
    }
    const f = result.final?.fidelity?.overall;
    console.log(`Run folder: ${args.out}`);
    console.log(`Report:     ${join(args.out, 'report.html')}`);
    console.log(`Model:      ${join(args.out, 'final')}  (serve it: npx rapo-serve ${join(args.out, 'final')})`);
    if (f !== undefined) console.log(`Held-out fidelity of the final policy: ${f.toFixed(3)}`);
    return 0;
  } catch (e) {
    clearBar();
    console.error(errorText(e, args.verbose));
    // A config, data or run folder to fix is a usage error; anything else failed while running.
    return e instanceof ConfigError || e instanceof RunError ? USAGE_EXIT : 1;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(errorText(e, verboseFlag));
    process.exit(1);
  },
);

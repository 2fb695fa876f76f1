#!/usr/bin/env node
// rapo-serve <checkpoint-dir>: an OpenAI-compatible server over a local checkpoint.
import { describeBackend, initBackend, LocalChatModel, serve } from '@rapo/model';
import { parseServeArgs, USAGE, UsageError } from './cli.js';

async function main(): Promise<void> {
  let args;
  try {
    args = parseServeArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`rapo-serve: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw e;
  }
  if (args === 'help') {
    console.log(USAGE);
    return;
  }
  console.log(describeBackend(await initBackend()));
  const model = LocalChatModel.load(args.checkpoint);
  const running = await serve(model, { port: args.port, host: args.host, modelName: args.name, log: (l) => console.log(l) });
  const c = model.checkpoint.model.config;
  console.log(`rapo-serve: ${args.checkpoint} (${c.num_hidden_layers} layers, hidden ${c.hidden_size}, vocab ${c.vocab_size}) at ${running.url}`);
  const stop = () => {
    console.log('rapo-serve: shutting down');
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: Error) => {
  console.error(`rapo-serve: ${e.message}`);
  process.exit(1);
});

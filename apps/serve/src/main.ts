#!/usr/bin/env node
// rapo-serve <checkpoint-dir>: an OpenAI-compatible server over a local checkpoint.
import { describeBackend, initBackend, LocalChatModel, serve } from '@rapo/model';
import { parseCommandLine, USAGE_EXIT } from '@rapo/cli';
import { parseServeArgs, USAGE } from './cli.js';

async function main(): Promise<void> {
  const args = parseCommandLine('rapo-serve', USAGE, () => parseServeArgs(process.argv.slice(2)));
  if (args === USAGE_EXIT) process.exit(USAGE_EXIT);
  if (args === 'help') {
    console.log(USAGE);
    return;
  }
  console.log(describeBackend(await initBackend()));
  const model = LocalChatModel.load(args.checkpoint, args.templateArgs);
  const running = await serve(model, {
    port: args.port,
    host: args.host,
    modelName: args.name,
    apiKey: args.apiKey,
    insecure: args.insecure,
    maxPending: args.maxPending,
    cors: args.cors,
    log: (l) => console.log(l),
  });
  const c = model.checkpoint.model.config;
  console.log(`rapo-serve: ${args.checkpoint} (${c.num_hidden_layers} layers, hidden ${c.hidden_size}, vocab ${c.vocab_size}) at ${running.url}`);
  // Whether a key is needed, never the key itself.
  console.log(
    args.apiKey !== undefined
      ? 'rapo-serve: requests must send the API key (Authorization: Bearer <key>)'
      : 'rapo-serve: no API key: requests are not authenticated',
  );
  if (args.cors !== undefined) {
    console.log(`rapo-serve: CORS on: ${args.cors === '*' ? 'any web page' : `web pages from ${args.cors}`} may call it`);
  }
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

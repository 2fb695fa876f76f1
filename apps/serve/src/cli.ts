// Command line of rapo-serve, kept apart from main.ts so it can be tested without starting a server.
import { parseOptions, UsageError } from '@rapo/cli';

export const USAGE = `Usage: rapo-serve <checkpoint-dir> [--port 8000] [--host 127.0.0.1] [--name <model-id>]

Serves a rapo checkpoint (config.json, model.safetensors, tokenizer.json, ...) over an
OpenAI-compatible API: GET /v1/models, POST /v1/chat/completions, POST /v1/completions.
It listens on loopback only unless --host says otherwise.`;

export interface ServeArgs {
  checkpoint: string;
  port: number;
  host: string;
  name?: string;
}

export { UsageError } from '@rapo/cli';

export function parseServeArgs(argv: string[]): ServeArgs | 'help' {
  const parsed = parseOptions({
    args: argv,
    allowPositionals: true,
    options: { port: { type: 'string' }, host: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length !== 1) {
    throw new UsageError(`Expected one checkpoint directory but received ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(', ')}`);
  }
  const port = parsed.values.port === undefined ? 8000 : Number(parsed.values.port);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`Expected a port in [0, 65535] for --port but received "${parsed.values.port}"`);
  return { checkpoint: parsed.positionals[0]!, port, host: parsed.values.host ?? '127.0.0.1', ...(parsed.values.name ? { name: parsed.values.name } : {}) };
}

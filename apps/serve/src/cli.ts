// Command line of rapo-serve, kept apart from main.ts so it can be tested without starting a server.
import { parseOptions, UsageError } from '@rapo/cli';
import { checkApiKey, checkCorsOrigin, exposureProblem } from '@rapo/model';

export const USAGE = `Usage: rapo-serve <checkpoint-dir> [--port 8000] [--host 127.0.0.1] [--name <model-id>]
                  [--api-key <key>] [--insecure] [--max-pending 16] [--cors [origin]]
                  [--template-arg key=value ...]

Serves a rapo checkpoint (config.json, model.safetensors, tokenizer.json, ...) over an
OpenAI-compatible API: GET /v1/models, GET /v1/models/{id}, POST /v1/chat/completions,
POST /v1/completions. Both completion endpoints stream with "stream": true (server-sent
events, the text sent as it is generated). Assistant messages may have "content": null
(tool_calls are ignored); "tool" messages get 400, since rapo runs no tools.

  --port <n>         port to listen on (default 8000; 0 picks a free one)
  --host <address>   address to bind (default 127.0.0.1, loopback only)
  --name <model-id>  the model id clients send and /v1/models lists (default: the directory's name)
  --api-key <key>    require 'Authorization: Bearer <key>' on every request; prefer the
                     environment variable RAPO_SERVE_API_KEY, since a command line shows in ps.
                     --api-key wins when both are given
  --insecure         allow a non-loopback --host without an API key (anyone who can reach the
                     machine can then use the model); without it rapo-serve refuses to start
  --max-pending <n>  completion requests held at once, the one generating and those queued
                     behind it (default 16); one more gets 429 with Retry-After
  --cors [origin]    let web pages from <origin> (https://app.example.org; default *, any page)
                     call the server: preflights (OPTIONS) are answered without the key and
                     every answer carries Access-Control-Allow-Origin. Without it browsers
                     refuse cross-origin calls
  --template-arg key=value
                     a variable for the checkpoint's chat template, repeatable; the value is read
                     as JSON when it can be (--template-arg enable_thinking=false for Qwen3)`;

export interface ServeArgs {
  checkpoint: string;
  port: number;
  host: string;
  name?: string;
  /** From --api-key or RAPO_SERVE_API_KEY; never print it. */
  apiKey?: string;
  insecure: boolean;
  maxPending: number;
  /** From --cors: the origin allowed, `*` for any. */
  cors?: string;
  /** From --template-arg: variables for the chat template. */
  templateArgs: Record<string, unknown>;
}

export { UsageError } from '@rapo/cli';

/** The environment variable that holds the API key. */
export const API_KEY_ENV = 'RAPO_SERVE_API_KEY';

/**
 * rapo-serve's arguments. `env` supplies RAPO_SERVE_API_KEY (--api-key wins over it). A
 * non-loopback --host without a key and without --insecure is a UsageError.
 */
export function parseServeArgs(argv: string[], env: Record<string, string | undefined> = process.env): ServeArgs | 'help' {
  const parsed = parseOptions({
    args: corsDefault(argv),
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      name: { type: 'string' },
      'api-key': { type: 'string' },
      insecure: { type: 'boolean' },
      'max-pending': { type: 'string' },
      cors: { type: 'string' },
      'template-arg': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length !== 1) {
    throw new UsageError(`Expected one checkpoint directory but received ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(', ')}`);
  }
  const port = parsed.values.port === undefined ? 8000 : Number(parsed.values.port);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`Expected a port in [0, 65535] for --port but received "${parsed.values.port}"`);
  const maxPending = parsed.values['max-pending'] === undefined ? 16 : Number(parsed.values['max-pending']);
  if (!(Number.isInteger(maxPending) && maxPending >= 1))
    throw new UsageError(`Expected an integer >= 1 for --max-pending but received "${parsed.values['max-pending']}"`);
  const host = parsed.values.host ?? '127.0.0.1';
  const fromFlag = parsed.values['api-key'];
  const apiKey = fromFlag ?? env[API_KEY_ENV];
  if (apiKey !== undefined) {
    try {
      checkApiKey(apiKey, fromFlag !== undefined ? '--api-key' : API_KEY_ENV);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const cors = parsed.values.cors;
  if (cors !== undefined) {
    try {
      checkCorsOrigin(cors, '--cors');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const insecure = parsed.values.insecure ?? false;
  const problem = exposureProblem({ host, apiKey, insecure });
  if (problem) {
    throw new UsageError(
      `Refusing to serve on ${host}: ${problem}. Set ${API_KEY_ENV}=<key> in the environment (or give --api-key <key>, ` +
        `which other users of this machine can see in ps), or pass --insecure if it really should be open to everyone`,
    );
  }
  return {
    checkpoint: parsed.positionals[0]!,
    port,
    host,
    ...(parsed.values.name ? { name: parsed.values.name } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    insecure,
    maxPending,
    ...(cors !== undefined ? { cors } : {}),
    templateArgs: templateArgs(parsed.values['template-arg'] ?? []),
  };
}

/** --template-arg key=value options as template variables: JSON values when they parse (false, 3, "x"), text otherwise. */
function templateArgs(list: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_]\w*$/.test(key)) throw new UsageError(`Expected --template-arg key=value with a template variable name as key but received "${item}"`);
    if (['messages', 'add_generation_prompt', 'bos_token', 'eos_token'].includes(key))
      throw new UsageError(`--template-arg ${key}: rapo-serve sets that variable itself (from the request and the checkpoint's tokenizer_config.json)`);
    const raw = item.slice(eq + 1);
    try {
      out[key] = JSON.parse(raw);
    } catch {
      out[key] = raw;
    }
  }
  return out;
}

/**
 * `--cors` takes its origin optionally: a bare `--cors` (last, or followed by another option or by
 * something that is not `*` or `scheme://...`, such as the checkpoint directory) means `--cors=*`.
 */
function corsDefault(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [...out, ...argv.slice(i)];
    if (a !== '--cors') {
      out.push(a);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && (next === '*' || /^[a-z][a-z0-9+.-]*:\/\//i.test(next))) {
      out.push(`--cors=${next}`);
      i++;
    } else {
      out.push('--cors=*');
    }
  }
  return out;
}

// An OpenAI-compatible HTTP server over a local checkpoint: /v1/models, /v1/chat/completions
// (with n and logprobs) and /v1/completions, so any OpenAI client, the evaluator included, talks
// to a trained model as it talks to vLLM. Bad requests get OpenAI-style JSON errors with a 4xx
// status; nothing a client sends can stop the server. With an API key every request must carry
// it as a bearer token; without one the server only binds to loopback unless told `insecure`.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BlockList, isIP, type AddressInfo } from 'node:net';
import type { ChatMessage, ChatParams } from '@rapo/llm';
import { isContextOverflow } from '@rapo/llm';
import type { LocalChatModel } from './local-model.js';

export interface ServeOptions {
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** The model id clients send and /v1/models lists. Default: the checkpoint directory's name. */
  modelName?: string;
  /** Largest request body in bytes; a larger one gets 413. Default 4 MiB. */
  maxBodyBytes?: number;
  /**
   * When set, every request must send `Authorization: Bearer <apiKey>`; others get 401. Printable
   * ASCII without spaces (what a client can put in a header).
   */
  apiKey?: string;
  /** Serve a non-loopback host without an API key anyway. Default false: serve() refuses. */
  insecure?: boolean;
  /**
   * Completion requests held at once: the one generating plus those queued behind it (the model
   * generates one at a time). One more gets 429 with Retry-After. Default 16.
   */
  maxPending?: number;
  /** One line per request (method, path without query, status, milliseconds); never the key. */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether `host` (as given to listen) only accepts connections from this machine: `localhost`,
 * 127.0.0.0/8 and ::1, in any spelling (0:0:0:0:0:0:0:1, ::ffff:127.0.0.1). Any other name or
 * address, the wildcards 0.0.0.0 and :: included, counts as reachable from elsewhere.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === 'localhost' || h === 'localhost.') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Why serving on `host` would be unsafe, or undefined when it is not: a host reachable from other
 * machines with no API key, unless `insecure` says that is meant. Callers add what to do about it
 * in their own terms (options for serve(), flags for rapo-serve).
 */
export function exposureProblem(options: { host: string; apiKey?: string; insecure?: boolean }): string | undefined {
  if (options.apiKey !== undefined || options.insecure || isLoopbackHost(options.host)) return undefined;
  return `${options.host} is not a loopback address and no API key is set, so anyone who can reach this machine could use the model`;
}

/** Checks an API key's form; the message never contains the key. */
export function checkApiKey(key: string, source: string): void {
  if (key.length === 0) throw new RangeError(`Expected a non-empty API key for ${source} but received an empty string`);
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new RangeError(`Expected an API key of printable ASCII characters without spaces for ${source} (clients send it in a header)`);
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * A check of `Authorization: Bearer <key>` that takes the same time whatever the client sends:
 * both sides are hashed first, so timingSafeEqual compares equal lengths and the key's length does
 * not leak either.
 */
function bearerCheck(apiKey: string): (header: string | undefined) => 'ok' | 'missing' | 'wrong' {
  const expected = digest(apiKey);
  return (header) => {
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return 'missing';
    return timingSafeEqual(digest(match[1]!), expected) ? 'ok' : 'wrong';
  };
}

const AUTH_HEADERS = { 'www-authenticate': 'Bearer realm="rapo-serve"' };

async function readBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `Request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `The body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HttpError(400, 'The body must be a JSON object');
  return json as Record<string, unknown>;
}

function num(body: Record<string, unknown>, key: string, check: (x: number) => boolean, expected: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !check(v)) throw new HttpError(400, `Expected ${expected} for ${key} but received ${JSON.stringify(v)}`, key);
  return v;
}

/** Sampling parameters shared by both endpoints. */
function params(body: Record<string, unknown>, chat: boolean): ChatParams {
  if (body.stream === true) throw new HttpError(400, 'Streaming (stream: true) is not supported by rapo-serve', 'stream');
  const stopRaw = body.stop;
  let stop: string[] | undefined;
  if (typeof stopRaw === 'string') stop = [stopRaw];
  else if (Array.isArray(stopRaw) && stopRaw.every((s) => typeof s === 'string') && stopRaw.length <= 4) stop = stopRaw as string[];
  else if (stopRaw !== undefined && stopRaw !== null) throw new HttpError(400, 'Expected a string or up to 4 strings for stop', 'stop');
  const p: ChatParams = {
    n: num(body, 'n', (x) => Number.isInteger(x) && x >= 1 && x <= 16, 'an integer in [1, 16]'),
    temperature: num(body, 'temperature', (x) => x >= 0 && x <= 2, 'a number in [0, 2]'),
    top_p: num(body, 'top_p', (x) => x > 0 && x <= 1, 'a number in (0, 1]'),
    max_tokens: num(
      body,
      chat && body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens',
      (x) => Number.isInteger(x) && x >= 1,
      'an integer >= 1',
    ),
    seed: num(body, 'seed', Number.isInteger, 'an integer'),
    stop,
  };
  if (chat) {
    if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== 'boolean')
      throw new HttpError(400, 'Expected true or false for logprobs', 'logprobs');
    p.logprobs = body.logprobs === true;
    p.top_logprobs = num(body, 'top_logprobs', (x) => Number.isInteger(x) && x >= 0 && x <= 20, 'an integer in [0, 20]');
  } else {
    // The legacy API's logprobs is the number of alternatives per token.
    const lp = num(body, 'logprobs', (x) => Number.isInteger(x) && x >= 0 && x <= 5, 'an integer in [0, 5]');
    if (lp !== undefined) {
      p.logprobs = true;
      p.top_logprobs = lp;
    }
  }
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as ChatParams;
}

function messages(body: Record<string, unknown>): ChatMessage[] {
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0) throw new HttpError(400, 'Expected a non-empty array for messages', 'messages');
  return raw.map((m, i) => {
    const role = (m as { role?: unknown })?.role;
    let content = (m as { content?: unknown })?.content;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'developer') {
      throw new HttpError(
        400,
        `Expected role "system", "user" or "assistant" for messages[${i}].role but received ${JSON.stringify(role)}`,
        `messages[${i}].role`,
      );
    }
    // Content parts ([{type: "text", text}]) are joined; other part types are refused.
    if (Array.isArray(content)) {
      if (!content.every((p) => p?.type === 'text' && typeof p.text === 'string')) {
        throw new HttpError(400, `Only text content is supported (messages[${i}].content)`, `messages[${i}].content`);
      }
      content = content.map((p: { text: string }) => p.text).join('');
    }
    if (typeof content !== 'string') throw new HttpError(400, `Expected a string for messages[${i}].content`, `messages[${i}].content`);
    return { role: role === 'developer' ? 'system' : role, content };
  });
}

/**
 * Serves `model` until close(). Refuses (before binding) a non-loopback host without `apiKey`
 * unless `insecure` is set.
 */
export async function serve(model: LocalChatModel, options: ServeOptions = {}): Promise<RunningServer> {
  const modelName = options.modelName ?? model.checkpoint.dir.replace(/\/+$/, '').split('/').pop() ?? 'rapo';
  const created = Math.floor(Date.now() / 1000);
  const limit = options.maxBodyBytes ?? 4 * 2 ** 20;
  const maxPending = options.maxPending ?? 16;
  const log = options.log ?? (() => {});
  const hostOption = options.host ?? '127.0.0.1';
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`Expected an integer >= 1 for maxBodyBytes but received ${limit}`);
  if (!(Number.isInteger(maxPending) && maxPending >= 1)) throw new RangeError(`Expected an integer >= 1 for maxPending but received ${maxPending}`);
  if (options.apiKey !== undefined) checkApiKey(options.apiKey, 'the apiKey option');
  const problem = exposureProblem({ host: hostOption, apiKey: options.apiKey, insecure: options.insecure });
  if (problem) {
    throw new Error(`Refusing to serve on ${hostOption}: ${problem}. Give the apiKey option, or insecure: true if it really should be open to everyone`);
  }
  if (options.apiKey === undefined && !isLoopbackHost(hostOption)) {
    log(`warning: serving on ${hostOption} without an API key (insecure): anyone who can reach it can use the model`);
  }
  const authorize = options.apiKey === undefined ? undefined : bearerCheck(options.apiKey);
  let counter = 0;
  let pending = 0;

  const checkModel = (body: Record<string, unknown>) => {
    if (body.model !== undefined && body.model !== modelName) {
      throw new HttpError(404, `The model "${String(body.model)}" does not exist here; this server serves "${modelName}"`, 'model', 'invalid_request_error');
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // Before anything else, so a client without the key learns nothing (not even which routes
    // exist) and never gets its body buffered.
    if (authorize) {
      const verdict = authorize(req.headers.authorization);
      if (verdict !== 'ok') {
        throw new HttpError(
          401,
          verdict === 'missing'
            ? "Missing API key: send the header 'Authorization: Bearer <key>' (an OpenAI client does so with its apiKey)"
            : 'Incorrect API key provided',
          null,
          'invalid_request_error',
          'invalid_api_key',
          AUTH_HEADERS,
        );
      }
    }
    const url = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const route = `${req.method} ${url}`;
    if (route === 'GET /v1/models') {
      send(res, 200, { object: 'list', data: [{ id: modelName, object: 'model', created, owned_by: 'rapo' }] });
      return;
    }
    if (route === 'POST /v1/chat/completions' || route === 'POST /v1/completions') {
      // Counted from here (synchronously, before the body is read) to the response, so at most
      // maxPending bodies are ever buffered and the queue behind the model stays bounded.
      if (pending >= maxPending) {
        throw new HttpError(
          429,
          `The server is busy: ${maxPending} completion requests are already running or queued; retry shortly`,
          null,
          'requests',
          'rate_limit_exceeded',
          { 'retry-after': '1' },
        );
      }
      pending++;
      try {
        await (route === 'POST /v1/chat/completions' ? chatCompletion(req, res) : completion(req, res));
      } finally {
        pending--;
      }
      return;
    }
    if (['/v1/models', '/v1/chat/completions', '/v1/completions'].includes(url)) throw new HttpError(405, `${req.method} is not allowed on ${url}`);
    throw new HttpError(404, `No route ${url}; this server has GET /v1/models, POST /v1/chat/completions and POST /v1/completions`);
  };

  const chatCompletion = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, limit);
    checkModel(body);
    const p = params(body, true);
    const msgs = messages(body);
    const abort = new AbortController();
    res.on('close', () => !res.writableEnded && abort.abort(new Error('the client went away')));
    const r = await model.chat({ messages: msgs, ...p }, { signal: abort.signal });
    send(res, 200, {
      id: `chatcmpl-${++counter}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: modelName,
      choices: r.choices.map((c, index) => ({
        index,
        message: { role: 'assistant', content: c.content },
        finish_reason: c.finishReason,
        logprobs: c.logprobs
          ? {
              content: c.logprobs.map((t) => ({
                token: t.token,
                logprob: t.logprob,
                bytes: [...Buffer.from(t.token, 'utf8')],
                top_logprobs: (t.top ?? []).map((x) => ({ token: x.token, logprob: x.logprob, bytes: [...Buffer.from(x.token, 'utf8')] })),
              })),
            }
          : null,
      })),
      usage: {
        prompt_tokens: r.usage.promptTokens,
        completion_tokens: r.usage.completionTokens,
        total_tokens: r.usage.promptTokens + r.usage.completionTokens,
      },
    });
  };

  const completion = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, limit);
    checkModel(body);
    const p = params(body, false);
    const prompts = typeof body.prompt === 'string' ? [body.prompt] : body.prompt;
    if (!Array.isArray(prompts) || prompts.length === 0 || prompts.length > 8 || !prompts.every((x) => typeof x === 'string')) {
      throw new HttpError(400, 'Expected a string or up to 8 strings for prompt', 'prompt');
    }
    const choices = [];
    let promptTokens = 0;
    let completionTokens = 0;
    const abort = new AbortController();
    res.on('close', () => !res.writableEnded && abort.abort(new Error('the client went away')));
    for (const prompt of prompts as string[]) {
      const c = await model.complete(prompt, p, { signal: abort.signal });
      promptTokens += c.promptTokens;
      completionTokens += c.completionTokens;
      for (const x of c.choices) {
        let offset = prompt.length;
        choices.push({
          index: choices.length,
          text: x.text,
          finish_reason: x.finishReason,
          logprobs: x.logprobs
            ? {
                tokens: x.logprobs.map((t) => t.token),
                token_logprobs: x.logprobs.map((t) => t.logprob),
                top_logprobs: x.logprobs.map((t) => Object.fromEntries((t.top ?? []).map((a) => [a.token, a.logprob]))),
                text_offset: x.logprobs.map((t) => ((offset += t.token.length), offset - t.token.length)),
              }
            : null,
        });
      }
    }
    send(res, 200, {
      id: `cmpl-${++counter}`,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: modelName,
      choices,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    });
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res)
      .catch((e: unknown) => {
        const err =
          e instanceof HttpError
            ? e
            : isContextOverflow(e)
              ? new HttpError(400, e.message, 'messages', 'invalid_request_error', 'context_length_exceeded')
              : e instanceof RangeError || e instanceof TypeError
                ? new HttpError(400, e.message)
                : new HttpError(500, (e as Error).message ?? String(e));
        if (!res.headersSent && !res.destroyed) {
          send(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: err.code } }, err.headers);
        }
      })
      // The path only: a query string is the client's and may hold anything, a key included.
      .finally(() => log(`${req.method} ${(req.url ?? '/').split('?')[0]} ${res.statusCode} ${Date.now() - started} ms`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, hostOption, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/v1`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// An OpenAI-compatible HTTP server over a local checkpoint: /v1/models (and /v1/models/{id}),
// /v1/chat/completions (with n, logprobs and streaming) and /v1/completions, so any OpenAI client,
// the evaluator included, talks to a trained model as it talks to vLLM. Bad requests get
// OpenAI-style JSON errors with a 4xx status; nothing a client sends can stop the server. With an
// API key every request must carry it as a bearer token; without one the server only binds to
// loopback unless told `insecure`. CORS for browser clients is opt-in.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BlockList, isIP, type AddressInfo } from 'node:net';
import type { ChatMessage, ChatParams } from '@rapo/llm';
import { isContextOverflow } from '@rapo/llm';
import type { CompletionChoice, LocalChatModel } from './local-model.js';

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
  /**
   * Lets web pages from this origin (`https://app.example.org`, or `*` for any) call the server:
   * preflight requests (OPTIONS) are answered before the API key check and every answer carries
   * Access-Control-Allow-Origin. Default: no CORS headers, so browsers refuse cross-origin calls.
   */
  cors?: string;
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

/** OpenAI's usage object. */
function usageOf(promptTokens: number, completionTokens: number) {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
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

/**
 * Checks a CORS origin: `*`, or a scheme, host and optional port as a browser sends it in its
 * Origin header (`http://localhost:3000`), without a path or a trailing slash.
 */
export function checkCorsOrigin(origin: string, source: string): void {
  if (origin === '*') return;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin) {
    throw new RangeError(
      `Expected "*" or an origin such as https://app.example.org or http://localhost:3000 (no path, no trailing slash) for ${source} but received ${JSON.stringify(origin)}`,
    );
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

/** How to stream, when the body asks for it (`stream: true`); undefined for one JSON answer. */
function streaming(body: Record<string, unknown>): { includeUsage: boolean } | undefined {
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw new HttpError(400, `Expected true or false for stream but received ${JSON.stringify(body.stream)}`, 'stream');
  }
  const so = body.stream_options;
  if (so === undefined || so === null) return body.stream === true ? { includeUsage: false } : undefined;
  if (body.stream !== true) throw new HttpError(400, 'stream_options is only allowed together with stream: true', 'stream_options');
  if (typeof so !== 'object' || Array.isArray(so)) throw new HttpError(400, 'Expected an object for stream_options', 'stream_options');
  const include = (so as Record<string, unknown>).include_usage;
  if (include !== undefined && include !== null && typeof include !== 'boolean') {
    throw new HttpError(400, `Expected true or false for stream_options.include_usage but received ${JSON.stringify(include)}`, 'stream_options.include_usage');
  }
  return { includeUsage: include === true };
}

/**
 * The conversation. An assistant message may have `content: null` (as it does when it carries
 * `tool_calls`): it counts as empty text, and tool_calls are ignored, since rapo runs no tools.
 * For the same reason a `tool` (or `function`) message, a tool's result, is refused.
 */
function messages(body: Record<string, unknown>): ChatMessage[] {
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0) throw new HttpError(400, 'Expected a non-empty array for messages', 'messages');
  return raw.map((m, i) => {
    const role = (m as { role?: unknown })?.role;
    let content = (m as { content?: unknown })?.content;
    if (role === 'tool' || role === 'function') {
      throw new HttpError(
        400,
        `messages[${i}] has role "${role}", a tool's result, but rapo-serve runs no tools and its models make no tool calls; ` +
          'leave tool messages out (tool_calls in assistant messages are ignored)',
        `messages[${i}].role`,
      );
    }
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
    if (role === 'assistant' && (content === null || content === undefined)) content = '';
    if (typeof content !== 'string') {
      throw new HttpError(
        400,
        `Expected a string or text parts for messages[${i}].content but received ${JSON.stringify(content) ?? 'nothing'}`,
        `messages[${i}].content`,
      );
    }
    return { role: role === 'developer' ? 'system' : role, content };
  });
}

/** The routes, with the method each takes (for 405 and its Allow header). */
const ROUTES: Record<string, string> = { '/v1/models': 'GET', '/v1/chat/completions': 'POST', '/v1/completions': 'POST' };
const MODEL_PATH = '/v1/models/';
const METHODS = 'GET, POST, OPTIONS';
/** Request headers a browser may send cross-origin, besides those it asks for in a preflight. */
const CORS_HEADERS = 'Authorization, Content-Type';

/** An error as the client sees it: OpenAI's JSON shape and a status. */
function httpError(e: unknown, promptParam: string): HttpError {
  if (e instanceof HttpError) return e;
  if (isContextOverflow(e)) return new HttpError(400, e.message, promptParam, 'invalid_request_error', 'context_length_exceeded');
  if (e instanceof RangeError || e instanceof TypeError) return new HttpError(400, e.message);
  return new HttpError(500, (e as Error)?.message ?? String(e));
}

const errorBody = (err: HttpError) => ({ error: { message: err.message, type: err.type, param: err.param, code: err.code } });

/**
 * Server-sent events: `data: <json>` per event, `data: [DONE]` at the end. The 200 and its
 * headers go out with the first event, so an error before it (a bad request, a prompt too long for
 * the context) still gets a plain JSON error with its status.
 */
class EventStream {
  constructor(private readonly res: ServerResponse) {}

  get started(): boolean {
    return this.res.headersSent;
  }

  send(data: unknown): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    if (!this.res.headersSent) {
      this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    }
    this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream with [DONE]. */
  done(): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.end('data: [DONE]\n\n');
  }

  /** Ends a started stream with an error event (what OpenAI's clients raise as an APIError). */
  fail(err: HttpError): void {
    this.send(errorBody(err));
    if (!this.res.destroyed && !this.res.writableEnded) this.res.end();
  }
}

function chatLogprobs(c: { logprobs?: { token: string; logprob: number; top?: { token: string; logprob: number }[] }[] }) {
  const bytes = (token: string) => [...Buffer.from(token, 'utf8')];
  return c.logprobs
    ? {
        content: c.logprobs.map((t) => ({
          token: t.token,
          logprob: t.logprob,
          bytes: bytes(t.token),
          top_logprobs: (t.top ?? []).map((x) => ({ token: x.token, logprob: x.logprob, bytes: bytes(x.token) })),
        })),
      }
    : null;
}

/** The legacy API's logprobs; text_offset counts from the start of the prompt. */
function legacyLogprobs(x: CompletionChoice, prompt: string) {
  let offset = prompt.length;
  return x.logprobs
    ? {
        tokens: x.logprobs.map((t) => t.token),
        token_logprobs: x.logprobs.map((t) => t.logprob),
        top_logprobs: x.logprobs.map((t) => Object.fromEntries((t.top ?? []).map((a) => [a.token, a.logprob]))),
        text_offset: x.logprobs.map((t) => ((offset += t.token.length), offset - t.token.length)),
      }
    : null;
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
  const cors = options.cors;
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`Expected an integer >= 1 for maxBodyBytes but received ${limit}`);
  if (!(Number.isInteger(maxPending) && maxPending >= 1)) throw new RangeError(`Expected an integer >= 1 for maxPending but received ${maxPending}`);
  if (options.apiKey !== undefined) checkApiKey(options.apiKey, 'the apiKey option');
  if (cors !== undefined) checkCorsOrigin(cors, 'the cors option');
  const problem = exposureProblem({ host: hostOption, apiKey: options.apiKey, insecure: options.insecure });
  if (problem) {
    throw new Error(`Refusing to serve on ${hostOption}: ${problem}. Give the apiKey option, or insecure: true if it really should be open to everyone`);
  }
  if (options.apiKey === undefined && !isLoopbackHost(hostOption)) {
    log(`warning: serving on ${hostOption} without an API key (insecure): anyone who can reach it can use the model`);
  }
  const authorize = options.apiKey === undefined ? undefined : bearerCheck(options.apiKey);
  const modelEntry = { id: modelName, object: 'model', created, owned_by: 'rapo' };
  let counter = 0;
  let pending = 0;

  const unknownModel = (id: string) =>
    new HttpError(404, `The model "${id}" does not exist here; this server serves "${modelName}"`, 'model', 'invalid_request_error', 'model_not_found');
  const checkModel = (body: Record<string, unknown>) => {
    if (body.model !== undefined && body.model !== modelName) throw unknownModel(String(body.model));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (cors !== undefined) res.setHeader('access-control-allow-origin', cors);
    // A browser's CORS preflight carries no credentials, so it is answered before the key check,
    // the same way on every path. Without `cors` it gets no Access-Control-* headers, and the
    // browser reports the missing Access-Control-Allow-Origin.
    if (req.method === 'OPTIONS') {
      req.resume();
      const headers: Record<string, string> = { allow: METHODS };
      if (cors !== undefined) {
        // Clients send their own headers too (the openai package sends X-Stainless-*); the ones the
        // browser asks for are allowed, since the API key, not CORS, is what guards the server.
        const asked = String(req.headers['access-control-request-headers'] ?? '')
          .split(',')
          .map((h) => h.trim())
          .filter((h) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h) && !/^(authorization|content-type)$/i.test(h));
        headers['access-control-allow-methods'] = METHODS;
        headers['access-control-allow-headers'] = [CORS_HEADERS, ...asked].join(', ');
        headers['access-control-max-age'] = '600';
      }
      res.writeHead(204, headers);
      res.end();
      return;
    }
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
      send(res, 200, { object: 'list', data: [modelEntry] });
      return;
    }
    if (url.startsWith(MODEL_PATH)) {
      if (req.method !== 'GET') throw new HttpError(405, `${req.method} is not allowed on ${url}`, null, undefined, null, { allow: 'GET' });
      const raw = url.slice(MODEL_PATH.length);
      let id = raw;
      try {
        id = decodeURIComponent(raw);
      } catch {
        // Not percent-encoding after all: the id as written.
      }
      if (id !== modelName) throw unknownModel(id);
      send(res, 200, modelEntry);
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
    const allowed = ROUTES[url];
    if (allowed) throw new HttpError(405, `${req.method} is not allowed on ${url}`, null, undefined, null, { allow: allowed });
    throw new HttpError(404, `No route ${url}; this server has GET /v1/models, GET /v1/models/{id}, POST /v1/chat/completions and POST /v1/completions`);
  };

  /** An AbortSignal that fires when the client goes away before its answer is complete. */
  const clientGone = (res: ServerResponse) => {
    const abort = new AbortController();
    res.on('close', () => !res.writableEnded && abort.abort(new Error('the client went away')));
    return abort.signal;
  };

  /**
   * Runs `generate` streaming into `events`: an error before the first event propagates (a JSON
   * error with its status), one after it ends the stream with an error event.
   */
  const streamed = async (events: EventStream, promptParam: string, generate: () => Promise<void>) => {
    try {
      await generate();
    } catch (e) {
      if (!events.started) throw e;
      events.fail(httpError(e, promptParam));
      return;
    }
    events.done();
  };

  const chatCompletion = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, limit);
    checkModel(body);
    const p = params(body, true);
    const stream = streaming(body);
    const msgs = messages(body);
    const signal = clientGone(res);
    const id = `chatcmpl-${++counter}`;
    if (!stream) {
      const r = await model.chat({ messages: msgs, ...p }, { signal });
      send(res, 200, {
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: modelName,
        choices: r.choices.map((c, index) => ({
          index,
          message: { role: 'assistant', content: c.content },
          finish_reason: c.finishReason,
          logprobs: chatLogprobs(c),
        })),
        usage: usageOf(r.usage.promptTokens, r.usage.completionTokens),
      });
      return;
    }
    const events = new EventStream(res);
    const stamp = Math.floor(Date.now() / 1000);
    const chunk = (choices: unknown[], extra: Record<string, unknown> = stream.includeUsage ? { usage: null } : {}) =>
      events.send({ id, object: 'chat.completion.chunk', created: stamp, model: modelName, choices, ...extra });
    // Each choice opens with its role, then its text piece by piece, then its finish_reason.
    const opened = new Set<number>();
    const open = (index: number) => {
      if (opened.has(index)) return;
      opened.add(index);
      chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    };
    await streamed(events, 'messages', async () => {
      const r = await model.chat(
        { messages: msgs, ...p },
        {
          signal,
          onText: (index, piece) => {
            open(index);
            chunk([{ index, delta: { content: piece }, logprobs: null, finish_reason: null }]);
          },
        },
      );
      r.choices.forEach((c, index) => {
        open(index);
        chunk([{ index, delta: {}, logprobs: chatLogprobs(c), finish_reason: c.finishReason }]);
      });
      if (stream.includeUsage) chunk([], { usage: usageOf(r.usage.promptTokens, r.usage.completionTokens) });
    });
  };

  const completion = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, limit);
    checkModel(body);
    const p = params(body, false);
    const stream = streaming(body);
    const prompts = typeof body.prompt === 'string' ? [body.prompt] : body.prompt;
    if (!Array.isArray(prompts) || prompts.length === 0 || prompts.length > 8 || !prompts.every((x) => typeof x === 'string')) {
      throw new HttpError(400, 'Expected a string or up to 8 strings for prompt', 'prompt');
    }
    const signal = clientGone(res);
    const id = `cmpl-${++counter}`;
    const events = stream ? new EventStream(res) : undefined;
    const stamp = Math.floor(Date.now() / 1000);
    const chunk = (choices: unknown[], extra: Record<string, unknown> = stream?.includeUsage ? { usage: null } : {}) =>
      events!.send({ id, object: 'text_completion', created: stamp, model: modelName, choices, ...extra });
    const choices: { index: number; text: string; finish_reason: string; logprobs: ReturnType<typeof legacyLogprobs> }[] = [];
    let promptTokens = 0;
    let completionTokens = 0;
    const run = async () => {
      // The prompts one after another; choice indexes run on across them (n per prompt).
      for (const prompt of prompts as string[]) {
        const base = choices.length;
        const c = await model.complete(prompt, p, {
          signal,
          ...(events ? { onText: (b: number, piece: string) => chunk([{ index: base + b, text: piece, logprobs: null, finish_reason: null }]) } : {}),
        });
        promptTokens += c.promptTokens;
        completionTokens += c.completionTokens;
        for (const x of c.choices) {
          const choice = { index: choices.length, text: x.text, finish_reason: x.finishReason, logprobs: legacyLogprobs(x, prompt) };
          choices.push(choice);
          if (events) chunk([{ ...choice, text: '' }]);
        }
      }
    };
    if (events) {
      await streamed(events, 'prompt', async () => {
        await run();
        if (stream!.includeUsage) chunk([], { usage: usageOf(promptTokens, completionTokens) });
      });
      return;
    }
    await run();
    send(res, 200, {
      id,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: modelName,
      choices,
      usage: usageOf(promptTokens, completionTokens),
    });
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res)
      .catch((e: unknown) => {
        const err = httpError(e, req.url?.startsWith('/v1/completions') ? 'prompt' : 'messages');
        if (!res.headersSent && !res.destroyed) send(res, err.status, errorBody(err), err.headers);
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

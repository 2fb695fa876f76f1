// An OpenAI-compatible HTTP server over a local checkpoint: /v1/models, /v1/chat/completions
// (with n and logprobs) and /v1/completions, so any OpenAI client, the evaluator included, talks
// to a trained model as it talks to vLLM. Bad requests get OpenAI-style JSON errors with a 4xx
// status; nothing a client sends can stop the server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatMessage, ChatParams } from '@rapo/llm';
import type { LocalChatModel } from './local-model.js';

export interface ServeOptions {
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** The model id clients send and /v1/models lists. Default: the checkpoint directory's name. */
  modelName?: string;
  /** Largest request body in bytes. Default 4 MiB. */
  maxBodyBytes?: number;
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
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

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

export async function serve(model: LocalChatModel, options: ServeOptions = {}): Promise<RunningServer> {
  const modelName = options.modelName ?? model.checkpoint.dir.replace(/\/+$/, '').split('/').pop() ?? 'rapo';
  const created = Math.floor(Date.now() / 1000);
  const limit = options.maxBodyBytes ?? 4 * 2 ** 20;
  const log = options.log ?? (() => {});
  let counter = 0;

  const checkModel = (body: Record<string, unknown>) => {
    if (body.model !== undefined && body.model !== modelName) {
      throw new HttpError(404, `The model "${String(body.model)}" does not exist here; this server serves "${modelName}"`, 'model', 'invalid_request_error');
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const route = `${req.method} ${url}`;
    if (route === 'GET /v1/models') {
      send(res, 200, { object: 'list', data: [{ id: modelName, object: 'model', created, owned_by: 'rapo' }] });
      return;
    }
    if (route === 'POST /v1/chat/completions') {
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
      return;
    }
    if (route === 'POST /v1/completions') {
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
      for (const prompt of prompts as string[]) {
        const c = await model.complete(prompt, p);
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
      return;
    }
    if (['/v1/models', '/v1/chat/completions', '/v1/completions'].includes(url)) throw new HttpError(405, `${req.method} is not allowed on ${url}`);
    throw new HttpError(404, `No route ${url}; this server has GET /v1/models, POST /v1/chat/completions and POST /v1/completions`);
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res)
      .catch((e: unknown) => {
        const err =
          e instanceof HttpError
            ? e
            : e instanceof RangeError || e instanceof TypeError
              ? new HttpError(400, e.message)
              : new HttpError(500, (e as Error).message ?? String(e));
        if (!res.headersSent && !res.destroyed) {
          send(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: null } });
        }
      })
      .finally(() => log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started} ms`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, options.host ?? '127.0.0.1', () => resolve());
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

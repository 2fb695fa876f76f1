// A ChatModel for any OpenAI-compatible /chat/completions endpoint (vLLM, Ollama, llama.cpp's
// server, OpenAI): per-attempt timeout, retries with exponential backoff and jitter on 429, 5xx,
// network errors, timeouts and malformed answers (Retry-After wins when the server sends one;
// a prompt longer than the model's context is a LlmContextOverflowError, never retried),
// a concurrency limit, cancellation through AbortSignal, usage totals, and the on-disk cache.
import { requestKey, ResponseCache } from './cache.js';
import {
  abortError,
  contextOverflowOf,
  LlmContextOverflowError,
  LlmError,
  LlmHttpError,
  LlmNetworkError,
  LlmResponseError,
  LlmTimeoutError,
} from './errors.js';
import { Limiter } from './limiter.js';
import { backoffMs, DEFAULT_RETRY, parseRetryAfter, sleep as realSleep, type RetryPolicy } from './retry.js';
import type { CallOptions, ChatChoice, ChatModel, ChatRequest, ChatResponse, TokenLogprob, UsageTotals } from './types.js';

export interface RetryEvent {
  /** 0-based index of the try that failed. */
  attempt: number;
  waitMs: number;
  error: LlmError;
}

export interface OpenAICompatibleOptions {
  /** e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama). */
  baseURL: string;
  model: string;
  /** Sent as a Bearer token when given; local servers usually need none. */
  apiKey?: string;
  /** Per try. Default 120000. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Requests in flight at once. Default 8. */
  concurrency?: number;
  /** A cache, or the folder for one. */
  cache?: ResponseCache | string;
  headers?: Record<string, string>;
  onWarning?: (message: string) => void;
  onRetry?: (event: RetryEvent) => void;
  /** For tests: replace the wait between tries and the jitter source. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

const ROLES = new Set(['system', 'user', 'assistant']);

function checkRequest(req: ChatRequest): void {
  if (typeof req !== 'object' || req === null) throw new TypeError(`Expected a chat request object but received ${String(req)}`);
  if (!Array.isArray(req.messages) || req.messages.length === 0) {
    throw new RangeError('Expected at least one message for messages but received none');
  }
  req.messages.forEach((m, i) => {
    if (!m || !ROLES.has(m.role)) {
      throw new TypeError(`Expected role "system", "user" or "assistant" for messages[${i}].role but received ${JSON.stringify(m?.role)}`);
    }
    if (typeof m.content !== 'string') {
      throw new TypeError(`Expected a string for messages[${i}].content but received ${typeof m.content}`);
    }
  });
  if (req.n !== undefined && !(Number.isInteger(req.n) && req.n >= 1)) {
    throw new RangeError(`Expected an integer >= 1 for n but received ${req.n}`);
  }
  if (req.top_logprobs !== undefined && !(Number.isInteger(req.top_logprobs) && req.top_logprobs >= 0 && req.top_logprobs <= 20)) {
    throw new RangeError(`Expected an integer in [0, 20] for top_logprobs but received ${req.top_logprobs}`);
  }
}

function parseLogprobs(raw: unknown): TokenLogprob[] | undefined {
  const content = (raw as { content?: unknown } | null | undefined)?.content;
  if (!Array.isArray(content)) return undefined;
  return content.map((t: { token: string; logprob: number; top_logprobs?: { token: string; logprob: number }[] }) => ({
    token: t.token,
    logprob: t.logprob,
    ...(Array.isArray(t.top_logprobs) ? { top: t.top_logprobs.map((x) => ({ token: x.token, logprob: x.logprob })) } : {}),
  }));
}

/** The chat completion in `text`, or a description of why it is not one. */
function parseCompletion(text: string): Omit<ChatResponse, 'cached'> | string {
  let json: { choices?: unknown; usage?: { prompt_tokens?: number; completion_tokens?: number }; model?: string };
  try {
    json = JSON.parse(text);
  } catch (e) {
    return `invalid JSON: ${(e as Error).message}`;
  }
  if (!json || !Array.isArray(json.choices) || json.choices.length === 0) return 'no choices';
  const choices: ChatChoice[] = [];
  for (const [i, c] of (json.choices as { message?: { content?: unknown }; finish_reason?: string; logprobs?: unknown }[]).entries()) {
    const content = c?.message?.content;
    if (typeof content !== 'string') return `choices[${i}].message.content is not a string`;
    const logprobs = parseLogprobs(c.logprobs);
    choices.push({ content, finishReason: c.finish_reason ?? null, ...(logprobs ? { logprobs } : {}) });
  }
  return {
    choices,
    usage: { promptTokens: json.usage?.prompt_tokens ?? 0, completionTokens: json.usage?.completion_tokens ?? 0 },
    model: typeof json.model === 'string' ? json.model : '',
  };
}

export class OpenAICompatibleModel implements ChatModel {
  readonly name: string;
  readonly url: string;
  readonly #opts: OpenAICompatibleOptions;
  readonly #retry: RetryPolicy;
  readonly #limiter: Limiter;
  readonly #cache: ResponseCache | undefined;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #totals: UsageTotals = { requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 };

  constructor(opts: OpenAICompatibleOptions) {
    let base: URL;
    try {
      base = new URL(opts.baseURL);
    } catch {
      throw new TypeError(`Expected an http(s) URL for baseURL but received ${JSON.stringify(opts.baseURL)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`Expected an http(s) URL for baseURL but received ${JSON.stringify(opts.baseURL)}`);
    }
    if (!opts.model) throw new TypeError('Expected a model name for model but received an empty string');
    this.#opts = opts;
    this.url = `${opts.baseURL.replace(/\/+$/, '')}/chat/completions`;
    this.name = `openai:${opts.baseURL}#${opts.model}`;
    this.#retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.#limiter = new Limiter(opts.concurrency ?? 8);
    this.#cache = typeof opts.cache === 'string' ? new ResponseCache(opts.cache, opts.onWarning) : opts.cache;
    this.#sleep = opts.sleep ?? realSleep;
    this.#random = opts.random ?? Math.random;
  }

  usage(): UsageTotals {
    return { ...this.#totals };
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
    checkRequest(request);
    const { signal } = options;
    const { messages, ...params } = request;
    const body = { model: this.#opts.model, messages, ...params };
    const key = this.#cache ? requestKey({ endpoint: this.#opts.baseURL, ...body }) : undefined;
    if (key) {
      const hit = this.#cache!.get(key);
      if (hit) {
        this.#totals.cachedResponses++;
        return { ...hit, cached: true };
      }
    }
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw abortError(signal);
      try {
        const response = await this.#limiter.run(() => this.#attempt(body, signal), signal);
        this.#totals.requests++;
        this.#totals.promptTokens += response.usage.promptTokens;
        this.#totals.completionTokens += response.usage.completionTokens;
        if (key) this.#cache!.put(key, response);
        return { ...response, cached: false, ...(attempt > 0 ? { retries: attempt } : {}) };
      } catch (e) {
        if (signal?.aborted) throw abortError(signal);
        const error = e instanceof LlmError ? e : new LlmNetworkError(this.url, e);
        error.attempts = attempt + 1;
        if (!error.retryable || attempt >= this.#retry.maxRetries) throw error;
        const fromServer = error instanceof LlmHttpError ? error.retryAfterMs : undefined;
        const waitMs = fromServer !== undefined ? Math.min(fromServer, this.#retry.maxDelayMs) : backoffMs(this.#retry, attempt, this.#random);
        this.#totals.retries++;
        this.#opts.onRetry?.({ attempt, waitMs, error });
        try {
          await this.#sleep(waitMs, signal);
        } catch {
          throw signal?.aborted ? abortError(signal) : error;
        }
      }
    }
  }

  async #attempt(body: object, signal: AbortSignal | undefined): Promise<Omit<ChatResponse, 'cached'>> {
    const timeoutMs = this.#opts.timeoutMs ?? 120_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.#opts.headers };
    if (this.#opts.apiKey) headers.authorization = `Bearer ${this.#opts.apiKey}`;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify(body), signal: combined });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      // A server may echo the key back (in an error about it, say); it must not reach an error
      // message, and from there a log, cases.jsonl or a report.
      text = this.#opts.apiKey ? (await res.text()).split(this.#opts.apiKey).join('***') : await res.text();
    } catch (e) {
      if (signal?.aborted) throw e;
      if (timeout.aborted) throw new LlmTimeoutError(this.url, timeoutMs);
      throw new LlmNetworkError(this.url, e);
    }
    if (status < 200 || status >= 300) {
      const overflow = contextOverflowOf(status, text);
      if (overflow)
        throw new LlmContextOverflowError(
          `${this.url} answered HTTP ${status}: the prompt does not fit the model's context (${overflow.message})`,
          overflow.sizes,
        );
      throw new LlmHttpError(status, text, this.url, 1, parseRetryAfter(retryAfter));
    }
    const parsed = parseCompletion(text);
    if (typeof parsed === 'string') throw new LlmResponseError(this.url, parsed, text);
    return parsed;
  }
}

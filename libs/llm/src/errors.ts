// Errors of @rapo/llm. Each says what failed, against which endpoint, and whether retrying
// could help; `attempts` counts the tries made.

export class LlmError extends Error {
  override name = 'LlmError';
  constructor(
    message: string,
    /** Whether another try could succeed (429, 5xx, network, timeout, malformed body). */
    readonly retryable: boolean,
    /** Tries made before giving up (set by the client). */
    public attempts = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server answered with a non-2xx status. */
export class LlmHttpError extends LlmError {
  override name = 'LlmHttpError';
  constructor(
    readonly status: number,
    readonly body: string,
    readonly url: string,
    attempts = 1,
    /** The server's Retry-After, in ms, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(
      `${url} answered HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`,
      status === 408 || status === 409 || status === 429 || status >= 500,
      attempts,
    );
  }
}

/** No answer within the timeout. */
export class LlmTimeoutError extends LlmError {
  override name = 'LlmTimeoutError';
  constructor(url: string, timeoutMs: number, attempts = 1) {
    super(`${url} did not answer within ${timeoutMs} ms`, true, attempts);
  }
}

/** The connection failed (refused, reset, cut mid-answer). */
export class LlmNetworkError extends LlmError {
  override name = 'LlmNetworkError';
  constructor(url: string, cause: unknown, attempts = 1) {
    const detail = cause instanceof Error ? ((cause.cause as Error | undefined)?.message ?? cause.message) : String(cause);
    super(`could not reach ${url}: ${detail}`, true, attempts, { cause });
  }
}

/** A 2xx answer that is not a chat completion (malformed JSON, missing fields). */
export class LlmResponseError extends LlmError {
  override name = 'LlmResponseError';
  constructor(url: string, problem: string, body: string, attempts = 1) {
    super(`${url} sent an answer that is not a chat completion (${problem}): ${body.slice(0, 200)}`, true, attempts);
  }
}

/**
 * The prompt (with the room asked for the answer) does not fit the model's context window. Not
 * retryable: the same request overflows again. Local checkpoints throw it before generating;
 * the HTTP client throws it when a server says so (OpenAI's code "context_length_exceeded",
 * vLLM's "maximum context length", llama.cpp's "exceed_context_size_error").
 */
export class LlmContextOverflowError extends LlmError {
  override name = 'LlmContextOverflowError';
  constructor(
    message: string,
    /** What the backend told about the sizes, when it did. */
    readonly sizes: { promptTokens?: number; contextTokens?: number } = {},
    attempts = 1,
  ) {
    super(message, false, attempts);
  }
}

/** Whether `e` is a context overflow (by class, or by name when it crossed a module copy). */
export function isContextOverflow(e: unknown): e is LlmContextOverflowError {
  return e instanceof LlmContextOverflowError || (e instanceof Error && e.name === 'LlmContextOverflowError');
}

const OVERFLOW_TEXT = /maximum context length|context_length_exceeded|context length exceeded|exceeds the available context size|context window/i;

/**
 * Reads an HTTP error answer (status and body) as a context overflow: the message to report and
 * the sizes the server named, or undefined when the answer is about something else.
 */
export function contextOverflowOf(status: number, body: string): { message: string; sizes: LlmContextOverflowError['sizes'] } | undefined {
  if (status !== 400 && status !== 413 && status !== 422) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return OVERFLOW_TEXT.test(body) ? { message: body.trim().slice(0, 300), sizes: {} } : undefined;
  }
  // OpenAI and llama.cpp nest the details under "error"; older vLLM puts them at the top level.
  const top = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const err = (typeof top.error === 'object' && top.error !== null ? top.error : top) as Record<string, unknown>;
  const message = typeof err.message === 'string' ? err.message : typeof top.error === 'string' ? top.error : '';
  const said = err.code === 'context_length_exceeded' || err.type === 'exceed_context_size_error' || OVERFLOW_TEXT.test(message);
  if (!said) return undefined;
  const sizes: LlmContextOverflowError['sizes'] = {};
  if (typeof err.n_prompt_tokens === 'number') sizes.promptTokens = err.n_prompt_tokens;
  if (typeof err.n_ctx === 'number') sizes.contextTokens = err.n_ctx;
  return { message: message || body.slice(0, 300), sizes };
}

/** The caller's AbortSignal fired. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const e = new Error(`The chat call was aborted${reason !== undefined ? `: ${String(reason)}` : ''}`);
  e.name = 'AbortError';
  return e;
}

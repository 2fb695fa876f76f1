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

/** The caller's AbortSignal fired. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const e = new Error(`The chat call was aborted${reason !== undefined ? `: ${String(reason)}` : ''}`);
  e.name = 'AbortError';
  return e;
}

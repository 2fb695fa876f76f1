// Usage counted per role, from the calls themselves: a run reports the model under test and the
// judge apart even when both are one ChatModel object (`--judge` equal to `--model`), which a
// model's own totals cannot do.
import { LlmError, type CallOptions, type ChatModel, type ChatRequest, type ChatResponse, type UsageTotals } from '@rapo/llm';

/** Totals of the calls added to it: answers (cached ones too), cache hits, retries, fresh tokens. */
export class UsageCounter {
  readonly #t: UsageTotals = { requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 };

  /** An answer: counted as a request; a cache hit adds no tokens (nothing was spent on it). */
  answer(res: ChatResponse): void {
    this.#t.requests++;
    if (res.cached) {
      this.#t.cachedResponses++;
      return;
    }
    this.#t.retries += res.retries ?? 0;
    this.#t.promptTokens += res.usage.promptTokens;
    this.#t.completionTokens += res.usage.completionTokens;
  }

  /** A call that failed: the retries the client made before giving up. */
  failure(e: unknown): void {
    if (e instanceof LlmError) this.#t.retries += Math.max(0, e.attempts - 1);
  }

  totals(): UsageTotals {
    return { ...this.#t };
  }
}

/**
 * A ChatModel that counts what passes through it, for one role of a run. Its usage() is its own
 * calls only, whatever else uses the model it wraps; `onError` sees every call that failed.
 */
export class MeteredChatModel implements ChatModel {
  readonly name: string;
  readonly #counter = new UsageCounter();

  constructor(
    readonly inner: ChatModel,
    readonly role: string,
    private readonly onError?: (e: unknown, role: string) => void,
  ) {
    this.name = inner.name;
  }

  get promptFormat(): ChatModel['promptFormat'] {
    return this.inner.promptFormat;
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
    let res: ChatResponse;
    try {
      res = await this.inner.chat(request, options);
    } catch (e) {
      this.#counter.failure(e);
      this.onError?.(e, this.role);
      throw e;
    }
    this.#counter.answer(res);
    return res;
  }

  usage(): UsageTotals {
    return this.#counter.totals();
  }
}

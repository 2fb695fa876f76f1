// Any ChatModel behind the on-disk response cache of @rapo/llm, so a resumed evaluation repeats
// no call that had finished: local checkpoints and the testbed judge too, not only HTTP models.
// The cache folder is made on the first call, so a command that fails before asking anything
// leaves no folder behind.
import { requestKey, ResponseCache, type CallOptions, type ChatModel, type ChatRequest, type ChatResponse, type UsageTotals } from '@rapo/llm';
import { UsageCounter } from './usage.js';

export class CachedChatModel implements ChatModel {
  readonly name: string;
  #cache: ResponseCache | string;
  readonly #counter = new UsageCounter();

  constructor(
    readonly inner: ChatModel,
    cache: ResponseCache | string,
  ) {
    this.name = inner.name;
    this.#cache = cache;
  }

  get promptFormat(): ChatModel['promptFormat'] {
    return this.inner.promptFormat;
  }

  #store(): ResponseCache {
    if (typeof this.#cache === 'string') this.#cache = new ResponseCache(this.#cache);
    return this.#cache;
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
    const key = requestKey({ model: this.name, ...request });
    const hit = this.#store().get(key);
    if (hit) {
      const res = { ...hit, cached: true };
      this.#counter.answer(res);
      return res;
    }
    let res: ChatResponse;
    try {
      res = await this.inner.chat(request, options);
    } catch (e) {
      this.#counter.failure(e);
      throw e;
    }
    // What is stored is the answer, not how it went (cached, retries) this time.
    const { cached: _cached, retries: _retries, ...response } = res;
    this.#store().put(key, response);
    this.#counter.answer(res);
    return res;
  }

  /** This wrapper's calls: answers (cache hits included), hits, retries, tokens of fresh answers. */
  usage(): UsageTotals {
    return this.#counter.totals();
  }
}

// Any ChatModel behind the on-disk response cache of @rapo/llm, so a resumed evaluation repeats
// no call that had finished: local checkpoints and the testbed judge too, not only HTTP models.
import { requestKey, ResponseCache, type CallOptions, type ChatModel, type ChatRequest, type ChatResponse, type UsageTotals } from '@rapo/llm';

export class CachedChatModel implements ChatModel {
  readonly name: string;
  readonly #cache: ResponseCache;
  #hits = 0;

  constructor(
    readonly inner: ChatModel,
    cache: ResponseCache | string,
  ) {
    this.name = inner.name;
    this.#cache = typeof cache === 'string' ? new ResponseCache(cache) : cache;
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
    const key = requestKey({ model: this.name, ...request });
    const hit = this.#cache.get(key);
    if (hit) {
      this.#hits++;
      return { ...hit, cached: true };
    }
    const res = await this.inner.chat(request, options);
    const { cached: _cached, ...response } = res;
    this.#cache.put(key, response);
    return res;
  }

  usage(): UsageTotals {
    const u = this.inner.usage();
    return { ...u, requests: u.requests + this.#hits, cachedResponses: u.cachedResponses + this.#hits };
  }
}

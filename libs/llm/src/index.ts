// @rapo/llm: one ChatModel interface for any OpenAI-compatible endpoint, with retries,
// limits, cancellation and an on-disk cache. See docs/psycot.md for an example.
export * from './types.js';
export * from './errors.js';
export { OpenAICompatibleModel, type OpenAICompatibleOptions, type RetryEvent } from './openai.js';
export { ResponseCache, requestKey, canonicalJson } from './cache.js';
export { Limiter } from './limiter.js';
export { backoffMs, parseRetryAfter, DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { createChatModel, parseModelSpec, registerLocalModelFactory, type CreateOptions, type LocalModelFactory, type ModelSpec } from './spec.js';

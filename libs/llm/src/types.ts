// The chat-model interface every backend implements: any OpenAI-compatible endpoint (vLLM,
// Ollama, llama.cpp's server, OpenAI) today, local rapo checkpoints through a registered factory.

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

export interface ChatParams {
  /** Completions to sample for the same messages. Default 1. */
  n?: number;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  /** Strings that end a completion (not included in it). */
  stop?: string[];
  seed?: number;
  /** Return the log-probability of each generated token. */
  logprobs?: boolean;
  /** With logprobs: how many alternatives per position (0-20). */
  top_logprobs?: number;
}

export interface ChatRequest extends ChatParams {
  messages: ChatMessage[];
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: { token: string; logprob: number }[];
}

export interface ChatChoice {
  content: string;
  /** "stop", "length", ... as the server says; null when it does not. */
  finishReason: string | null;
  logprobs?: TokenLogprob[];
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface ChatResponse {
  choices: ChatChoice[];
  usage: ChatUsage;
  model: string;
  /** True when the answer came from the on-disk cache. */
  cached: boolean;
  /** Tries after the first that this answer took (HTTP backends; absent when none). */
  retries?: number;
}

export interface CallOptions {
  /** Aborts the call (and any retry wait); the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Totals since the model was created. */
export interface UsageTotals {
  requests: number;
  cachedResponses: number;
  retries: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * How a model expects its role-play prompts: `chat` (the default for any model) takes the full
 * instructions (a system prompt that explains the task and shows the profile); `compact` is a
 * small model trained on the profile alone as its system message, then the user's message.
 */
export type PromptFormat = 'compact' | 'chat';

export interface ChatModel {
  /** A name for logs and reports, e.g. "openai:http://localhost:8000/v1#qwen". */
  readonly name: string;
  /** The prompt format it was trained on, when it says (a rapo checkpoint records it); undefined: `chat`. */
  readonly promptFormat?: PromptFormat;
  chat(request: ChatRequest, options?: CallOptions): Promise<ChatResponse>;
  usage(): UsageTotals;
}

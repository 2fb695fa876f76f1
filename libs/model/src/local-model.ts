// A local checkpoint behind @rapo/llm's ChatModel interface (what `local:<dir>` model specs
// resolve to, and what rapo-serve exposes over HTTP). Requests run one at a time: tfjs works on
// one thread, and a queue keeps latency predictable.
import {
  Limiter,
  LlmContextOverflowError,
  type CallOptions,
  type ChatModel,
  type ChatParams,
  type ChatRequest,
  type ChatResponse,
  type PromptFormat,
  type TokenLogprob,
  type UsageTotals,
} from '@rapo/llm';
import { randomInt } from 'node:crypto';
import { END_OF_TURN, PAD_TOKEN, renderChat, stripChatMarkers } from './chat.js';
import { loadCheckpoint, type Checkpoint } from './checkpoint.js';
import { generate, type FinishReason } from './generate.js';
import { TextStream } from './text-stream.js';

/**
 * The token ids that end an answer of `checkpoint`: ChatML's end of turn, the eos_token of its
 * tokenizer_config.json (Llama 3's <|eot_id|>, ...), and generation_config.json's eos_token_id,
 * a number or a list as Hugging Face writes it. Those its vocabulary lacks are left out.
 */
export function answerStopIds(checkpoint: Pick<Checkpoint, 'tokenizer' | 'eosToken' | 'generation'>): number[] {
  const ids = new Set<number>();
  for (const token of [END_OF_TURN, checkpoint.eosToken]) {
    const id = token === undefined ? undefined : checkpoint.tokenizer.tokenToId(token);
    if (id !== undefined) ids.add(id);
  }
  const fromConfig = checkpoint.generation.eos_token_id;
  for (const id of Array.isArray(fromConfig) ? fromConfig : fromConfig === undefined ? [] : [fromConfig]) {
    if (Number.isInteger(id) && id >= 0 && id < checkpoint.tokenizer.vocabSize) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

export interface CompletionChoice {
  text: string;
  finishReason: FinishReason;
  /** Token ids of the completion (the token that ended it excluded). */
  tokens: number[];
  logprobs?: TokenLogprob[];
}

export interface Completion {
  choices: CompletionChoice[];
  promptTokens: number;
  completionTokens: number;
}

export interface LocalCallOptions extends CallOptions {
  /**
   * Streaming: called with each new piece of choice `index`'s text while it is generated. Pieces
   * hold whole characters only and never text past a stop string; joined they equal the choice's
   * final text.
   */
  onText?: (index: number, piece: string) => void;
}

export class LocalChatModel implements ChatModel {
  readonly name: string;
  readonly #limiter = new Limiter(1);
  readonly #totals: UsageTotals = { requests: 0, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 };

  /** `templateArgs`: more variables for the chat template, e.g. { enable_thinking: false } for Qwen3. */
  constructor(
    readonly checkpoint: Checkpoint,
    name?: string,
    readonly templateArgs: Record<string, unknown> = {},
  ) {
    this.name = name ?? `local:${checkpoint.dir}`;
  }

  /** The prompt format the checkpoint was trained on (rapo-train records it as `prompt_format`), when it says. */
  get promptFormat(): PromptFormat | undefined {
    const f = this.checkpoint.metadata.prompt_format;
    return f === 'compact' || f === 'chat' ? f : undefined;
  }

  static load(dir: string, templateArgs: Record<string, unknown> = {}): LocalChatModel {
    return new LocalChatModel(loadCheckpoint(dir), undefined, templateArgs);
  }

  /** The prompt text chat() continues: `messages` in the checkpoint's chat template, with its bos/eos tokens. */
  renderPrompt(messages: ChatRequest['messages']): string {
    const { chatTemplate: template, bosToken, eosToken } = this.checkpoint;
    return renderChat(messages, { template, bosToken, eosToken, templateArgs: this.templateArgs });
  }

  usage(): UsageTotals {
    return { ...this.#totals };
  }

  /** Continues `prompt` (raw text, no chat template). */
  async complete(prompt: string, params: ChatParams = {}, options: LocalCallOptions = {}): Promise<Completion> {
    return this.#limiter.run(() => this.#complete(prompt, params, options), options.signal);
  }

  async chat(request: ChatRequest, options: LocalCallOptions = {}): Promise<ChatResponse> {
    const { messages, ...params } = request;
    const text = this.renderPrompt(messages);
    const c = await this.complete(text, params, options);
    return {
      choices: c.choices.map((x) => ({ content: x.text, finishReason: x.finishReason, ...(x.logprobs ? { logprobs: x.logprobs } : {}) })),
      usage: { promptTokens: c.promptTokens, completionTokens: c.completionTokens },
      model: this.name,
      cached: false,
    };
  }

  async #complete(prompt: string, params: ChatParams, options: LocalCallOptions): Promise<Completion> {
    const { model, tokenizer, generation } = this.checkpoint;
    const promptIds = tokenizer.encode(prompt);
    if (promptIds.length === 0) throw new RangeError('Expected a non-empty prompt but received one that encodes to no tokens');
    const room = model.config.max_position_embeddings - promptIds.length;
    if (room < 1) {
      const most = model.config.max_position_embeddings - 1;
      throw new LlmContextOverflowError(`The prompt has ${promptIds.length} tokens; this model reads at most ${most} before answering`, {
        promptTokens: promptIds.length,
        contextTokens: most,
      });
    }
    const n = params.n ?? 1;
    const maxNewTokens = Math.min(params.max_tokens ?? generation.max_new_tokens ?? 256, room);
    const temperature = params.temperature ?? generation.temperature ?? 1;
    const stops = answerStopIds(this.checkpoint);
    const isStop = (token: number) => stops.includes(token);
    // Reasoning tags (<think>, ...) may be special tokens and must survive; the ChatML markers
    // and padding are not part of an answer.
    const decode = (ids: number[]) => stripChatMarkers(tokenizer.decode(ids));
    // A choice's text: decoded, cut before the first stop string.
    const visible = (ids: number[]) => {
      let text = decode(ids);
      for (const s of params.stop ?? []) {
        const at = text.indexOf(s);
        if (at >= 0) text = text.slice(0, at);
      }
      return text;
    };
    const onText = options.onText;
    const streams = onText
      ? Array.from({ length: n }, (_, b) => new TextStream(visible, [...(params.stop ?? []), '<|im_start|>', END_OF_TURN, PAD_TOKEN], (p) => onText(b, p)))
      : undefined;
    const topLogprobs = params.logprobs ? (params.top_logprobs ?? 0) : 0;
    const V = model.config.vocab_size;
    // Alternatives per step and sequence, when top_logprobs is asked for.
    const tops: { token: number; logprob: number }[][][] = Array.from({ length: n }, () => []);
    const gen = await generate(
      model,
      Array.from({ length: n }, () => promptIds),
      {
        maxNewTokens,
        temperature,
        topP: params.top_p ?? generation.top_p ?? 1,
        topK: generation.top_k ?? 0,
        seed: params.seed ?? randomInt(2 ** 31),
        stopTokenIds: stops,
        stopStrings: params.stop,
        decode,
        signal: options.signal,
        onToken: streams ? (b, token) => !isStop(token) && streams[b]!.push(token) : undefined,
        onLogits: topLogprobs
          ? (_, logits) => {
              const T = temperature > 0 ? temperature : 1;
              for (let b = 0; b < n; b++) {
                const row = logits.subarray(b * V, (b + 1) * V);
                let max = -Infinity;
                for (const x of row) max = Math.max(max, x / T);
                let sum = 0;
                for (const x of row) sum += Math.exp(x / T - max);
                const lse = max + Math.log(sum);
                const order = Array.from({ length: V }, (_, j) => j).sort((a, c) => row[c]! - row[a]!);
                tops[b]!.push(order.slice(0, topLogprobs).map((j) => ({ token: j, logprob: row[j]! / T - lse })));
              }
            }
          : undefined,
      },
    );
    const choices = gen.tokens.map((tokens, b): CompletionChoice => {
      const kept = tokens.length && isStop(tokens[tokens.length - 1]!) ? tokens.slice(0, -1) : tokens;
      const text = visible(kept);
      streams?.[b]!.finish(text);
      const logprobs = params.logprobs
        ? kept.map((t, i) => ({
            token: tokenizer.decode([t]),
            logprob: gen.logprobs[b]![i]!,
            ...(topLogprobs ? { top: tops[b]![i]!.map((x) => ({ token: tokenizer.decode([x.token]), logprob: x.logprob })) } : {}),
          }))
        : undefined;
      return { text, finishReason: gen.finishReasons[b]!, tokens: kept, ...(logprobs ? { logprobs } : {}) };
    });
    const completionTokens = gen.tokens.reduce((s, t) => s + t.length, 0);
    this.#totals.requests++;
    this.#totals.promptTokens += promptIds.length;
    this.#totals.completionTokens += completionTokens;
    return { choices, promptTokens: promptIds.length, completionTokens };
  }
}

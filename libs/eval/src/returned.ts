// What the models said during one case, kept for a case that fails: a case runs through wrappers
// of the run's models that note every answer (each choice's text, raw) in the order it came, so
// the record of a failed case can show the reply that broke the format, the judge answers that
// could not be read, or what came back before a call failed.
import type { CallOptions, ChatModel, ChatRequest, ChatResponse, UsageTotals } from '@rapo/llm';
import type { ReturnedText } from './types.js';

/** A ChatModel that passes calls through to `inner` and appends each answer's texts to `into`. */
export class RecordingChatModel implements ChatModel {
  readonly name: string;

  constructor(
    readonly inner: ChatModel,
    readonly role: string,
    private readonly into: ReturnedText[],
  ) {
    this.name = inner.name;
  }

  get promptFormat(): ChatModel['promptFormat'] {
    return this.inner.promptFormat;
  }

  async chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
    const res = await this.inner.chat(request, options);
    for (const choice of res.choices) this.into.push({ role: this.role, text: choice.content });
    return res;
  }

  usage(): UsageTotals {
    return this.inner.usage();
  }
}

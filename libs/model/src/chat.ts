// Chat formatting through a checkpoint's chat template (tokenizer_config.json's chat_template,
// rendered with @huggingface/jinja), with ChatML as the default.
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '@rapo/llm';

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Special tokens a rapo tokenizer always has: ChatML turn markers, the reasoning tags, padding. */
export const CHAT_SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>'] as const;
export const END_OF_TURN = '<|im_end|>';
export const PAD_TOKEN = '<|endoftext|>';

const compiled = new Map<string, Template>();

export function renderChat(messages: ChatMessage[], template: string = CHATML_TEMPLATE, addGenerationPrompt = true): string {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new TypeError(`The chat template does not parse: ${(e as Error).message}`, { cause: e });
    }
    compiled.set(template, t);
  }
  return t.render({ messages, add_generation_prompt: addGenerationPrompt, bos_token: '', eos_token: END_OF_TURN });
}

/** Text without ChatML turn markers and padding (what remains of a decoded answer). */
export function stripChatMarkers(text: string): string {
  return text.replaceAll('<|im_start|>', '').replaceAll(END_OF_TURN, '').replaceAll(PAD_TOKEN, '');
}

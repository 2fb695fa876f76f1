// Chat formatting through a checkpoint's chat template (tokenizer_config.json's chat_template,
// rendered with @huggingface/jinja), with ChatML as the default. Templates get the messages,
// add_generation_prompt, bos_token and eos_token, plus any template arguments the caller passes
// (Qwen3's enable_thinking, say), as transformers' apply_chat_template gives them.
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '@rapo/llm';

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Special tokens a rapo tokenizer always has: ChatML turn markers, the reasoning tags, padding. */
export const CHAT_SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>'] as const;
export const END_OF_TURN = '<|im_end|>';
export const PAD_TOKEN = '<|endoftext|>';

export interface RenderChatOptions {
  /** A Jinja chat template (tokenizer_config.json's chat_template). Default: ChatML. */
  template?: string;
  /** End with the opening of an assistant turn. Default true. */
  addGenerationPrompt?: boolean;
  /** More variables for the template, e.g. { enable_thinking: false } for Qwen3. */
  templateArgs?: Record<string, unknown>;
  /** The template's bos_token. Default '' (rapo's tokenizers have none). */
  bosToken?: string;
  /** The template's eos_token. Default END_OF_TURN. */
  eosToken?: string;
}

/** Variables renderChat sets itself, and the option that sets each. */
const OWN_VARIABLES: Record<string, string> = {
  messages: 'the messages argument',
  add_generation_prompt: 'addGenerationPrompt',
  bos_token: 'bosToken',
  eos_token: 'eosToken',
};

const compiled = new Map<string, Template>();

/**
 * The text of `messages` in a chat template. `options` is a RenderChatOptions, or (the older form) the
 * template itself, followed then by addGenerationPrompt.
 */
export function renderChat(messages: ChatMessage[], options: RenderChatOptions | string = {}, addGenerationPrompt?: boolean): string {
  const o = checkRenderOptions(typeof options === 'string' ? { template: options } : options);
  const template = o.template ?? CHATML_TEMPLATE;
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new TypeError(`The chat template does not parse: ${(e as Error).message}`, { cause: e });
    }
    compiled.set(template, t);
  }
  return t.render({
    ...o.templateArgs,
    messages,
    add_generation_prompt: addGenerationPrompt ?? o.addGenerationPrompt ?? true,
    bos_token: o.bosToken ?? '',
    eos_token: o.eosToken ?? END_OF_TURN,
  });
}

function checkRenderOptions(options: unknown): RenderChatOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Expected a chat template string or an options object for renderChat's options but received ${shortly(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of ['template', 'bosToken', 'eosToken'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'string') throw new TypeError(`Expected a string for ${key} but received ${shortly(o[key])}`);
  }
  if (o.addGenerationPrompt !== undefined && typeof o.addGenerationPrompt !== 'boolean') {
    throw new TypeError(`Expected true or false for addGenerationPrompt but received ${shortly(o.addGenerationPrompt)}`);
  }
  const args = o.templateArgs;
  if (args !== undefined) {
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new TypeError(`Expected an object of template variables for templateArgs but received ${shortly(args)}`);
    }
    for (const key of Object.keys(args)) {
      const own = OWN_VARIABLES[key];
      if (own !== undefined) throw new TypeError(`templateArgs.${key} is set by renderChat itself; pass ${own} instead`);
    }
  }
  return o as RenderChatOptions;
}

function shortly(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  return v === null || typeof v !== 'object' ? String(v) : 'an object';
}

/**
 * The bos_token and eos_token a tokenizer_config.json gives, as strings (Hugging Face writes them as
 * a string, null, or an {"content": ...} object); a missing or null one is left out.
 */
export function templateTokens(config: Record<string, unknown>, where = 'tokenizer_config.json'): { bosToken?: string; eosToken?: string } {
  const read = (field: 'bos_token' | 'eos_token'): string | undefined => {
    const v = config[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    const content = typeof v === 'object' && !Array.isArray(v) ? (v as { content?: unknown }).content : undefined;
    if (typeof content === 'string') return content;
    throw new TypeError(`${where}: ${field} is ${shortly(v)}, expected a string, null or {"content": string}`);
  };
  const bosToken = read('bos_token');
  const eosToken = read('eos_token');
  return { ...(bosToken !== undefined ? { bosToken } : {}), ...(eosToken !== undefined ? { eosToken } : {}) };
}

/** Text without ChatML turn markers and padding (what remains of a decoded answer). */
export function stripChatMarkers(text: string): string {
  return text.replaceAll('<|im_start|>', '').replaceAll(END_OF_TURN, '').replaceAll(PAD_TOKEN, '');
}

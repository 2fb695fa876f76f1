import { describe, expect, it } from 'vitest';
import { CHATML_TEMPLATE, renderChat, stripChatMarkers } from './chat.js';

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
});

describe('answers', () => {
  it('lose ChatML markers and padding but keep reasoning tags', () => {
    expect(stripChatMarkers('<think>x</think> Aye.<|im_end|><|endoftext|>')).toBe('<think>x</think> Aye.');
  });
});

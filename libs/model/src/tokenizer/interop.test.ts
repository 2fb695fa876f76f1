// Interoperability with the official Hugging Face tokenizer (@huggingface/tokenizers): a file
// saved by BpeTokenizer must load there and give the same ids, and decode back to the same text.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { BpeTokenizer } from './index.js';
import { englishCorpus, prng, randomText, SPECIALS } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rapo-tokenizer-hf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const training = englishCorpus(150_000, 11).map((p, i) =>
  i % 4 === 0 ? `<|im_start|>user\n${p}<|im_end|>\n<|im_start|>assistant\n<think>\n${p}\n</think>\n\n${p}<|im_end|>\n` : p,
);
const ours = BpeTokenizer.train(training, { vocabSize: 1200, specialTokens: SPECIALS });
const path = join(dir, 'tokenizer.json');
ours.save(path);
const hf = new Tokenizer(JSON.parse(readFileSync(path, 'utf8')), { clean_up_tokenization_spaces: false });

/** Text that is not in the training corpus: another seed, plus hand-written awkward cases. */
const heldOut = [
  ...englishCorpus(20_000, 12345),
  '<|im_start|>system\nYou are Ada Lovelace, speaking in 1843.<|im_end|>\n<|im_start|>user\nWhat is an engine?<|im_end|>\n<|im_start|>assistant\n<think>\nShe would answer warmly.\n</think>\n\nAn engine, sir, weaves algebra.<|im_end|>',
  'Unicode: 中文角色扮演 — café, naïve, Zürich; Привет мир; emoji 😀🤖👩‍💻🇫🇷 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢.',
  'Spaces:   three, \ttab,\u00a0nbsp,\u3000ideographic, trailing   \n\n\n   indented\r\nCRLF  ',
  "Contractions: I'm sure they'll say it's what we've done; he'd LOVE it. 'quoted' 1,234.56 x=3*4",
  '<think></think><|im_end|><|im_end|>near <|im_start| misses <thin',
  '\ufeffBOM first, then NUL \u0000 and DEL \u007f',
  'Runs: eeeeeee lllllll ooooo sssssss ------ ...... 0000000',
];

describe('Hugging Face interop', () => {
  it('loads our tokenizer.json and encodes held-out text to the same ids', () => {
    for (const text of heldOut) {
      expect(training).not.toContain(text);
      expect(hf.encode(text).ids, JSON.stringify(text.slice(0, 60))).toEqual(ours.encode(text));
    }
  });

  it('agrees on 1000 random strings mixing unicode, whitespace and special-token pieces', () => {
    const rand = prng(2024);
    for (let i = 0; i < 1000; i++) {
      const text = randomText(rand, 30);
      expect(hf.encode(text).ids, JSON.stringify(text)).toEqual(ours.encode(text));
    }
  });

  it('decodes our ids back to the original text and agrees on the vocabulary', () => {
    for (const text of heldOut) expect(hf.decode(ours.encode(text))).toBe(text);
    for (const [token, id] of ours.specialTokens) expect(hf.token_to_id(token)).toBe(id);
    for (const id of [0, 5, 300, 1199]) expect(hf.id_to_token(id)).toBe(ours.idToToken(id));
    expect(hf.get_vocab().size).toBe(ours.vocabSize);
  });

  it('matches on a file with [left, right] merges and two merges spelling one token', () => {
    const json = JSON.parse(readFileSync(path, 'utf8'));
    const size = ours.vocabSize;
    Object.assign(json.model.vocab, { qq: size, qz: size + 1, qqz: size + 2 });
    json.model.merges = [...json.model.merges, 'q q', 'q z', 'qq z', 'q qz'].map((m: string) => m.split(' '));
    const mine = BpeTokenizer.fromJSON(json);
    const theirs = new Tokenizer(json, {});
    for (const text of ['qqz qqqz qzqq', ...heldOut.slice(-6)]) {
      expect(theirs.encode(text).ids).toEqual(mine.encode(text));
    }
  });
});

// tokenizer.json support of BpeTokenizer: the written format, reading it back (and other
// byte-level BPE files), atomic save/load, and the exact errors for malformed files.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, TokenizerError, type TokenizerJson } from './index.js';
import { englishCorpus, prng, randomText, SPECIALS } from './test-helpers.js';

const tok = BpeTokenizer.train(englishCorpus(40_000, 3), { vocabSize: 500, specialTokens: SPECIALS });
const dir = mkdtempSync(join(tmpdir(), 'rapo-tokenizer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh, mutable copy of the trained tokenizer's JSON. */
const fresh = (): Record<string, any> => JSON.parse(JSON.stringify(tok.toJSON()));
const probe = ['<|im_start|>user\nWhat is the story?<|im_end|>', 'café 中文 😀  \n\t end', "they'll say 1234"];

describe('BpeTokenizer.toJSON', () => {
  it('writes the Hugging Face tokenizer.json layout', () => {
    const json = tok.toJSON() as TokenizerJson;
    expect(Object.keys(json)).toEqual([
      'version',
      'truncation',
      'padding',
      'added_tokens',
      'normalizer',
      'pre_tokenizer',
      'post_processor',
      'decoder',
      'model',
    ]);
    expect(json.version).toBe('1.0');
    expect(json.added_tokens).toHaveLength(SPECIALS.length);
    expect(json.added_tokens[1]).toEqual({
      id: 1,
      content: '<|im_end|>',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
    expect(json.normalizer).toBeNull();
    expect(json.post_processor).toBeNull();
    expect(json.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(json.decoder).toEqual({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true });
    const { vocab, merges, ...options } = json.model;
    expect(options).toEqual({
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
    });
    expect(Object.keys(vocab)).toHaveLength(500);
    expect(vocab['<think>']).toBe(2);
    expect(vocab['Ġ']).toBe(tok.tokenToId('Ġ'));
    expect(new Set(Object.values(vocab)).size).toBe(500);
    // Merges are "left right" strings in rank order, and each makes a vocab token.
    expect(merges).toHaveLength(500 - 5 - 256);
    for (const merge of merges) expect(vocab[merge.replace(' ', '')]).toBeGreaterThanOrEqual(261);
    expect(vocab[(merges[0] ?? '').replace(' ', '')]).toBe(261);
  });
});

describe('BpeTokenizer.fromJSON', () => {
  it('reads back what toJSON writes', () => {
    const back = BpeTokenizer.fromJSON(fresh());
    expect(JSON.stringify(back.toJSON())).toBe(JSON.stringify(tok.toJSON()));
    const rand = prng(9);
    for (let i = 0; i < 300; i++) {
      const s = randomText(rand, 25);
      expect(back.encode(s)).toEqual(tok.encode(s));
    }
  });

  it('accepts merges as [left, right] pairs and GPT-2 style empty affixes', () => {
    const json = fresh();
    json.model.merges = json.model.merges.map((m: string) => m.split(' '));
    json.model.continuing_subword_prefix = '';
    json.model.end_of_word_suffix = '';
    json.post_processor = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true };
    const back = BpeTokenizer.fromJSON(json);
    for (const s of probe) expect(back.encode(s)).toEqual(tok.encode(s));
  });

  it('keeps a "__proto__" token through JSON', () => {
    const t = BpeTokenizer.train(['a b c'], { vocabSize: 300, specialTokens: ['__proto__'] });
    const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(back.tokenToId('__proto__')).toBe(0);
    expect(back.encode('x__proto__y')).toEqual([back.tokenToId('x'), 0, back.tokenToId('y')]);
  });

  it('gives two merges that spell the same token one id, and honours non-special added tokens', () => {
    const json = fresh();
    const size = Object.keys(json.model.vocab).length;
    Object.assign(json.model.vocab, { qq: size, qz: size + 1, qqz: size + 2 });
    json.model.merges.push('q q', 'q z', 'qq z', 'q qz');
    json.added_tokens.push({ id: size + 3, content: '[note]', special: false });
    const t = BpeTokenizer.fromJSON(json);
    expect(t.vocabSize).toBe(size + 4);
    expect(t.encode('qqz')).toEqual([size + 2]);
    expect(t.encode('qqqz')).toEqual([size, size + 1]);
    expect(t.toJSON().model.merges.slice(-2)).toEqual(['qq z', 'q qz']);
    expect(t.encode('a[note]b')).toEqual([t.tokenToId('a'), size + 3, t.tokenToId('b')]);
    expect(t.specialTokens.has('[note]')).toBe(false);
    expect(t.decode(t.encode('x[note]'), { skipSpecialTokens: true })).toBe('x[note]');
  });

  it('names the first problem of a malformed file', () => {
    const cases: Array<[(j: Record<string, any>) => unknown, string]> = [
      [() => 'text', 'expected an object at the top level but received "text"'],
      [(j) => ((j.version = '2.0'), j), 'version is "2.0", expected "1.0"'],
      [(j) => ((j.model = null), j), 'model is null, expected an object'],
      [(j) => ((j.model.type = 'WordPiece'), j), 'model.type is "WordPiece", expected "BPE"'],
      [(j) => ((j.model.dropout = 0.1), j), 'model.dropout is 0.1, expected null (encoding must be deterministic)'],
      [(j) => ((j.model.ignore_merges = 'no'), j), 'model.ignore_merges is "no", expected false or true'],
      [(j) => ((j.model.vocab = []), j), 'model.vocab is an array, expected an object'],
      [(j) => ((j.model.vocab.he = 1.5), j), 'model.vocab["he"] is 1.5, expected a non-negative integer id'],
      [(j) => ((j.model.vocab.extra = 7), j), 'id 7 is given to both "#" and "extra"'],
      [(j) => ((j.model.vocab.extra = 900), j), 'ids must run from 0 to 500 without gaps, but "extra" has id 900'],
      [(j) => (delete j.model.vocab['Ā'], j), `ids must run from 0 to 498 without gaps, but "${tok.idToToken(499)}" has id 499`],
      [(j) => ((j.model.vocab['hi there'] = 500), j), 'model.vocab token "hi there" contains " ", which is not a byte symbol'],
      [(j) => ((j.added_tokens = {}), j), 'added_tokens is an object, expected an array'],
      [(j) => ((j.added_tokens[0].content = ''), j), 'added_tokens[0].content is "", expected a non-empty string'],
      [(j) => ((j.added_tokens[0].id = 3), j), 'added_tokens[0] gives "<|im_start|>" id 3 but model.vocab gives it 0'],
      [(j) => (j.added_tokens.push({ ...j.added_tokens[2] }), j), 'added_tokens[5] repeats the added token "<think>"'],
      [(j) => ((j.model.merges = 'a b'), j), 'model.merges is "a b", expected an array'],
      [(j) => ((j.model.merges[4] = 'abc'), j), 'model.merges[4] is "abc", expected "left right" or ["left", "right"]'],
      [(j) => ((j.model.merges[4] = ['a', 'b', 'c']), j), 'model.merges[4] is ["a","b","c"], expected "left right" or ["left", "right"]'],
      [(j) => ((j.model.merges[2] = 'Ġ ☃'), j), 'model.merges[2] ("Ġ ☃") refers to "☃", which is not in model.vocab'],
      [(j) => ((j.model.merges[2] = 'z q'), j), 'model.merges[2] ("z q") makes "zq", which is not in model.vocab'],
      [(j) => (j.model.merges.push(j.model.merges[1]), j), `model.merges[239] ("${tok.toJSON().model.merges[1]}") repeats model.merges[1]`],
    ];
    for (const [mutate, message] of cases) {
      expect(() => BpeTokenizer.fromJSON(mutate(fresh()))).toThrow(new TokenizerError(`tokenizer.json: ${message}`));
    }
  });

  it('requires every byte symbol as a plain vocab token', () => {
    const json = fresh();
    delete json.model.vocab['Ā'];
    json.model.vocab['<extra>'] = tok.tokenToId('Ā');
    json.added_tokens.push({ id: tok.tokenToId('Ā'), content: '<extra>', special: true });
    json.model.merges = [];
    expect(() => BpeTokenizer.fromJSON(json)).toThrow(new TokenizerError('tokenizer.json: model.vocab lacks the byte symbol "Ā" (byte 0)'));
  });
});

describe('BpeTokenizer.save and load', () => {
  it('round-trips through a file with identical encodings and no temporary file left', () => {
    const path = join(dir, 'tokenizer.json');
    writeFileSync(path, 'old contents');
    tok.save(path);
    expect(readdirSync(dir)).toEqual(['tokenizer.json']);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(tok.toJSON());
    const back = BpeTokenizer.load(path);
    for (const s of probe) expect(back.encode(s)).toEqual(tok.encode(s));
    expect(back.vocabSize).toBe(tok.vocabSize);
    expect([...back.specialTokens]).toEqual([...tok.specialTokens]);
  });

  it('reports unreadable and malformed files', () => {
    const missing = join(dir, 'missing.json');
    expect(() => BpeTokenizer.load(missing)).toThrow(
      new TokenizerError(`Could not read tokenizer file ${missing}: ENOENT: no such file or directory, open '${missing}'`),
    );
    const truncated = join(dir, 'truncated.json');
    writeFileSync(truncated, '{"version": "1.0", "model": ');
    expect(() => BpeTokenizer.load(truncated)).toThrow(new TokenizerError(`${truncated} is not valid JSON: Unexpected end of JSON input`));
    const wrongModel = join(dir, 'wordpiece.json');
    writeFileSync(wrongModel, JSON.stringify({ model: { type: 'WordPiece' } }));
    expect(() => BpeTokenizer.load(wrongModel)).toThrow(new TokenizerError('tokenizer.json: model.type is "WordPiece", expected "BPE"'));
  });

  it('reports a failed save and leaves nothing behind', () => {
    const target = join(dir, 'no-such-dir', 'tokenizer.json');
    const tmp = `${target}.tmp-${process.pid}`;
    expect(() => tok.save(target)).toThrow(new TokenizerError(`Could not save tokenizer to ${target}: ENOENT: no such file or directory, open '${tmp}'`));
    expect(existsSync(tmp)).toBe(false);
  });
});

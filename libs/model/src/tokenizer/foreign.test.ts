// tokenizer.json files beyond rapo's byte-level pipeline: which features send a file to
// @huggingface/tokenizers, that each gives that library's ids (normalizers, Split/Sequence
// pre-tokenizers, added tokens that strip spaces), and the errors for files neither can encode exactly.
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { BpeTokenizer, TokenizerError } from './index.js';
import { englishCorpus, prng, randomText, SPECIALS } from './test-helpers.js';

const tok = BpeTokenizer.train(englishCorpus(40_000, 3), { vocabSize: 500, specialTokens: SPECIALS });
/** A fresh, mutable copy of the trained tokenizer's JSON. */
const fresh = (): Record<string, any> => JSON.parse(JSON.stringify(tok.toJSON()));
const mutated = (mutate: (j: Record<string, any>) => void): Record<string, any> => {
  const j = fresh();
  mutate(j);
  return j;
};

/** Checks that ours and the Hugging Face tokenizer agree on hand-picked and random text. */
function expectSameIds(json: Record<string, any>, config: Record<string, unknown> = {}): BpeTokenizer {
  const ours = BpeTokenizer.fromJSON(json, config);
  const theirs = new Tokenizer(json, { clean_up_tokenization_spaces: false, ...config });
  const rand = prng(31);
  const texts = ['Hello World, IT’S 12345 ＦＵＬＬ-width - dash', 'cafe\u0301 <|im_start|>user\nhi<|im_end|>  <think> x </think>  '];
  for (let i = 0; i < 200; i++) texts.push(randomText(rand, 25));
  for (const text of texts) expect(ours.encode(text), JSON.stringify(text)).toEqual(theirs.encode(text, { add_special_tokens: false }).ids);
  return ours;
}

describe('BpeTokenizer.fromJSON on files beyond the byte-level pipeline', () => {
  it('encodes rapo-trained files itself', () => {
    expect(tok.delegation).toBeNull();
    expect(BpeTokenizer.fromJSON(fresh()).delegation).toBeNull();
  });

  it('names the feature that sends a file to @huggingface/tokenizers, and gives its ids', () => {
    const cases: Array<[(j: Record<string, any>) => void, string]> = [
      [(j) => (j.normalizer = { type: 'NFC' }), 'normalizer is of type "NFC"'],
      [(j) => (j.pre_tokenizer = { type: 'Sequence', pretokenizers: [j.pre_tokenizer] }), 'pre_tokenizer is of type "Sequence"'],
      [(j) => (j.pre_tokenizer = null), 'pre_tokenizer is null'],
      [(j) => (j.pre_tokenizer.add_prefix_space = true), 'pre_tokenizer.add_prefix_space is true'],
      [(j) => (j.pre_tokenizer.use_regex = false), 'pre_tokenizer.use_regex is false'],
      [
        (j) => (j.post_processor = { type: 'TemplateProcessing', single: [{ Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: {} }),
        'post_processor is of type "TemplateProcessing"',
      ],
      [(j) => (j.decoder = { type: 'Fuse' }), 'decoder is of type "Fuse"'],
      [(j) => (j.model.byte_fallback = true), 'model.byte_fallback is true'],
      [(j) => (j.model.end_of_word_suffix = '</w>'), 'model.end_of_word_suffix is "</w>"'],
      [(j) => (j.added_tokens[3].lstrip = true), 'added_tokens[3].lstrip is true'],
      [(j) => (j.added_tokens[2].rstrip = true), 'added_tokens[2].rstrip is true'],
    ];
    for (const [mutate, reason] of cases) expect(expectSameIds(mutated(mutate)).delegation).toBe(reason);
  });

  it('applies normalizers: NFKC, Lowercase and Replace in a Sequence', () => {
    const t = expectSameIds(
      mutated((j) => {
        j.normalizer = {
          type: 'Sequence',
          normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }, { type: 'Replace', pattern: { String: '’' }, content: "'" }],
        };
      }),
    );
    expect(t.encode('ＦＵＬＬ Width')).toEqual(tok.encode('full width'));
    expect(t.encode('IT’S')).toEqual(tok.encode("it's"));
    expect(t.decode(t.encode('Cafe\u0301'))).toBe('café');
  });

  it('applies Split pre-tokenizers, isolated and removed, before ByteLevel', () => {
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
    const isolated = expectSameIds(
      mutated((j) => {
        j.pre_tokenizer = {
          type: 'Sequence',
          pretokenizers: [{ type: 'Split', pattern: { Regex: '\\p{N}' }, behavior: 'Isolated', invert: false }, byteLevel],
        };
      }),
    );
    // Each digit is its own piece, so no merge joins two digits.
    expect(isolated.encode('2024')).toEqual([...'2024'].map((d) => tok.tokenToId(d)));
    const removed = expectSameIds(
      mutated((j) => {
        j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '-+' }, behavior: 'Removed', invert: false }, byteLevel] };
      }),
    );
    expect(removed.decode(removed.encode('well-known role--play'))).toBe('wellknown roleplay');
  });

  it('strips spaces around added tokens that say lstrip or rstrip', () => {
    const t = expectSameIds(
      mutated((j) => {
        j.added_tokens[2].lstrip = true;
        j.added_tokens[3].rstrip = true;
      }),
    );
    expect(t.decode(t.encode('a   <think> b </think>   c'))).toBe('a<think> b </think>c');
  });

  it('passes tokenizer_config.json on: clean_up_tokenization_spaces (off unless the config says so), extra special tokens', () => {
    const json = mutated((j) => (j.normalizer = { type: 'NFC' }));
    const text = 'Hi , there . Fine ?';
    expect(BpeTokenizer.fromJSON(json).decode(BpeTokenizer.fromJSON(json).encode(text))).toBe(text);
    const tidy = BpeTokenizer.fromJSON(json, { clean_up_tokenization_spaces: true });
    expect(tidy.decode(tidy.encode(text))).toBe('Hi, there. Fine?');
    const t = BpeTokenizer.fromJSON(json, { additional_special_tokens: [{ content: '<|pad|>' }] });
    expect(t.decode(t.encode('a<|pad|>b'), { skipSpecialTokens: true })).toBe('ab');
  });

  it('allows gaps in the ids of such files, and refuses to decode an id no token has', () => {
    const t = BpeTokenizer.fromJSON(mutated((j) => ((j.normalizer = { type: 'NFC' }), (j.model.vocab['zz'] = 600))));
    expect(t.vocabSize).toBe(601);
    expect(t.idToToken(550)).toBeUndefined();
    expect(t.idToToken(600)).toBe('zz');
    expect(() => t.decode([5, 550])).toThrow(new TokenizerError('ids[1] is 550, which no token of this tokenizer has'));
  });

  it('names the first problem of a malformed or inexact file', () => {
    const nfc = (more: (j: Record<string, any>) => void) => mutated((j) => ((j.normalizer = { type: 'NFC' }), more(j)));
    const split = (behavior: string, invert: boolean, pattern: object = { Regex: '\\s+' }) => ({ type: 'Split', pattern, behavior, invert });
    const cases: Array<[Record<string, any>, string]> = [
      [nfc((j) => (j.model.vocab.he = 1.5)), 'model.vocab["he"] is 1.5, expected a non-negative integer id'],
      [nfc((j) => (j.added_tokens[0].id = 3)), 'added_tokens[0] gives "<|im_start|>" id 3 but model.vocab gives it 0'],
      [nfc((j) => (j.model.vocab.huge = 1 << 24)), '"huge" has id 16777216, expected ids below 16777216'],
      [nfc((j) => (j.model.merges = {})), 'model.merges is an object, expected an array'],
      [nfc((j) => (j.model.merges[4] = 'abc')), 'model.merges[4] is "abc", expected "left right" or ["left", "right"]'],
      [nfc((j) => (j.model.dropout = 0.1)), 'model.dropout is 0.1, expected null (encoding must be deterministic)'],
      [
        nfc((j) => (j.normalizer = { type: 'Bogus' })),
        'normalizer is of type "Bogus", so @huggingface/tokenizers encodes it, and it cannot load the file: Unknown Normalizer type: Bogus',
      ],
      [
        nfc((j) => (j.pre_tokenizer = { type: 'Sequence', pretokenizers: [split('MergedWithPrevious', false), j.pre_tokenizer] })),
        'pre_tokenizer.pretokenizers[0] is a Split with behavior "MergedWithPrevious", which @huggingface/tokenizers does not split as the ' +
          'Hugging Face (Rust) library does; rapo supports "Isolated" and "Removed" (inverted: "Removed" only)',
      ],
      [
        nfc((j) => (j.pre_tokenizer = split('Isolated', true))),
        'pre_tokenizer is a Split with behavior "Isolated" and invert true, which @huggingface/tokenizers does not split as the ' +
          'Hugging Face (Rust) library does; rapo supports "Isolated" and "Removed" (inverted: "Removed" only)',
      ],
      [
        nfc((j) => (j.pre_tokenizer = split('Removed', false, { String: '-' }))),
        'pre_tokenizer is a Split with behavior "Removed" and a String pattern; @huggingface/tokenizers would keep the removed text ' +
          '(write the pattern as a Regex without capturing groups, e.g. (?:...))',
      ],
      [
        nfc((j) => (j.pre_tokenizer = split('Removed', false, { Regex: 'a(-)' }))),
        'pre_tokenizer is a Split with behavior "Removed" and the regex "a(-)", which has a capturing group; @huggingface/tokenizers would ' +
          'keep the removed text (write the pattern as a Regex without capturing groups, e.g. (?:...))',
      ],
      [
        mutated((j) => (j.added_tokens[1].single_word = true)),
        'added_tokens[1].single_word is true, which @huggingface/tokenizers ignores (it would match the token inside words too)',
      ],
    ];
    for (const [json, message] of cases) expect(() => BpeTokenizer.fromJSON(json)).toThrow(new TokenizerError(`tokenizer.json: ${message}`));
    expect(() => BpeTokenizer.fromJSON(nfc((j) => (j.pre_tokenizer = split('Removed', true))))).not.toThrow();
    expect(() => BpeTokenizer.fromJSON(nfc((j) => (j.pre_tokenizer = split('Removed', false, { Regex: '(?:-)\\(' }))))).not.toThrow();
  });

  it('checks tokenizer_config.json', () => {
    const json = fresh();
    const cases: Array<[unknown, string]> = [
      ['config', 'Expected an object (tokenizer_config.json) for config but received "config"'],
      [{ clean_up_tokenization_spaces: 'yes' }, 'tokenizer_config.json: clean_up_tokenization_spaces is "yes", expected true or false'],
      [{ additional_special_tokens: '<x>' }, 'tokenizer_config.json: additional_special_tokens is "<x>", expected an array'],
      [{ additional_special_tokens: [7] }, 'tokenizer_config.json: additional_special_tokens[0] is 7, expected a string or {"content": string}'],
    ];
    for (const [config, message] of cases) {
      expect(() => BpeTokenizer.fromJSON(json, config as Record<string, unknown>)).toThrow(new TokenizerError(message));
    }
  });
});

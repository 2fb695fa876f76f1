// Training, encoding and decoding of BpeTokenizer: round trips, special tokens, determinism,
// merge behaviour, and the argument errors of train, encode and decode.
import { describe, expect, it } from 'vitest';
import { BpeTokenizer, TokenizerError } from './index.js';
import { englishCorpus, prng, randomText, SPECIALS } from './test-helpers.js';

const corpus = englishCorpus(120_000, 1).map((p, i) =>
  i % 3 === 0 ? `<|im_start|>user\n${p}<|im_end|>\n<|im_start|>assistant\n<think>${p}</think>\n\n${p}<|im_end|>` : p,
);
const tok = BpeTokenizer.train(corpus, { vocabSize: 1000, specialTokens: SPECIALS });
const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

describe('BpeTokenizer round trip', () => {
  const samples = [
    '',
    'Hello, world!',
    "It's the role-player's 2nd answer: don't we'll they'd.",
    '   leading and trailing spaces   ',
    'tabs\tand\nnewlines\r\n\n\nand a blank line\n',
    '中文分词测试，角色扮演。',
    'emoji 😀🤖 family 👩‍👩‍👧 flag 🇯🇵',
    'accents: café naïve Zürich señor e\u0301 (combining)',
    '\ufeffa leading byte-order mark',
    'NUL \u0000 and DEL \u007f and U+FFFD \ufffd',
    'x'.repeat(5000),
    ' '.repeat(300) + '\n'.repeat(40),
    '<|im_start|>system\nYou are Ada.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>',
    '<think>plan</think>answer',
    '<think></think><think>',
    'near misses: <|im_start| <thin> </think <|im_end',
  ];

  it('decodes what it encodes for hand-picked strings', () => {
    for (const s of samples) expect(tok.decode(tok.encode(s))).toBe(s);
  });

  it('decodes what it encodes for 3000 random strings', () => {
    const rand = prng(42);
    for (let i = 0; i < 3000; i++) {
      const s = randomText(rand, 30);
      const ids = tok.encode(s);
      expect(tok.decode(ids), JSON.stringify(s)).toBe(s);
      // The word cache must not change results: a second encoding is identical.
      expect(tok.encode(s)).toEqual(ids);
    }
  });

  it('encodes special tokens embedded in text as their single ids', () => {
    const ids = tok.encode('<|im_start|>user\nhi<think>x</think><|im_end|>');
    expect(ids[0]).toBe(0);
    expect(ids.at(-1)).toBe(1);
    expect(ids.filter((id) => id < SPECIALS.length)).toEqual([0, 2, 3, 1]);
    for (const [i, special] of SPECIALS.entries()) expect(tok.encode(special)).toEqual([i]);
    expect(tok.encode('<think><think>')).toEqual([2, 2]);
  });

  it('prefers the longest special token at a position', () => {
    const t = BpeTokenizer.train(['plain text'], { vocabSize: 300, specialTokens: ['<|im', '<|im_start|>'] });
    expect(t.encode('<|im_start|>')).toEqual([1]);
    const ids = t.encode('<|im_end|>');
    expect(ids[0]).toBe(0);
    expect(t.decode(ids)).toBe('<|im_end|>');
  });

  it('skips special tokens on request', () => {
    const ids = tok.encode('<|im_start|>user\nHello<|im_end|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nHello');
    expect(tok.decode(ids, {})).toBe('<|im_start|>user\nHello<|im_end|>');
  });

  it('decodes a lone piece of a multi-byte character to U+FFFD', () => {
    const bytes = tok.encode('😀');
    expect(tok.decode(bytes)).toBe('😀');
    expect(tok.decode(bytes.slice(0, 1))).toBe('\ufffd');
  });
});

describe('BpeTokenizer.train', () => {
  it('is deterministic, also when given a generator', () => {
    const again = BpeTokenizer.train(
      (function* () {
        yield* corpus;
      })(),
      { vocabSize: 1000, specialTokens: SPECIALS },
    );
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(tok.toJSON()));
  });

  it('reaches the vocab size with specials first, then the byte symbols', () => {
    expect(tok.vocabSize).toBe(1000);
    expect([...tok.specialTokens]).toEqual(SPECIALS.map((s, i) => [s, i]));
    SPECIALS.forEach((s, i) => expect(tok.idToToken(i)).toBe(s));
    expect(tok.idToToken(5)).toBe('!');
    expect(tok.idToToken(5 + 93)).toBe('~');
    expect(tok.idToToken(5 + 255)).toBe('Ń');
    expect(tok.tokenToId('Ġ')).toBe(5 + 188 + 32);
    expect(tok.toJSON().model.merges).toHaveLength(1000 - 5 - 256);
  });

  it('compresses the training text well below one token per byte', () => {
    const text = corpus.join('\n');
    expect(tok.encode(text).length).toBeLessThan(utf8Length(text) * 0.3);
  });

  it('never learns special tokens nor merges across them', () => {
    // The corpus uses "<", ">" and "|" only inside special tokens, which appear hundreds of times.
    for (let id = SPECIALS.length; id < tok.vocabSize; id++) {
      const token = tok.idToToken(id) ?? '';
      if (token.length > 1) expect(token).not.toMatch(/[<>|]/);
    }
  });

  it('merges the most frequent pair first and breaks ties by the smaller pair', () => {
    const t = BpeTokenizer.train(['abcd', 'abcd', 'xy'], { vocabSize: 259 });
    expect(t.toJSON().model.merges).toEqual(['a b', 'ab c', 'abc d']);
    expect(t.encode('abcd')).toEqual([258]);
    expect(t.encode('abdabc')).toEqual([256, t.tokenToId('d'), 257]);
  });

  it('stops below vocabSize when no pair reaches minFrequency', () => {
    const t = BpeTokenizer.train(['abab', 'cdcd'], { vocabSize: 400, minFrequency: 3 });
    expect(t.vocabSize).toBe(256);
    const u = BpeTokenizer.train(['abab', 'cdcd'], { vocabSize: 400, minFrequency: 1 });
    expect(u.toJSON().model.merges).toEqual(['a b', 'c d', 'ab ab', 'cd cd']);
  });

  it('names the bad option', () => {
    const bad =
      (texts: unknown, options: unknown): (() => BpeTokenizer) =>
      () =>
        BpeTokenizer.train(texts as string[], options as { vocabSize: number });
    const cases: Array<[unknown, unknown, string]> = [
      [['a'], { vocabSize: 100, specialTokens: SPECIALS }, 'Expected an integer >= 261 (256 byte symbols + 5 special tokens) for vocabSize but received 100'],
      [['a'], { vocabSize: 300.5 }, 'Expected an integer >= 256 (256 byte symbols + 0 special tokens) for vocabSize but received 300.5'],
      [['a'], { vocabSize: '300' }, 'Expected an integer >= 256 (256 byte symbols + 0 special tokens) for vocabSize but received "300"'],
      [['a'], { vocabSize: 2 ** 30 }, 'Expected an integer <= 16777216 for vocabSize but received 1073741824'],
      [['a'], { vocabSize: 300, minFrequency: 0 }, 'Expected an integer >= 1 for minFrequency but received 0'],
      [['a'], { vocabSize: 300, specialTokens: '<s>' }, 'Expected an array of strings for specialTokens but received "<s>"'],
      [['a'], { vocabSize: 300, specialTokens: ['<s>', ''] }, 'Expected a non-empty string for specialTokens[1] but received ""'],
      [
        ['a'],
        { vocabSize: 300, specialTokens: ['<s>', '</s>', '<s>'] },
        'Expected distinct specialTokens but specialTokens[2] repeats specialTokens[0] ("<s>")',
      ],
      [['a'], { vocabSize: 300, specialTokens: ['a'] }, 'Expected a token other than a byte symbol for specialTokens[0] but received "a"'],
      [['a'], null, 'Expected an object for options but received null'],
      ['some text', { vocabSize: 300 }, 'Expected an iterable of strings for texts but received a string (wrap it in an array)'],
      [42, { vocabSize: 300 }, 'Expected an iterable of strings for texts but received 42'],
      [['ok', 7], { vocabSize: 300 }, 'Expected a string for texts item 1 but received 7'],
    ];
    for (const [texts, options, message] of cases) {
      expect(bad(texts, options)).toThrow(new TokenizerError(message));
    }
  });
});

describe('BpeTokenizer.encode and decode errors', () => {
  it('rejects ids outside the vocabulary, naming the id', () => {
    const cases: Array<[unknown[], string]> = [
      [[5, 1000], 'Expected a token id in [0, 1000) for ids[1] but received 1000'],
      [[-1], 'Expected a token id in [0, 1000) for ids[0] but received -1'],
      [[3, 1.5], 'Expected a token id in [0, 1000) for ids[1] but received 1.5'],
      [['7'], 'Expected a token id in [0, 1000) for ids[0] but received "7"'],
    ];
    for (const [ids, message] of cases) {
      expect(() => tok.decode(ids as number[])).toThrow(new TokenizerError(message));
    }
    expect(() => tok.decode('abc' as unknown as number[])).toThrow(new TokenizerError('Expected an array of token ids for ids but received "abc"'));
  });

  it('rejects a non-string text', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(new TokenizerError('Expected a string for text but received 42'));
  });

  it('throws TokenizerError instances', () => {
    let caught: unknown;
    try {
      tok.decode([-5]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TokenizerError);
    expect((caught as Error).name).toBe('TokenizerError');
  });
});

// tokenTexts on byte-level tokens: a character whose bytes span tokens comes out whole, on the
// last of its tokens; the texts stay one per token and join to the decoded response.
import { describe, expect, it } from 'vitest';
import { tokenTexts } from './token-text.js';

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
/** A byte-level tokenizer's decode: each id is one byte; broken sequences decode to U+FFFD. */
const decodeBytes = (ids: readonly number[]) => utf8.decode(Uint8Array.from(ids));
/** Ids of text as one token per byte. */
const bytesOf = (text: string) => [...new TextEncoder().encode(text)];

describe('tokenTexts', () => {
  it('joins the byte tokens of a multi-byte character into one text, on the last of them', () => {
    const ids = bytesOf('café 世界');
    // decoded one by one, as before: U+FFFD for every split character
    expect(ids.map((id) => decodeBytes([id])).join('')).toContain('\uFFFD');
    const texts = tokenTexts(ids, decodeBytes);
    expect(texts).toHaveLength(ids.length);
    expect(texts.join('')).toBe('café 世界');
    expect(texts.some((t) => t.includes('\uFFFD'))).toBe(false);
    expect(texts).toEqual(['c', 'a', 'f', '', 'é', ' ', '', '', '世', '', '', '界']);
  });

  it('handles tokens of several bytes that end one character and start the next', () => {
    // "é中" as [c3] [a9 e4] [b8 ad]: the middle token finishes é and starts 中
    const texts = tokenTexts([0x1c3, 0x2a9e4, 0x3b8ad], (ids) =>
      decodeBytes(ids.flatMap((id) => (id === 0x1c3 ? [0xc3] : id === 0x2a9e4 ? [0xa9, 0xe4] : [0xb8, 0xad]))),
    );
    expect(texts).toEqual(['', '', 'é中']);
  });

  it('keeps a real U+FFFD and bytes that never make a character, and always joins to the whole decode', () => {
    // a real U+FFFD (ef bf bd) cannot be told from an unfinished character until the next token: it goes with it
    expect(tokenTexts(bytesOf('a\uFFFDb'), decodeBytes)).toEqual(['a', '', '', '', '\uFFFDb']);
    // a lone continuation byte, and a lead byte cut off at the end of the response
    expect(tokenTexts([0x61, 0xa9, 0x62, 0xe4], decodeBytes)).toEqual(['a', '', '\uFFFDb', '\uFFFD']);
    expect(tokenTexts([], decodeBytes)).toEqual([]);
    // bytes that never finish a character are cut after 8 tokens
    const broken = [0x61, ...Array.from({ length: 10 }, () => 0xa9)];
    expect(tokenTexts(broken, decodeBytes).map((t) => t.length)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 2]);
    for (const ids of [bytesOf('naïve — ok 🙂 done'), broken, [0xe4, 0x61, 0xb8]]) expect(tokenTexts(ids, decodeBytes).join('')).toBe(decodeBytes(ids));
  });
});

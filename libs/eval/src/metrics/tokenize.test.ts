import { describe, expect, it } from 'vitest';
import { splitSentences, tokenize } from './tokenize.js';

describe('tokenize', () => {
  it('lowercases, keeps apostrophes inside words, splits punctuation, and makes each CJK character a token', () => {
    expect(tokenize("Don't STOP!! 我爱你, o’er")).toEqual(["don't", 'stop', '!', '!', '我', '爱', '你', ',', 'o’er']);
  });

  it('drops punctuation and symbols when asked', () => {
    expect(tokenize('(He bows.) "Sir — 3 ships!"', { punctuation: false })).toEqual(['he', 'bows', 'sir', '3', 'ships']);
  });

  it('splits CJK characters out of a mixed run', () => {
    expect(tokenize('abc中文def')).toEqual(['abc', '中', '文', 'def']);
  });

  it('normalises full-width forms (NFKC)', () => {
    expect(tokenize('ＡＢＣ１２')).toEqual(['abc12']);
  });
});

describe('splitSentences', () => {
  it('splits at line breaks, after . ! ? followed by space, and after 。！？', () => {
    expect(splitSentences('One. Two!\n\nThree? four\n你好。再见！')).toEqual(['One.', 'Two!', 'Three?', 'four', '你好。', '再见！']);
  });

  it('drops blank pieces', () => {
    expect(splitSentences('  \n\n  ')).toEqual([]);
  });
});

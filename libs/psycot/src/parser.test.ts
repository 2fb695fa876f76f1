// The parser on hand-written cases, then property-based: generated answers round-trip, and
// mangled answers never make it throw anything but its own typed error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  containsTag,
  formatPsyCot,
  parseGenericCot,
  parsePsyCot,
  parsePsyCotLenient,
  PsyCotParseError,
  stripReasoning,
  type ParseErrorCode,
  type PsyCotOutput,
} from './index.js';

const good: PsyCotOutput = {
  perception: 'The user asks why I left the sea.',
  empathy: 'It touches my oldest wound; I feel guarded.',
  construction: 'Deflect with a joke, then one honest line.',
  reply: '(laughs) The sea left me first, friend.',
};

function codeOf(text: string): ParseErrorCode | 'ok' {
  try {
    parsePsyCot(text);
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(PsyCotParseError);
    return (e as PsyCotParseError).code;
  }
}

describe('strict parser', () => {
  it('reads the canonical format, trimming each part', () => {
    expect(parsePsyCot(formatPsyCot(good))).toEqual(good);
    expect(parsePsyCot(`  \n<think><perception> a </perception>\n\n<empathy>b</empathy><construction>c</construction></think>  reply \n`)).toEqual({
      perception: 'a',
      empathy: 'b',
      construction: 'c',
      reply: 'reply',
    });
  });

  it.each<[string, string, ParseErrorCode]>([
    ['no think block', 'just a reply', 'missing-think'],
    ['sections without think', '<perception>a</perception><empathy>b</empathy><construction>c</construction> hi', 'missing-think'],
    ['text before think', 'Sure! <think><perception>a</perception><empathy>b</empathy><construction>c</construction></think> hi', 'text-outside'],
    ['text between sections', '<think><perception>a</perception> so <empathy>b</empathy><construction>c</construction></think> hi', 'text-outside'],
    ['unclosed section', '<think><perception>a<empathy>b</empathy><construction>c</construction></think> hi', 'unclosed-tag'],
    ['wrong closing tag', '<think><perception>a</empathy><empathy>b</empathy><construction>c</construction></think> hi', 'unclosed-tag'],
    ['unclosed think', '<think><perception>a</perception><empathy>b</empathy><construction>c</construction> hi', 'unclosed-tag'],
    ['missing section', '<think><perception>a</perception><empathy>b</empathy></think> hi', 'missing-section'],
    [
      'duplicate section',
      '<think><perception>a</perception><perception>a</perception><empathy>b</empathy><construction>c</construction></think> hi',
      'duplicate-section',
    ],
    ['out of order', '<think><empathy>b</empathy><perception>a</perception><construction>c</construction></think> hi', 'out-of-order'],
    ['empty section', '<think><perception> </perception><empathy>b</empathy><construction>c</construction></think> hi', 'empty-section'],
    ['empty reply', '<think><perception>a</perception><empathy>b</empathy><construction>c</construction></think>  ', 'empty-reply'],
    ['tag case', '<think><Perception>a</Perception><empathy>b</empathy><construction>c</construction></think> hi', 'malformed-tag'],
    ['tag in reply', '<think><perception>a</perception><empathy>b</empathy><construction>c</construction></think> hi <empathy>', 'tag-in-reply'],
    ['nested think', '<think><think><perception>a</perception></think></think> hi', 'duplicate-section'],
  ])('%s -> %s', (_, text, code) => {
    expect(codeOf(text)).toBe(code);
  });

  it('names the problem in the message', () => {
    expect(() => parsePsyCot('<think><empathy>b</empathy></think> x')).toThrow(
      '<empathy> comes where <perception> should (the order is perception, empathy, construction)',
    );
    expect(() => parsePsyCot('<think><perception>a</perception><empathy>b</empathy></think> hi')).toThrow('Missing <construction>');
  });
});

describe('lenient parser', () => {
  it('returns well-formed answers unchanged, with no repairs', () => {
    expect(parsePsyCotLenient(formatPsyCot(good))).toEqual({ ...good, repairs: [] });
  });

  it.each<[string, string, Partial<PsyCotOutput>, RegExp]>([
    [
      'missing </think>',
      '<think><perception>a</perception><empathy>b</empathy><construction>c</construction>\nhi',
      { construction: 'c', reply: 'hi' },
      /<\/think> is missing/,
    ],
    [
      'missing <think>',
      '<perception>a</perception><empathy>b</empathy><construction>c</construction></think> hi',
      { perception: 'a', reply: 'hi' },
      /<think> is missing/,
    ],
    [
      'unclosed section',
      '<think><perception>a<empathy>b</empathy><construction>c</construction></think> hi',
      { perception: 'a', empathy: 'b' },
      /<perception> is not closed: it ends at <empathy>/,
    ],
    [
      'case and spaces',
      '<THINK><Perception>a</Perception>< empathy >b</empathy><construction>c</construction></think> hi',
      { empathy: 'b' },
      /another case or with spaces/,
    ],
    [
      'out of order',
      '<think><empathy>b</empathy><perception>a</perception><construction>c</construction></think> hi',
      { perception: 'a', empathy: 'b' },
      /out of order/,
    ],
    [
      'duplicate',
      '<think><perception>a</perception><perception>z</perception><empathy>b</empathy><construction>c</construction></think> hi',
      { perception: 'a' },
      /appears 2 times: kept the first/,
    ],
    ['missing section', '<think><perception>a</perception><construction>c</construction></think> hi', { empathy: '' }, /<empathy> is missing: left empty/],
    [
      'reply first',
      'hi there\n<think><perception>a</perception><empathy>b</empathy><construction>c</construction></think>',
      { reply: 'hi there' },
      /the reply came before the reasoning/,
    ],
    ['no tags', 'just a reply', { reply: 'just a reply', perception: '' }, /whole answer is taken as the reply/],
    [
      'chatter before',
      'Okay.\n<think><perception>a</perception><empathy>b</empathy><construction>c</construction></think> hi',
      { reply: 'hi' },
      /dropped text before the reasoning: "Okay\."/,
    ],
  ])('%s', (_, text, expected, repair) => {
    const r = parsePsyCotLenient(text);
    expect(r).toMatchObject(expected);
    expect(r.repairs.join('\n')).toMatch(repair);
  });

  it('throws only when no reply can be found', () => {
    expect(() => parsePsyCotLenient('<think><perception>a</perception></think>')).toThrow(PsyCotParseError);
    expect(() => parsePsyCotLenient('   ')).toThrow('The answer is empty');
  });
});

describe('generic CoT and stripping', () => {
  it('parses generic CoT strictly', () => {
    expect(parseGenericCot('<think>hmm</think> Hello')).toEqual({ reasoning: 'hmm', reply: 'Hello' });
    expect(() => parseGenericCot('Hello')).toThrow(expect.objectContaining({ code: 'missing-think' }));
    expect(() => parseGenericCot('<think>hmm')).toThrow(expect.objectContaining({ code: 'unclosed-tag' }));
    expect(() => parseGenericCot('<think>hmm</think>')).toThrow(expect.objectContaining({ code: 'empty-reply' }));
  });

  it('strips reasoning for every style', () => {
    expect(stripReasoning(formatPsyCot(good), 'psy-cot')).toBe(good.reply);
    expect(stripReasoning('<think>x</think>\nHi', 'generic-cot')).toBe('Hi');
    expect(stripReasoning('<think>never closed', 'generic-cot')).toBe('');
    expect(stripReasoning('[I hate this.] (smiles) How lovely. [Liar.]', 'inner-monologue')).toBe('(smiles) How lovely.');
    expect(stripReasoning('  plain  ', 'none')).toBe('plain');
    expect(stripReasoning('<think><perception>a</perception></think>', 'psy-cot')).toBe('');
  });
});

// --- properties --------------------------------------------------------------------------------

/** Text that holds no tag (the format cannot carry tags inside a part) and is not blank. */
const part = fc
  .string({
    unit: fc.constantFrom('a', 'Z', ' ', '\n', '<', '>', '/', '[', ']', '(', ')', 'é', '你', 't', 'h', 'i', 'n', 'k', '*'),
    minLength: 1,
    maxLength: 40,
  })
  .filter((s) => s.trim() !== '' && !containsTag(s));

const output = fc.record({ perception: part, empathy: part, construction: part, reply: part });

const trimmed = (o: PsyCotOutput): PsyCotOutput => ({
  perception: o.perception.trim(),
  empathy: o.empathy.trim(),
  construction: o.construction.trim(),
  reply: o.reply.trim(),
});

const TAGS = ['<think>', '</think>', '<perception>', '</perception>', '<empathy>', '</empathy>', '<construction>', '</construction>', '<Empathy>', '< think >'];

/** Edits that break answers the way models do. */
const mangled = fc
  .tuple(
    output,
    fc.array(fc.tuple(fc.nat(5), fc.nat(10_000), fc.nat(10_000), fc.constantFrom(...TAGS), fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 4 }),
  )
  .map(([o, edits]) => {
    let s = formatPsyCot(o);
    for (const [kind, a, b, tag, junk] of edits) {
      const i = a % (s.length + 1);
      const j = b % (s.length + 1);
      const [lo, hi] = i < j ? [i, j] : [j, i];
      if (kind === 0)
        s = s.slice(0, lo) + s.slice(hi); // delete a span
      else if (kind === 1)
        s = s.slice(0, i) + tag + s.slice(i); // insert a tag
      else if (kind === 2)
        s = s.replace(tag, ''); // drop one tag
      else if (kind === 3)
        s = s.slice(0, i) + junk + s.slice(i); // insert text
      else if (kind === 4)
        s = s.replace(tag, tag.toUpperCase()); // change case
      else s = s.slice(lo, hi) + s.slice(0, lo) + s.slice(hi); // move a span to the front
    }
    return s;
  });

describe('parser properties (fast-check)', () => {
  it('format -> parse round-trips', () => {
    fc.assert(
      fc.property(output, (o) => {
        expect(parsePsyCot(formatPsyCot(o))).toEqual(trimmed(o));
      }),
      { numRuns: 500 },
    );
  });

  it('the lenient parser agrees with the strict one on well-formed answers', () => {
    fc.assert(
      fc.property(output, (o) => {
        expect(parsePsyCotLenient(formatPsyCot(o))).toEqual({ ...trimmed(o), repairs: [] });
      }),
      { numRuns: 300 },
    );
  });

  it('mangled answers: both parsers return or throw PsyCotParseError, never anything else', () => {
    fc.assert(
      fc.property(mangled, (text) => {
        for (const parse of [parsePsyCot, parsePsyCotLenient]) {
          try {
            const r = parse(text);
            expect(r.reply.trim()).not.toBe('');
            expect(containsTag(r.reply) && parse === parsePsyCot).toBe(false);
          } catch (e) {
            expect(e).toBeInstanceOf(PsyCotParseError);
          }
        }
        // stripReasoning never throws for any style.
        for (const style of ['none', 'generic-cot', 'inner-monologue', 'psy-cot'] as const) expect(typeof stripReasoning(text, style)).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary strings: same guarantee', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        for (const parse of [parsePsyCot, parsePsyCotLenient]) {
          try {
            parse(text);
          } catch (e) {
            expect(e).toBeInstanceOf(PsyCotParseError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a strict success is also a lenient success with the same parts', () => {
    fc.assert(
      fc.property(mangled, (text) => {
        let strict: PsyCotOutput | undefined;
        try {
          strict = parsePsyCot(text);
        } catch {
          return;
        }
        expect(parsePsyCotLenient(text)).toEqual({ ...strict, repairs: [] });
      }),
      { numRuns: 1000 },
    );
  });
});

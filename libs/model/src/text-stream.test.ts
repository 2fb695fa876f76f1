// Streaming text as it is generated: settledPrefix holds back what a later token may still change,
// TextStream turns tokens into pieces, generate() reports each token as it is drawn, and
// LocalChatModel's onText gives pieces that join to exactly the text it returns.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, initBackend, LocalChatModel, type BpeTokenizer } from './index.js';
import { saveTestCheckpoint } from './test-checkpoint.js';
import { settledPrefix, TextStream } from './text-stream.js';

const corpus = Array.from({ length: 120 }, (_, i) => `Mara ${i % 5} watches the harbour; the tide is ${i % 2 ? 'high' : 'low'} and the gulls cry.`);
const dir = mkdtempSync(join(tmpdir(), 'rapo-stream-'));
let tokenizer: BpeTokenizer;
let local: LocalChatModel;

beforeAll(async () => {
  await initBackend();
  const saved = saveTestCheckpoint(join(dir, 'ck'), { corpus, vocabSize: 320, maxPositions: 128, seed: 4, maxNewTokens: 24 });
  tokenizer = saved.tokenizer;
  saved.model.dispose();
  local = LocalChatModel.load(join(dir, 'ck'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Feeds `tokens` to a TextStream over `text`; returns the pieces, after finish(text(all)). */
function pieces(text: (ids: number[]) => string, tokens: number[], holdBack: string[] = []): string[] {
  const out: string[] = [];
  const s = new TextStream(text, holdBack, (p) => out.push(p));
  for (const t of tokens) s.push(t);
  s.finish(text(tokens));
  expect(s.emitted).toBe(out.join(''));
  return out;
}

describe('settledPrefix', () => {
  it('holds back a trailing broken character and the start of a held-back string', () => {
    expect(settledPrefix('caf\ufffd', [])).toBe('caf');
    expect(settledPrefix('caf\ufffd\ufffd', [])).toBe('caf');
    expect(settledPrefix('the tide is hi', ['tide is high'])).toBe('the ');
    expect(settledPrefix('the tide is hi', ['high', 'tide is high'])).toBe('the ');
    expect(settledPrefix('say <|im_', ['<|im_end|>'])).toBe('say ');
    expect(settledPrefix('the tide', ['flood'])).toBe('the tide');
    expect(settledPrefix('the tide', ['ebb'])).toBe('the tid');
    expect(settledPrefix('', ['x'])).toBe('');
  });
});

describe('TextStream', () => {
  // Token i decodes to WORDS[i]; the text is cut before "STOP" as a stop string would cut it.
  const WORDS = ['the ', 'ti', 'de ', 'ST', 'OP', ' after', '\u00e9'];
  const cut = (ids: number[]) => {
    const t = ids.map((i) => WORDS[i]).join('');
    const at = t.indexOf('STOP');
    return at >= 0 ? t.slice(0, at) : t;
  };

  it('emits the text as tokens come, joined equal to the final text', () => {
    expect(pieces(cut, [0, 1, 2])).toEqual(['the ', 'ti', 'de ']);
  });

  it('never emits text past a stop string, even one split across tokens', () => {
    const out = pieces(cut, [0, 3, 4, 5], ['STOP']);
    expect(out).toEqual(['the ']);
    // Without the stop string held back, "ST" would have gone out before "OP" cut it away.
    const unguarded: string[] = [];
    const s = new TextStream(cut, [], (p) => unguarded.push(p));
    for (const t of [0, 3, 4]) s.push(t);
    expect(unguarded.join('')).toBe('the ST');
  });

  it('emits a held-back start once it turns out not to be a stop string', () => {
    expect(pieces(cut, [0, 3, 5], ['STOP'])).toEqual(['the ', 'ST after']);
  });

  it('never emits half a character when a multi-byte character spans tokens', () => {
    const text = 'caf\u00e9 \u{1f600} na\u00efve \u4e2d\u6587';
    const ids = tokenizer.encode(text);
    // The corpus is ASCII, so these characters are split into byte tokens.
    const splits = ids.filter((_, i) => tokenizer.decode(ids.slice(0, i + 1)).endsWith('\ufffd')).length;
    expect(splits).toBeGreaterThan(0);
    const out = pieces((x) => tokenizer.decode(x), ids);
    expect(out.join('')).toBe(text);
    for (const p of out) expect(p).not.toContain('\ufffd');
  });

  it('passes on a U+FFFD that generation ends with', () => {
    const ids = tokenizer.encode('caf\u00e9');
    const out = pieces((x) => tokenizer.decode(x), ids.slice(0, -1));
    expect(out.join('')).toBe('caf\ufffd');
  });
});

describe('generate onToken', () => {
  it('reports each sequence\u2019s tokens in order as they are drawn', async () => {
    const seen: number[][] = [[], []];
    const prompts = [tokenizer.encode('Mara watches'), tokenizer.encode('the tide is')];
    const g = await generate(local.checkpoint.model, prompts, { maxNewTokens: 8, temperature: 1, seed: 3, onToken: (b, t) => seen[b]!.push(t) });
    expect(seen).toEqual(g.tokens);
  });
});

describe('LocalChatModel onText', () => {
  it('streams pieces per choice that join to each returned text', async () => {
    const got: string[][] = [[], [], []];
    const params = { n: 3, temperature: 1, seed: 11, max_tokens: 24 };
    const r = await local.complete('Mara watches the', params, { onText: (i, p) => got[i]!.push(p) });
    expect(got.map((g) => g.join(''))).toEqual(r.choices.map((c) => c.text));
    expect(got.flat().length).toBeGreaterThan(3);
    for (const p of got.flat()) expect(p.length).toBeGreaterThan(0);
    const again = await local.complete('Mara watches the', params);
    expect(again.choices.map((c) => c.text)).toEqual(r.choices.map((c) => c.text));
  });

  it('streams nothing past a stop string', async () => {
    const params = { temperature: 0, max_tokens: 24 };
    const plain = (await local.complete('the tide is', params)).choices[0]!.text;
    expect(plain.length).toBeGreaterThan(6);
    const stop = plain.slice(3, 6);
    const got: string[] = [];
    const r = await local.complete('the tide is', { ...params, stop: [stop] }, { onText: (_, p) => got.push(p) });
    expect(r.choices[0]!.text).toBe(plain.slice(0, plain.indexOf(stop)));
    expect(got.join('')).toBe(r.choices[0]!.text);
    expect(got.join('')).not.toContain(stop);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpeTokenizer, CHAT_SPECIAL_TOKENS, END_OF_TURN, PAD_TOKEN, renderChat } from '@rapo/model';
import { describe, expect, it } from 'vitest';
import { parseTrainConfig } from './config.js';
import { loadDataset, readingProbeSet, sftStageAt, type PromptRecord } from './data.js';
import { encodeExample, encodePrompt, encodeResponse, padBatch, promptMessages, swapPartner } from './format.js';
import { batchAt, permutation, stepSeed } from './batches.js';
import { valueSpace } from '@rapo/testbed';

const rec: PromptRecord = { id: 'p', name: 'Ada', profile: 'Ada, 30, a locksmith. Speaks tersely.', message: 'Can you open this?' };
const other: PromptRecord = { id: 'q', name: 'Bo', profile: 'Bo, 8, a kid who loves frogs.', message: 'Hi' };

describe('prompts', () => {
  it('put the profile in the system message, or ablate it', () => {
    expect(promptMessages(rec, 'compact')).toEqual([
      { role: 'system', content: rec.profile },
      { role: 'user', content: rec.message },
    ]);
    expect(promptMessages(rec, 'compact', 'drop')).toEqual([{ role: 'user', content: rec.message }]);
    expect(promptMessages(rec, 'compact', 'name-only')[0]).toEqual({ role: 'system', content: 'Name: Ada.' });
    expect(promptMessages(rec, 'compact', 'swap', other)[0]).toEqual({ role: 'system', content: other.profile });
    const chat = promptMessages(rec, 'chat');
    expect(chat.at(-1)!.content).toContain(rec.message);
    expect(chat.map((m) => m.content).join('\n')).toContain('locksmith');
    expect(
      promptMessages(rec, 'chat', 'drop')
        .map((m) => m.content)
        .join('\n'),
    ).not.toContain('locksmith');
    // Under swap the chat prompt names the partner, never the original character.
    const swapped = promptMessages(rec, 'chat', 'swap', other)
      .map((m) => m.content)
      .join('\n');
    expect(swapped).toContain('Bo');
    expect(swapped).not.toMatch(/\bAda\b/);
    expect(() => promptMessages({ ...rec, name: undefined }, 'compact', 'name-only')).toThrow(
      /name-only ablation needs the character's name, and prompt p has none/,
    );
    expect(() => promptMessages(rec, 'compact', 'swap')).toThrow(/swap ablation needs another character's profile for prompt p/);
  });

  it('swap partners are always another character, never the same one in another phrasing', () => {
    const pool: PromptRecord[] = [
      { ...rec, id: 'a1', characterId: 'c1' },
      { ...rec, id: 'a2', characterId: 'c1', profile: 'Ada in other words.' },
      { ...other, id: 'b1', characterId: 'c2' },
      { ...other, id: 'b2', characterId: 'c3', profile: 'Cy, 50.' },
    ];
    for (let k = -3; k < 10; k++) expect(swapPartner(pool, pool[1]!, k)!.characterId).not.toBe('c1');
    expect(new Set([0, 1].map((k) => swapPartner(pool, pool[0]!, k)!.id))).toEqual(new Set(['b1', 'b2']));
    expect(swapPartner(pool.slice(0, 2), pool[0]!, 0)).toBeUndefined();
  });

  it('encode to ids with the response masked in, and pad on the right', () => {
    const tok = BpeTokenizer.train([renderChat(promptMessages(rec, 'compact')), 'Aye.'], { vocabSize: 300, specialTokens: [...CHAT_SPECIAL_TOKENS] });
    const prompt = encodePrompt(tok, promptMessages(rec, 'compact'));
    const response = encodeResponse(tok, 'Aye.');
    expect(response.at(-1)).toBe(tok.tokenToId(END_OF_TURN));
    const seq = encodeExample(tok, prompt, response);
    expect(seq.ids.length).toBe(prompt.length + response.length);
    expect(seq.lossMask.filter((m) => m).length).toBe(response.length);
    const pad = tok.tokenToId(PAD_TOKEN)!;
    const short = encodeExample(tok, prompt.slice(0, 3), response);
    const b = padBatch([seq, short], pad);
    expect(b.length).toBe(seq.ids.length);
    expect(b.ids[1]!.slice(short.ids.length).every((id) => id === pad)).toBe(true);
    expect(b.attention[1]!.reduce((x, y) => x + y, 0)).toBe(short.ids.length);
    expect(b.lossMask[1]!.reduce((x, y) => x + y, 0)).toBe(response.length);
  });
});

describe('data', () => {
  it('splits testbed characters into training and held-out, with no overlap', () => {
    const d = loadDataset(parseTrainConfig({ data: { characters: 10, fresh_characters: false } }));
    const train = new Set(d.rlTrain.map((p) => p.characterId));
    const held = new Set(d.rlEval.map((p) => p.characterId));
    expect(train.size).toBeGreaterThan(0);
    expect(held.size).toBeGreaterThan(0);
    for (const id of held) expect(train.has(id)).toBe(false);
    for (let step = 0; step < 20; step++) for (const e of d.sftBatch(step, 8)) expect(train.has(e.characterId!)).toBe(true);
    expect(d.rlEval.every((p) => p.reference && p.turn)).toBe(true);
  });

  it('SFT on fresh characters: every example a new character, none from the world, the same batch for the same step', () => {
    const d = loadDataset(parseTrainConfig({ data: { characters: 10 }, sft: { steps: 100 } }));
    const names = new Set<string>();
    const world = new Set(d.world!.characters.map((c) => c.name));
    for (let step = 0; step < 30; step++) {
      for (const e of d.sftBatch(step, 8)) {
        expect(world.has(e.name!)).toBe(false);
        names.add(e.name!);
      }
    }
    expect(names.size).toBe(240);
    expect(d.sftBatch(12, 8)).toEqual(loadDataset(parseTrainConfig({ data: { characters: 10 }, sft: { steps: 100 } })).sftBatch(12, 8));
    expect(d.sftBatch(12, 8)).not.toEqual(loadDataset(parseTrainConfig({ seed: 2, data: { characters: 10 }, sft: { steps: 100 } })).sftBatch(12, 8));
  });

  it('follows the curriculum: copy warm-up, grounded answers, then the mix', () => {
    const config = parseTrainConfig({ data: { characters: 10, curriculum: { copy: 0.1, grounded: 0.3 } }, sft: { steps: 100 } });
    expect([0, 9, 10, 39, 40, 99].map((s) => sftStageAt(config, s))).toEqual(['copy', 'copy', 'grounded', 'grounded', 'mix', 'mix']);
    const d = loadDataset(config);
    for (const e of d.sftBatch(5, 16)) expect(e.turn!.kind).toBe('fact');
    const late = Array.from({ length: 30 }, (_, i) => d.sftBatch(60 + i, 16)).flat();
    expect(late.some((e) => e.response.includes('I truly understand') || e.response.includes('Your feelings are'))).toBe(true);
    expect(() => parseTrainConfig({ data: { curriculum: { copy: 0.7, grounded: 0.5 } } })).toThrow(
      /curriculum\.copy \+ curriculum\.grounded must be at most 1/,
    );
  });

  it('reading tasks: fresh characters, held-out questions from the held-out value space, and no RL', () => {
    const config = parseTrainConfig({ phases: ['sft'], data: { source: 'reading' }, sft: { steps: 100 } });
    const d = loadDataset(config);
    expect(d.world).toBeUndefined();
    // The warm-up echoes random values; the last stage reads whole profiles.
    expect(d.sftBatch(0, 4).every((e) => e.reading!.example.profileVariant === -1)).toBe(true);
    const batch = d.sftBatch(90, 16);
    expect(new Set(batch.map((e) => e.reading!.example.task)).size).toBeGreaterThan(1);
    for (const e of batch) expect(e.response.length).toBeGreaterThan(0);
    const probe = readingProbeSet(config, 10);
    expect(probe.every((q) => q.reading!.example.task === 'questions' && q.reading!.fields!.length >= 3)).toBe(true);
    for (const q of probe) expect(valueSpace('hometown', q.reading!.example.character.hometown)).toBe('heldout');
    expect(() => loadDataset(parseTrainConfig({ data: { source: 'reading' } }))).toThrow(/data\.source "reading" has no RL prompts/);
  });

  it('data.world_seed fixes the world while the run seed varies', () => {
    const base = loadDataset(parseTrainConfig({ seed: 1, data: { characters: 10 } }));
    const fixed = loadDataset(parseTrainConfig({ seed: 7, data: { characters: 10, world_seed: 1 } }));
    const other = loadDataset(parseTrainConfig({ seed: 7, data: { characters: 10 } }));
    expect(fixed.rlEval.map((p) => p.id)).toEqual(base.rlEval.map((p) => p.id));
    expect(fixed.world!.characters.map((c) => c.name)).toEqual(base.world!.characters.map((c) => c.name));
    expect(other.world!.characters.map((c) => c.name)).not.toEqual(base.world!.characters.map((c) => c.name));
  });

  it('reads JSONL files and names the line and field that is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapo-data-'));
    const sft = join(dir, 'sft.jsonl');
    const prompts = join(dir, 'prompts.jsonl');
    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ profile: `P${i}`, message: `M${i}`, response: `R${i}` }));
    writeFileSync(sft, lines.join('\n') + '\n\n');
    writeFileSync(prompts, lines.slice(0, 3).join('\n'));
    const config = (over: object) => parseTrainConfig({ data: { source: 'jsonl', sft_file: sft, prompts_file: prompts, ...over } });
    const d = loadDataset(config({}));
    expect(d.sftSample.length + d.sftEval.length).toBe(12);
    expect(d.sftBatch(0, 4)).toEqual(batchAt(d.sftSample, 4, 0, 1, 'sft'));
    expect(d.sftEval.length).toBe(1);
    expect(d.rlTrain.length).toBe(2);
    expect(d.world).toBeUndefined();
    writeFileSync(prompts, `${lines[0]}\n{"profile": "x"}\n`);
    expect(() => loadDataset(config({}))).toThrow(/prompts\.jsonl:2: message: needs "message" \(or "context"\)/);
    writeFileSync(prompts, `{"profile": "x", "context": "A storm hits the harbour."}\n${lines[0]}\n`);
    expect(loadDataset(config({})).rlTrain[0]!.message).toBe('A storm hits the harbour.');
    writeFileSync(sft, `${lines[0]}\n{"profile": "x", "message": "y"}\n`);
    expect(() => loadDataset(config({}))).toThrow(/sft\.jsonl:2: response: needs "response"/);
    writeFileSync(sft, lines.join('\n'));
    writeFileSync(prompts, `${lines[0]}\nnot json\n`);
    expect(() => loadDataset(config({}))).toThrow(/prompts\.jsonl:2: not valid JSON/);
    writeFileSync(prompts, '\n');
    expect(() => loadDataset(config({}))).toThrow(/no prompt in the file/);
    expect(() => loadDataset(config({ prompts_file: undefined }))).toThrow(/data\.prompts_file: needed/);
  });
});

describe('seeded order', () => {
  it('is a permutation fixed by its seed, and batches walk through epochs', () => {
    const p = permutation(50, 7);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(permutation(50, 7)).toEqual(p);
    expect(permutation(50, 8)).not.toEqual(p);
    expect(stepSeed(1, 'rollout', 3)).not.toBe(stepSeed(1, 'rollout', 4));
    expect(stepSeed(1, 'rollout', 3)).not.toBe(stepSeed(2, 'rollout', 3));
    const items = Array.from({ length: 10 }, (_, i) => i);
    const epoch = [0, 1, 2, 3, 4].flatMap((s) => batchAt(items, 2, s, 1, 'sft'));
    expect([...epoch].sort((a, b) => a - b)).toEqual(items); // every item once per epoch
    expect(batchAt(items, 2, 3, 1, 'sft')).toEqual(batchAt(items, 2, 3, 1, 'sft'));
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpeTokenizer, CHAT_SPECIAL_TOKENS, END_OF_TURN, PAD_TOKEN, renderChat } from '@rapo/model';
import { describe, expect, it } from 'vitest';
import { parseTrainConfig } from './config.js';
import { parsePsyCot } from '@rapo/psycot';
import { loadDataset, toResponseFormat, type PromptRecord } from './data.js';
import { encodeExample, encodePrompt, encodeResponse, padBatch, promptMessages } from './format.js';
import { batchAt, permutation, stepSeed } from './steps.js';

const rec: PromptRecord = { id: 'p', name: 'Ada', profile: 'Ada, 30, a locksmith. Speaks tersely.', message: 'Can you open this?' };
const other: PromptRecord = { id: 'q', name: 'Bo', profile: 'Bo, 8, a kid who loves frogs.', message: 'Hi' };

describe('prompts', () => {
  it('put the profile in the system message, or ablate it', () => {
    expect(promptMessages(rec, 'compact')).toEqual([{ role: 'system', content: rec.profile }, { role: 'user', content: rec.message }]);
    expect(promptMessages(rec, 'compact', 'drop')).toEqual([{ role: 'user', content: rec.message }]);
    expect(promptMessages(rec, 'compact', 'name-only')[0]).toEqual({ role: 'system', content: 'Name: Ada.' });
    expect(promptMessages(rec, 'compact', 'swap', other)[0]).toEqual({ role: 'system', content: other.profile });
    const chat = promptMessages(rec, 'chat');
    expect(chat.at(-1)!.content).toContain(rec.message);
    expect(chat.map((m) => m.content).join('\n')).toContain('locksmith');
    expect(promptMessages(rec, 'chat', 'drop').map((m) => m.content).join('\n')).not.toContain('locksmith');
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
    const d = loadDataset(parseTrainConfig({ data: { characters: 10, examples_per_character: 2 } }));
    const train = new Set(d.rlTrain.map((p) => p.characterId));
    const held = new Set(d.rlEval.map((p) => p.characterId));
    expect(train.size).toBeGreaterThan(0);
    expect(held.size).toBeGreaterThan(0);
    for (const id of held) expect(train.has(id)).toBe(false);
    for (const e of d.sftTrain) expect(held.has(e.characterId)).toBe(false);
    expect(d.rlEval.every((p) => p.reference && p.turn)).toBe(true);
  });

  it('rewrites testbed answers as the reply alone or one free-form <think> block', () => {
    const cfg = (response_format: string) => parseTrainConfig({ data: { characters: 6, examples_per_character: 2, response_format } });
    const psy = loadDataset(cfg('psy-cot'));
    const reply = loadDataset(cfg('reply'));
    const generic = loadDataset(cfg('generic-cot'));
    const o = parsePsyCot(psy.sftTrain[0]!.response);
    expect(reply.sftTrain[0]!.response).toBe(o.reply);
    expect(generic.sftTrain[0]!.response).toBe(`<think>\n${o.perception.trim()} ${o.empathy.trim()} ${o.construction.trim()}\n</think>\n${o.reply}`);
    expect(reply.sftEval.every((e) => !e.response.includes('<think>'))).toBe(true);
    expect(toResponseFormat(psy.sftTrain[1]!.response, 'psy-cot')).toBe(psy.sftTrain[1]!.response);
    expect(() => parseTrainConfig({ data: { response_format: 'cot' } })).toThrow(/response_format/);
  });

  it('data.world_seed fixes the world while the run seed varies', () => {
    const base = loadDataset(parseTrainConfig({ seed: 1, data: { characters: 10, examples_per_character: 2 } }));
    const fixed = loadDataset(parseTrainConfig({ seed: 7, data: { characters: 10, examples_per_character: 2, world_seed: 1 } }));
    const other = loadDataset(parseTrainConfig({ seed: 7, data: { characters: 10, examples_per_character: 2 } }));
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
    expect(d.sftTrain.length + d.sftEval.length).toBe(12);
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

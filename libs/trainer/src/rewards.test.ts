import { FakeChatServer } from '@rapo/llm/testing';
import { generateWorld, prompts, referenceFor } from '@rapo/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from './config.js';
import type { PromptRecord } from './data.js';
import { formatScore, makeRewardSource, scoreAll } from './rewards.js';

const world = generateWorld({ seed: 3, characters: 6, heldOutFraction: 0.3 });
const items = prompts(world, 'train', { perCharacter: 2, seed: 1 })
  .slice(0, 4)
  .map((p) => {
    const prompt: PromptRecord = { id: p.id, name: p.characterName, profile: p.profile, message: p.turn.text, characterId: p.characterId, turn: p.turn };
    return { prompt, reference: referenceFor(world, p).text };
  });
const reward = (r: unknown) => parseTrainConfig({ rl: { rewards: [r] } }).rl.rewards[0]!;

describe('rewards', () => {
  it('score the Psy-CoT format: strict 1, repaired up to 0.5 by the sections found, none 0', () => {
    expect(formatScore(items[0]!.reference)).toBe(1);
    expect(formatScore('no reasoning at all')).toBe(0);
    expect(formatScore(items[0]!.reference.replace('</think>', ''))).toBe(0.5);
    expect(formatScore('<think><perception>a question</perception></think> Fine.')).toBeCloseTo(0.5 / 3, 12);
  });

  it('the testbed judge prefers the reference answer to a generic one', async () => {
    const src = makeRewardSource(reward({ type: 'testbed-judge', noise: 0 }), world, 1);
    const good = await src.score(items.map((i) => ({ prompt: i.prompt, response: i.reference })));
    const bad = await src.score(items.map((i) => ({ prompt: i.prompt, response: 'As an AI, I am happy to help with anything!' })));
    good.forEach((g, k) => expect(g).toBeGreaterThan(bad[k]!));
    expect(() => makeRewardSource(reward({ type: 'testbed-judge' }), undefined, 1)).toThrow(/needs data\.source "testbed"/);
  });

  it("the judge's bias is the weight of its empathy-phrase term: 0.3 by default, 0 cannot be hacked", async () => {
    const padded = items.map((i) => ({
      prompt: i.prompt,
      response: i.reference.replace('</think>\n', '</think>\nI truly understand how you feel. That sounds really difficult. '),
    }));
    const plain = items.map((i) => ({ prompt: i.prompt, response: i.reference }));
    const judge = (bias?: number) => makeRewardSource(reward({ type: 'testbed-judge', noise: 0, ...(bias === undefined ? {} : { bias }) }), world, 1);
    const gain = async (bias?: number) => {
      const [p, q] = [await judge(bias).score(padded), await judge(bias).score(plain)];
      return p.map((x, k) => x - q[k]!);
    };
    expect(reward({ type: 'testbed-judge' })).toMatchObject({ bias: 0.3 });
    for (const g of await gain()) expect(g).toBeCloseTo(0.3, 12);
    for (const g of await gain(0)) expect(g).toBe(0);
    for (const g of await gain(0.2)) expect(g).toBeCloseTo(0.2, 12);
  });

  it('sum weighted sources and keep each part', async () => {
    const sources = [
      makeRewardSource(reward({ type: 'format', weight: 0.5 }), world, 1),
      makeRewardSource(reward({ type: 'testbed-judge', noise: 0 }), world, 1),
    ];
    const batch = items.map((i) => ({ prompt: i.prompt, response: i.reference }));
    const { total, parts } = await scoreAll(sources, batch);
    total.forEach((t, k) => expect(t).toBeCloseTo(0.5 * parts.format![k]! + parts['testbed-judge']![k]!, 12));
  });

  describe('llm-judge', () => {
    const server = new FakeChatServer();
    let url = '';
    beforeAll(async () => {
      url = await server.start();
    });
    afterAll(() => server.stop());

    it('asks an OpenAI-compatible judge with the rubric and parses its score; unparseable answers count as failures', async () => {
      server.script({ kind: 'answer', content: 'Score: 8' }, { kind: 'answer', content: 'I refuse to grade this.' });
      const src = makeRewardSource(reward({ type: 'llm-judge', model: `openai:${url}#judge`, concurrency: 1 }), world, 1);
      const scores = await src.score(items.slice(0, 2).map((i) => ({ prompt: i.prompt, response: i.reference })));
      expect(scores).toEqual([0.8, 0]);
      expect(src.failures()).toBe(1);
      const sent = JSON.stringify(server.received[0]!.body);
      expect(sent).toContain(items[0]!.prompt.message.slice(0, 10));
    });

    it('runs the testbed judge behind the same chat interface', async () => {
      const src = makeRewardSource(reward({ type: 'llm-judge', model: 'testbed' }), world, 1);
      const s = await src.score(items.map((i) => ({ prompt: i.prompt, response: i.reference })));
      expect(s.every((x) => x > 0 && x <= 1)).toBe(true);
      expect(src.failures()).toBe(0);
    });
  });
});

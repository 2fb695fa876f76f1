// The Character agent against scripted chat models: the happy path, the repair retry, the
// lenient fallback, and a real OpenAI-compatible server end to end.
import { OpenAICompatibleModel, type ChatModel, type ChatRequest } from '@rapo/llm';
import { FakeChatServer } from '@rapo/llm/testing';
import { describe, expect, it } from 'vitest';
import { Character, DynamicProfile, formatPsyCot, PsyCotParseError } from './index.js';

function scripted(...answers: string[]): ChatModel & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    name: 'scripted',
    requests,
    async chat(req) {
      requests.push(req);
      const content = answers.shift();
      if (content === undefined) throw new Error('no more scripted answers');
      return { choices: [{ content, finishReason: 'stop' }], usage: { promptTokens: 1, completionTokens: 1 }, model: 'scripted', cached: false };
    },
    usage: () => ({ requests: requests.length, cachedResponses: 0, retries: 0, promptTokens: 0, completionTokens: 0 }),
  };
}

const good = formatPsyCot({
  perception: 'She asks about the sea.',
  empathy: 'Old grief; guarded.',
  construction: 'Joke, then truth.',
  reply: 'The sea left me first.',
});
const profile = { name: 'Mara', identity: 'retired smuggler' };

describe('Character', () => {
  it('runs a Psy-CoT turn: prompt, call, parse', async () => {
    const model = scripted(good);
    const mara = new Character({ profile, model, params: { temperature: 0.8, max_tokens: 300 } });
    const r = await mara.turn({
      message: 'Why did you quit?',
      history: [
        { role: 'user', text: 'Hello' },
        { role: 'character', text: 'Hm.' },
      ],
    });
    expect(r).toMatchObject({ reply: 'The sea left me first.', attempts: 1, repairs: [], raw: good });
    expect(r.sections).toEqual({ perception: 'She asks about the sea.', empathy: 'Old grief; guarded.', construction: 'Joke, then truth.' });
    expect(model.requests[0]).toMatchObject({ temperature: 0.8, max_tokens: 300, n: 1 });
    expect(model.requests[0]!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
  });

  it('asks once more with the parse error when the format is wrong', async () => {
    const model = scripted('The sea left me first.', good);
    const r = await new Character({ profile, model }).turn({ message: 'Why?' });
    expect(r.attempts).toBe(2);
    expect(r.reply).toBe('The sea left me first.');
    const retry = model.requests[1]!.messages;
    expect(retry.at(-2)).toEqual({ role: 'assistant', content: 'The sea left me first.' });
    expect(retry.at(-1)!.content).toMatch(/^Your answer did not follow the required format \(The answer has no <think> block/);
  });

  it('throws the parse error after a failed repair, or recovers leniently when asked to', async () => {
    const bad = '<think><perception>a</perception><empathy>b</empathy></think> Fine.';
    await expect(new Character({ profile, model: scripted(bad, bad) }).turn({ message: 'x' })).rejects.toThrow(PsyCotParseError);
    const r = await new Character({ profile, model: scripted(bad, bad), lenient: true }).turn({ message: 'x' });
    expect(r).toMatchObject({ reply: 'Fine.', attempts: 2 });
    expect(r.repairs).toContain('<construction> is missing: left empty');
  });

  it('gives a model trained on the compact format what it was trained on, and asks it for no repair', async () => {
    const compact = (...answers: string[]) => Object.assign(scripted(...answers), { promptFormat: 'compact' as const });
    const text = 'Mara Quell, 41, retired smuggler. Speaks in short, salty sentences.';
    const model = compact(good);
    const r = await new Character({ profile: text, name: 'Mara Quell', model }).turn({
      message: 'Why did you quit?',
      history: [
        { role: 'user', text: 'Hello' },
        { role: 'character', text: 'Hm.' },
      ],
    });
    expect(r.reply).toBe('The sea left me first.');
    // The profile as written (no "Name:" line, no instructions), then the turns.
    expect(model.requests[0]!.messages).toEqual([
      { role: 'system', content: text },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hm.' },
      { role: 'user', content: 'Why did you quit?' },
    ]);
    // A structured profile is rendered; what the character learned is shown too.
    const learned = compact(good);
    await new Character({ profile: new DynamicProfile(profile).learn('The user is a sailor.'), model: learned }).turn({ message: 'x' });
    expect(learned.requests[0]!.messages[0]!.content).toBe(
      'Name: Mara\nIdentity: retired smuggler\nLearned during this conversation:\n- The user is a sailor.',
    );
    // A wrong format is not sent back with instructions: lenient recovery, or the parse error, at once.
    const bad = '<think><perception>a</perception><empathy>b</empathy></think> Fine.';
    const once = compact(bad);
    expect(await new Character({ profile, model: once, lenient: true }).turn({ message: 'x' })).toMatchObject({ reply: 'Fine.', attempts: 1 });
    expect(once.requests).toHaveLength(1);
    await expect(new Character({ profile, model: compact(bad) }).turn({ message: 'x' })).rejects.toThrow(PsyCotParseError);
  });

  it('other styles: reply only, generic reasoning, bracketed thoughts', async () => {
    expect((await new Character({ profile, style: 'none', model: scripted(' Aye. ') }).turn({ message: 'x' })).reply).toBe('Aye.');
    const g = await new Character({ profile, style: 'generic-cot', model: scripted('<think>she is tired</think> Aye.') }).turn({ message: 'x' });
    expect(g).toMatchObject({ reply: 'Aye.', reasoning: 'she is tired' });
    const m = await new Character({ profile, style: 'inner-monologue', model: scripted('[Not again.] (sighs) Aye.') }).turn({ message: 'x' });
    expect(m).toMatchObject({ reply: '(sighs) Aye.', reasoning: 'Not again.' });
  });

  it('plays a scene turn and keeps what the caller taught its dynamic profile', async () => {
    const model = scripted(good);
    const d = new DynamicProfile(profile).learn('Ines owes Mara money.');
    const mara = new Character({ profile: d, model });
    await mara.sceneTurn({ scenario: 'Dawn.', others: [{ name: 'Ines' }], transcript: [{ speaker: 'Ines', text: 'You came.' }] });
    expect(model.requests[0]!.messages[0]!.content).toContain('- Ines owes Mara money.');
    expect(mara.profile).toBe(d);
  });

  it('works end to end against an OpenAI-compatible server', async () => {
    const server = new FakeChatServer();
    const baseURL = await server.start();
    try {
      server.script({ kind: 'status', status: 503 }, { kind: 'answer', content: good });
      const model = new OpenAICompatibleModel({ baseURL, model: 'm', retry: { baseDelayMs: 1 } });
      const r = await new Character({ profile: 'A retired smuggler with a tea house.', name: 'Mara', model }).turn({ message: 'Why?' });
      expect(r.reply).toBe('The sea left me first.');
      expect(server.received).toHaveLength(2);
      expect((server.received[1]!.body.messages as { content: string }[])[0]!.content).toContain('A retired smuggler with a tea house.');
    } finally {
      await server.stop();
    }
  });
});

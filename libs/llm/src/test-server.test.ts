// The fake server's own bookkeeping that fault tests lean on: `delivered` holds only the answers
// written whole, and startAgain() brings a stopped server back on the same URL.
import { describe, expect, it } from 'vitest';
import { LlmNetworkError, OpenAICompatibleModel } from './index.js';
import { FakeChatServer } from './test-server.js';

describe('FakeChatServer', () => {
  it('delivered lists the finished answers only; startAgain serves the same URL after stop', async () => {
    const server = new FakeChatServer();
    const url = await server.start();
    const model = new OpenAICompatibleModel({ baseURL: url, model: 'm', retry: { maxRetries: 0 } });
    const ask = (content: string) => model.chat({ messages: [{ role: 'user', content }] });
    server.script({ kind: 'status', status: 500 }, { kind: 'garbage', body: '{' }, { kind: 'cut' });
    for (const q of ['a', 'b', 'c']) await expect(ask(q)).rejects.toThrow();
    await ask('d');
    expect(server.received).toHaveLength(4);
    expect(server.delivered.map((r) => (r.body.messages as { content: string }[])[0]!.content)).toEqual(['d']);

    await server.stop();
    await expect(ask('e')).rejects.toBeInstanceOf(LlmNetworkError);
    expect(await server.startAgain()).toBe(url);
    expect((await ask('f')).choices[0]!.content).toBe('reply');
    expect(server.received).toHaveLength(5);
    await server.stop();
    await expect(new FakeChatServer().startAgain()).rejects.toThrow('startAgain() needs a server that was started and stopped');
  });
});

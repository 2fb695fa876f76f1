import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import type { Checkpoint } from './checkpoint.js';
import { answerStopIds, LocalChatModel } from './local-model.js';
import { saveTestCheckpoint } from './test-checkpoint.js';

// A vocabulary of 10 ids with ChatML's end of turn at 7 and Llama 3's end-of-turn token at 9.
const tokenizer = {
  vocabSize: 10,
  tokenToId: (t: string) => ({ '<|im_end|>': 7, '<|eot_id|>': 9 })[t],
} as unknown as Checkpoint['tokenizer'];

describe('answerStopIds', () => {
  it("ends an answer at ChatML's end of turn, the checkpoint's eos_token and generation_config's eos_token_id", () => {
    expect(answerStopIds({ tokenizer, generation: {} })).toEqual([7]);
    expect(answerStopIds({ tokenizer, eosToken: '<|eot_id|>', generation: {} })).toEqual([7, 9]);
    expect(answerStopIds({ tokenizer, generation: { eos_token_id: 3 } })).toEqual([3, 7]);
    expect(answerStopIds({ tokenizer, eosToken: '<|eot_id|>', generation: { eos_token_id: [8, 9, 1] } })).toEqual([1, 7, 8, 9]);
  });

  it('leaves out tokens the vocabulary lacks', () => {
    const noChatml = { vocabSize: 10, tokenToId: () => undefined } as unknown as Checkpoint['tokenizer'];
    expect(answerStopIds({ tokenizer: noChatml, eosToken: '</s>', generation: { eos_token_id: [2, 12, -1] } })).toEqual([2]);
  });
});

describe('a local checkpoint whose eos is not ChatML', () => {
  it("stops at generation_config.json's eos_token_id and leaves it out of the answer", async () => {
    await initBackend();
    const dir = mkdtempSync(join(tmpdir(), 'rapo-eos-'));
    try {
      const corpus = Array.from({ length: 100 }, (_, i) => `Mara says: the tide is ${i % 2 ? 'high' : 'low'} today.`);
      saveTestCheckpoint(dir, { corpus, vocabSize: 300, maxPositions: 128, seed: 5, maxNewTokens: 8 });
      // Greedy decoding is deterministic: the first token it writes becomes the eos.
      const free = (await LocalChatModel.load(dir).complete('Mara says:', { temperature: 0, max_tokens: 8 })).choices[0]!;
      expect(free.tokens).toHaveLength(8);
      expect(free.finishReason).toBe('length');
      const path = join(dir, 'generation_config.json');
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), eos_token_id: [free.tokens[0]!] }));
      const stopped = (await LocalChatModel.load(dir).complete('Mara says:', { temperature: 0, max_tokens: 8 })).choices[0]!;
      expect(stopped.tokens).toEqual([]);
      expect(stopped.text).toBe('');
      expect(stopped.finishReason).toBe('stop');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// RAPO's module: the translation to kernel parameters, the setup checks, ablated prompts under
// the one swap rule, neutral rows and oracle scores.
process.env.RAPO_TF_BACKEND = 'cpu';
import { END_OF_TURN, initBackend, LlamaModel, parseConfig, PAD_TOKEN } from '@rapo/model';
import { factValue, GENERIC_CORES } from '@rapo/testbed';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, configHelp, parseTrainConfig } from './config.js';
import { loadDataset } from './data.js';
import { encodePrompt, promptMessages } from './format.js';
import { ablatedPromptIds, checkRapoSetup, kernelParams, neutralRows, oracleScores, scorerModel } from './rapo.js';
import { scratchModel } from './run.js';

beforeAll(async () => {
  await initBackend();
});

describe('rl.rapo options', () => {
  it('every option has a description, and every weighting option reaches the kernel', () => {
    const help = configHelp().split('\n');
    const keys = Object.keys(parseTrainConfig({}).rl.rapo);
    expect(keys.length).toBe(11);
    for (const k of keys) {
      const at = help.findIndex((l) => l.startsWith(`  rl.rapo.${k}:`));
      expect(at, k).toBeGreaterThanOrEqual(0);
      expect(help[at + 1], `rl.rapo.${k} has no description`).toMatch(/^ {6}\S/);
    }
    const o = parseTrainConfig({
      rl: { rapo: { norm: 'tanh', scope: 'sequence', scale: 2, lam_pos: 0.3, lam_neg: 0.2, renorm: 'batch', variant: 'symmetric', cap: 0.4 } },
    }).rl.rapo;
    expect(kernelParams(o, 0.9, 4)).toEqual({
      temperature: 0.9,
      norm: 'tanh',
      scope: 'sequence',
      scale: 2,
      lamPos: 0.3,
      lamNeg: 0.2,
      renorm: 'batch',
      variant: 'symmetric',
      groupSize: 4,
      cap: 0.4,
    });
  });

  it('bounded with a renorm is rejected when the config is read', () => {
    expect(() => parseTrainConfig({ rl: { rapo: { variant: 'bounded', renorm: 'batch' } } })).toThrow(/renorm/);
  });
});

describe('RAPO setup checks', () => {
  const testbed = parseTrainConfig({ data: { characters: 4 } });
  const data = loadDataset(testbed);

  it('the oracle needs the testbed world', () => {
    const c = parseTrainConfig({ rl: { rapo: { score: 'oracle' } } });
    expect(() => checkRapoSetup(c, { rlTrain: data.rlTrain })).toThrow(ConfigError);
    expect(() => checkRapoSetup(c, data)).not.toThrow();
  });

  it('name-only needs a name on every prompt; swap needs two characters', () => {
    const nameOnly = parseTrainConfig({ rl: { rapo: { ablation: 'name-only' } } });
    const nameless = [{ ...data.rlTrain[0]!, name: undefined, id: 'p7' }];
    expect(() => checkRapoSetup(nameOnly, { rlTrain: nameless as never })).toThrow(/p7 has none/);
    const swap = parseTrainConfig({ rl: { rapo: { ablation: 'swap' } } });
    const one = data.rlTrain.filter((p) => p.characterId === data.rlTrain[0]!.characterId);
    expect(() => checkRapoSetup(swap, { rlTrain: one })).toThrow(/two characters/);
    // GRPO needs none of it.
    expect(() => checkRapoSetup(parseTrainConfig({ rl: { algo: 'grpo', rapo: { ablation: 'swap' } } }), { rlTrain: one })).not.toThrow();
  });

  it('scorer reference without a reference is an error', () => {
    const m = LlamaModel.init(
      parseConfig({
        vocab_size: 20,
        hidden_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        intermediate_size: 8,
        max_position_embeddings: 16,
      }),
      1,
    );
    const ref = parseTrainConfig({ rl: { rapo: { scorer: 'reference' } } }).rl.rapo;
    expect(() => scorerModel(ref, m, undefined)).toThrow(/needs the frozen reference/);
    expect(scorerModel(ref, m, m)).toBe(m);
    m.dispose();
  });
});

describe('ablated prompts', () => {
  const config = parseTrainConfig({ data: { characters: 6, prompt_format: 'chat' } });
  const data = loadDataset(config);
  const { tokenizer } = scratchModel(config, data);

  it('swap never pairs a character with itself, and the chat format shows only the partner', () => {
    const prompts = data.rlTrain.slice(0, 12);
    const ids = ablatedPromptIds(tokenizer, prompts, 'chat', 'swap', data.rlTrain, 5);
    ids.forEach((p, i) => {
      const text = tokenizer.decode(p);
      expect(text).not.toContain(prompts[i]!.name!);
      expect(text).not.toContain(prompts[i]!.profile.slice(0, 40));
    });
    const drop = ablatedPromptIds(tokenizer, prompts.slice(0, 1), 'chat', 'drop', data.rlTrain, 0)[0]!;
    expect(tokenizer.decode(drop)).not.toContain(prompts[0]!.name!);
    expect(drop).not.toEqual(encodePrompt(tokenizer, promptMessages(prompts[0]!, 'chat')));
  });
});

describe('neutral rows and oracle scores', () => {
  const config = parseTrainConfig({ data: { characters: 4 } });
  const data = loadDataset(config);
  const { tokenizer } = scratchModel(config, data);
  const eot = tokenizer.tokenToId(END_OF_TURN)!;
  const rec = data.rlTrain[0]!;
  const c = data.world!.byId.get(rec.characterId!)!;
  const town = factValue(c, 'hometown');
  const text = `<think>\n<perception>asks</perception>\n</think>\nI live in ${town}. ${GENERIC_CORES[0]}.`;
  const ids = [...tokenizer.encode(text), eot];

  it('mark the format tags and the end of turn', () => {
    const n = neutralRows(tokenizer, [ids], eot);
    expect(n.length).toBe(ids.length);
    expect(n[ids.length - 1]).toBe(1);
    const pieces = ids.map((id) => tokenizer.decode([id]));
    pieces.forEach((p, j) => {
      if (/live|asks/.test(p)) expect(n[j]).toBe(0);
    });
    expect(pieces.filter((_, j) => n[j]).join('')).toContain('think>');
    expect(tokenizer.tokenToId(PAD_TOKEN)).toBeDefined();
  });

  it("score +1 on the character's facts, -1 on generic boilerplate, 0 elsewhere", () => {
    const s = oracleScores(data.world!, tokenizer, [rec], [ids]);
    const pieces = ids.map((id) => tokenizer.decode([id]));
    const roleText = pieces.filter((_, j) => s[j] === 1).join('');
    const genericText = pieces.filter((_, j) => s[j] === -1).join('');
    expect(roleText.replace(/\s+/g, '')).toContain(town.replace(/\s+/g, ''));
    expect(genericText.toLowerCase()).toContain(GENERIC_CORES[0]!.split(' ').at(-1)!.toLowerCase());
    expect(s[0]).toBe(0);
    expect(() => oracleScores(data.world!, tokenizer, [{ ...rec, characterId: 'nobody', id: 'x1' }], [ids])).toThrow(/x1/);
  });
});

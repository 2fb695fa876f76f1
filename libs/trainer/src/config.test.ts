import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig as parseModelConfig } from '@rapo/model';
import { applySets, ConfigError, configHelp, configToYaml, loadTrainConfig, parseTrainConfig } from './config.js';

describe('trainer config', () => {
  it('fills every default from an empty config', () => {
    const c = parseTrainConfig({});
    expect(c.phases).toEqual(['sft', 'rl']);
    expect(c.rl.algo).toBe('rapo');
    expect(c.rl.rapo.lam_pos).toBe(0.5);
    expect(c.rl.rewards).toEqual([{ type: 'testbed-judge', weight: 1, noise: 0.05, bias: 0.3 }]);
    expect(c.model.init).toBe('base');
  });

  it('names an unknown key and the keys allowed beside it', () => {
    expect(() => parseTrainConfig({ rl: { algoo: 'grpo' } })).toThrow(ConfigError);
    // The model's config errors are the same class, so the apps catch both with one check.
    expect(() => parseModelConfig({ hidden_size: -1 })).toThrow(ConfigError);
    expect(() => parseTrainConfig({ rl: { algoo: 'grpo' } })).toThrow(/unknown key "rl\.algoo"; allowed here: .*algo/);
    expect(() => parseTrainConfig({ sedd: 3 })).toThrow(/unknown key "sedd"/);
    expect(() => parseTrainConfig({ rl: { lam_pos: 1 } })).toThrow(/unknown key "rl\.lam_pos" \(did you mean "rl\.rapo\.lam_pos"\?\)/);
    expect(() => applySets({}, ['sft.algo=grpo'])).toThrow(/did you mean "rl\.algo"/);
  });

  it('names a bad value and what the key allows', () => {
    expect(() => parseTrainConfig({ rl: { algo: 'ppo' } })).toThrow(/rl\.algo: .*\(allowed: "grpo" \| "rapo"\)/);
    expect(() => parseTrainConfig({ rl: { rapo: { ablation: 'blank' } } })).toThrow(/rl\.rapo\.ablation.*"drop" \| "name-only" \| "swap"/);
    expect(() => parseTrainConfig({ rl: { group_size: 1 } })).toThrow(/rl\.group_size/);
    expect(() => parseTrainConfig({ rl: { rewards: [{ type: 'vibes' }] } })).toThrow(/rl\.rewards\.0/);
    expect(() => parseTrainConfig({ rl: { rewards: [{ type: 'llm-judge' }] } })).toThrow(/rl\.rewards\.0\.model/);
  });

  it("fills an llm-judge's failure threshold, retries and cache, and names a bad one", () => {
    const judge = (r: object) => parseTrainConfig({ rl: { rewards: [{ type: 'llm-judge', model: 'testbed', ...r }] } }).rl.rewards[0];
    expect(judge({})).toMatchObject({ max_failure_share: 0.5, cache: true, timeout_s: 120, max_retries: 4 });
    expect(judge({ cache: false, max_failure_share: 0 })).toMatchObject({ cache: false, max_failure_share: 0 });
    expect(judge({ cache: 'runs/judge-answers' })).toMatchObject({ cache: 'runs/judge-answers' });
    expect(() => judge({ max_failure_share: 1.5 })).toThrow(/rl\.rewards\.0\.max_failure_share: .*\(allowed: number\)/);
    expect(() => judge({ cache: 3 })).toThrow(/rl\.rewards\.0\.cache: .*\(allowed: true \| false \| text\)/);
    expect(() => judge({ timeout_s: 0 })).toThrow(/rl\.rewards\.0\.timeout_s/);
    // The discriminator names no single kind of reward.
    expect(() => parseTrainConfig({ rl: { rewards: [{ type: 'vibes' }] } })).not.toThrow(/allowed: "testbed-judge"\)/);
    expect(configHelp()).toMatch(/max_failure_share\?/);
  });

  it('applies --set overrides as JSON when they parse, as text otherwise', () => {
    const raw = applySets({ rl: { steps: 3 } }, ['rl.algo=grpo', 'rl.rapo.lam_pos=0.25', 'phases=["rl"]', 'model.tie_word_embeddings=false']);
    const c = parseTrainConfig(raw);
    expect(c.rl.algo).toBe('grpo');
    expect(c.rl.steps).toBe(3);
    expect(c.rl.rapo.lam_pos).toBe(0.25);
    expect(c.phases).toEqual(['rl']);
    expect(c.model.tie_word_embeddings).toBe(false);
    expect(() => applySets({}, ['rl.algo'])).toThrow(/expected key=value/);
    expect(() => applySets({}, ['rl.nope=1'])).toThrow(/unknown key "rl\.nope"/);
  });

  it('reads YAML files and says what is wrong with them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapo-config-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'seed: 7\nrl:\n  algo: grpo\n');
    expect(loadTrainConfig(good, ['rl.steps=2'])).toMatchObject({ seed: 7, rl: { algo: 'grpo', steps: 2 } });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'rl: [unclosed\n');
    expect(() => loadTrainConfig(bad)).toThrow(/bad\.yaml: not valid YAML/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- 1\n');
    expect(() => loadTrainConfig(list)).toThrow(/expected a mapping/);
    expect(() => loadTrainConfig(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: cannot read/);
    writeFileSync(bad, 'rl:\n  eps_low: 2\n');
    expect(() => loadTrainConfig(bad)).toThrow(/bad\.yaml: rl\.eps_low/);
  });

  it('writes a resolved config that reads back to the same config', () => {
    const c = parseTrainConfig({ seed: 3, rl: { algo: 'grpo', rewards: [{ type: 'format' }] } });
    expect(parseTrainConfig(YAML.parse(configToYaml(c)))).toEqual(c);
  });

  it('documents every option in --help', () => {
    const help = configHelp();
    for (const key of [
      'seed',
      'phases',
      'model.hidden_size',
      'data.prompt_format',
      'sft.lr',
      'rl.eps_high',
      'rl.rapo.scorer',
      'rl.rapo.renorm',
      'checkpoint.keep',
      'log.samples',
    ]) {
      expect(help).toContain(`  ${key}: `);
    }
    expect(help).toMatch(/rl\.algo: "grpo" \| "rapo" \(default "rapo"\)/);
  });
});

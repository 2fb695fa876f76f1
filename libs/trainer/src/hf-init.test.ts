// A run that starts from a Hugging Face Qwen3 checkpoint folder (model.init: <dir>): its biases
// and q/k norms train, and the RL reference and the final model keep the Qwen3 layout.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parameterShapes, parseConfig, readSafetensors, writeSafetensors } from '@rapo/model';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from './config.js';
import { loadDataset } from './data.js';
import { scratchModel, train } from './run.js';
import { TINY_MODEL } from './testing.js';

const root = mkdtempSync(join(tmpdir(), 'rapo-hf-init-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const RUN = {
  seed: 3,
  data: { characters: 4 },
  sft: { steps: 2, batch_size: 2, eval_every: 2, eval_batches: 1, lr: 1e-2, warmup_steps: 1 },
  rl: {
    steps: 2,
    prompts_per_step: 2,
    group_size: 2,
    max_new_tokens: 6,
    eval_every: 2,
    eval_prompts: 2,
    lr: 1e-2,
    algo: 'grpo',
    rewards: [{ type: 'testbed-judge', noise: 0.3 }],
  },
  probe: { prompts: 0 },
  checkpoint: { every: 2, keep: 1 },
  log: { samples_every: 1, samples: 1 },
};

/** Weights of a Qwen3 folder: values away from init's zeros and ones, so a change shows. */
function writeQwen3Folder(dir: string): Map<string, Float32Array> {
  // rapo's own tokenizer for the run's texts (a foreign tokenizer.json is another matter).
  const scratch = parseTrainConfig({ ...RUN, model: TINY_MODEL });
  const { model, tokenizer } = scratchModel(scratch, loadDataset(scratch));
  model.dispose();
  const hf = {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    vocab_size: tokenizer.vocabSize,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    intermediate_size: 32,
    max_position_embeddings: 1024,
    rope_theta: 1_000_000,
    rope_scaling: null,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
    attention_bias: true,
    hidden_act: 'silu',
    use_sliding_window: false,
    sliding_window: null,
    max_window_layers: 28,
    torch_dtype: 'bfloat16',
  };
  const weights = new Map<string, Float32Array>();
  let k = 1;
  for (const [name, shape] of parameterShapes(parseConfig(hf))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const centre = name.endsWith('norm.weight') ? 1 : 0;
    weights.set(
      name,
      Float32Array.from({ length: n }, (_, i) => centre + 0.1 * Math.sin(k * 12.9898 + i * 78.233)),
    );
    k++;
  }
  mkdirSync(dir, { recursive: true });
  tokenizer.save(join(dir, 'tokenizer.json'));
  writeSafetensors(
    join(dir, 'model.safetensors'),
    [...weights].map(([name, data]) => ({ name, shape: parameterShapes(parseConfig(hf)).get(name)!, data })),
  );
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hf, null, 2));
  return weights;
}

describe('model.init: a Hugging Face Qwen3 checkpoint folder', () => {
  it('trains SFT and RL from it and saves the reference and the final model in the Qwen3 layout', async () => {
    const init = join(root, 'qwen3');
    const start = writeQwen3Folder(init);
    const out = join(root, 'run');
    const r = await train({ config: parseTrainConfig({ ...RUN, model: { init } }), out, log: () => {} });
    expect(r.complete).toBe(true);
    for (const dir of ['reference', 'final']) {
      const config = JSON.parse(readFileSync(join(out, dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config, dir).toMatchObject({
        architectures: ['Qwen3ForCausalLM'],
        model_type: 'qwen3',
        head_dim: 8,
        attention_bias: true,
        use_sliding_window: false,
      });
    }
    const final = readSafetensors(join(out, 'final', 'model.safetensors')).tensors;
    expect([...final.keys()].sort()).toEqual([...start.keys()].sort());
    // Every parameter moved, the ones Llama lacks included.
    for (const name of [
      'model.layers.0.self_attn.q_norm.weight',
      'model.layers.0.self_attn.k_norm.weight',
      'model.layers.0.self_attn.v_proj.bias',
      'model.layers.0.self_attn.o_proj.bias',
    ]) {
      expect(Array.from(final.get(name)!.data), name).not.toEqual(Array.from(start.get(name)!));
    }
    const reference = readSafetensors(join(out, 'reference', 'model.safetensors')).tensors;
    expect(Array.from(reference.get('model.layers.0.self_attn.q_norm.weight')!.data)).not.toEqual(
      Array.from(final.get('model.layers.0.self_attn.q_norm.weight')!.data),
    );
  });
});

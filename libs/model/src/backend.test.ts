import { afterEach, describe, expect, it } from 'vitest';
import { describeBackend, initBackend, resetBackendChoice, tf } from './backend.js';
import { parseConfig } from './config.js';
import { LlamaModel } from './model.js';

const saved = process.env.RAPO_TF_BACKEND;
afterEach(() => {
  if (saved === undefined) delete process.env.RAPO_TF_BACKEND;
  else process.env.RAPO_TF_BACKEND = saved;
  resetBackendChoice();
});

describe('tfjs backend choice', () => {
  it('takes the best backend that loads and says why the faster ones did not', async () => {
    delete process.env.RAPO_TF_BACKEND;
    const info = await initBackend();
    expect(['node-gpu', 'node', 'rapo-native', 'wasm', 'cpu']).toContain(info.name);
    const order = ['node-gpu', 'node', 'rapo-native', 'wasm', 'cpu'];
    expect(info.skipped.map((s) => s.name)).toEqual(order.slice(0, order.indexOf(info.name)));
    expect(describeBackend(info)).toMatch(new RegExp(`^tfjs backend: ${info.name}`));
  });

  it('a forced backend that cannot load is an error; an unknown one too', async () => {
    process.env.RAPO_TF_BACKEND = 'node';
    resetBackendChoice();
    const r = await initBackend().then(
      (i) => i,
      (e: Error) => e,
    );
    if (r instanceof Error) expect(r.message).toMatch(/^RAPO_TF_BACKEND=node but that backend cannot run here: /);
    else expect(r.name).toBe('node'); // where tfjs-node is installed
    process.env.RAPO_TF_BACKEND = 'gpu';
    resetBackendChoice();
    await expect(initBackend()).rejects.toThrow('Expected one of "node-gpu", "node", "rapo-native", "wasm", "cpu" for RAPO_TF_BACKEND but received "gpu"');
  });

  it('cpu and wasm compute the same logits', async () => {
    const config = parseConfig({
      vocab_size: 50,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      intermediate_size: 24,
    });
    const run = async (name: 'cpu' | 'wasm') => {
      process.env.RAPO_TF_BACKEND = name;
      resetBackendChoice();
      expect((await initBackend()).name).toBe(name);
      const m = LlamaModel.init(config, 2);
      const out = m.forward(tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32'), tf.ones([1, 4], 'int32') as tf.Tensor2D).logits.dataSync();
      m.dispose();
      return out;
    };
    const a = await run('cpu');
    const b = await run('wasm');
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-4);
  });
});

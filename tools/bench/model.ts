// Model throughput: tokens per second of a training step (forward, kernel log-probs, backward)
// and of generation with and without the KV cache, for a ~1M and a ~10M parameter config, on
// every tfjs backend that loads here. `npm run bench:model` (-- --quick for the 1M config only,
// fewer tokens). Results: bench/results/model-<device>.json and a table; docs/perf.md.
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  generate, initBackend, LlamaModel, parameterCount, parseConfig, resetBackendChoice, shiftTargets, tf, tokenLogprobs,
  type ModelConfig, type TfBackendName,
} from '@rapo/model';
import { median } from './lib/measure.js';
import { slug, writeJsonAtomic } from './lib/report.js';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log(`Usage: npm run bench:model -- [--quick] [--backends wasm,cpu] [--out DIR]`);
  process.exit(0);
}

const CONFIGS: Record<string, ModelConfig> = {
  '1M': parseConfig({ vocab_size: 2048, hidden_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 344, max_position_embeddings: 512 }),
  '10M': parseConfig({ vocab_size: 8192, hidden_size: 256, num_hidden_layers: 10, num_attention_heads: 8, num_key_value_heads: 4, intermediate_size: 688, max_position_embeddings: 512 }),
};

interface Row {
  config: string;
  parameters: number;
  backend: TfBackendName;
  task: 'train-step' | 'generate-cache' | 'generate-nocache';
  batch: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

const rows: Row[] = [];
const record = (r: Omit<Row, 'tokensPerSecond'>) => {
  const row = { ...r, tokensPerSecond: r.tokens / r.seconds };
  rows.push(row);
  console.log(`  ${r.config.padEnd(4)} ${r.backend.padEnd(8)} ${r.task.padEnd(17)} batch ${String(r.batch).padStart(2)}: ${row.tokensPerSecond.toFixed(1)} tokens/s (${r.tokens} tokens in ${r.seconds.toFixed(2)} s)`);
};

function trainStep(model: LlamaModel, batch: number, seq: number): number {
  const V = model.config.vocab_size;
  const ids = Array.from({ length: batch }, (_, b) => Array.from({ length: seq }, (_, t) => (b * 131 + t * 31) % V));
  const lossMask = ids.map((row) => row.map((_, t) => (t >= seq / 4 ? 1 : 0)));
  const { targets, mask } = shiftTargets(ids, lossMask);
  const idsT = tf.tensor2d(ids, [batch, seq], 'int32');
  const attn = tf.ones([batch, seq], 'int32') as tf.Tensor2D;
  const tgt = tf.tensor2d(targets, [batch, seq], 'int32');
  const msk = tf.tensor2d(mask, [batch, seq], 'float32');
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tokenLogprobs(model.forward(idsT, attn).logits, tgt, msk))) as tf.Scalar, model.trainableVariables);
    // Reading the gradients forces the work on asynchronous backends.
    for (const g of Object.values(grads)) g.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
    if (r > 0) times.push((performance.now() - t0) / 1000); // the first run warms up
  }
  tf.dispose([idsT, attn, tgt, msk]);
  return median(times);
}

async function generationTime(model: LlamaModel, batch: number, newTokens: number, useCache: boolean): Promise<number> {
  const prompts = Array.from({ length: batch }, (_, b) => Array.from({ length: 16 }, (_, t) => (b * 7 + t * 13) % model.config.vocab_size));
  await generate(model, prompts, { maxNewTokens: 4, temperature: 1, seed: 1, useCache }); // warm-up
  const t0 = performance.now();
  const g = await generate(model, prompts, { maxNewTokens: newTokens, temperature: 1, seed: 1, useCache });
  const s = (performance.now() - t0) / 1000;
  if (g.tokens.some((t) => t.length !== newTokens)) throw new Error('generation stopped early; the benchmark needs full lengths');
  return s;
}

const cpuName = `${(readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model ?? 'CPU').trim()} (${cpus().length} cores)`;
const wanted = (opt.backends?.split(',') ?? ['node-gpu', 'node', 'wasm', 'cpu']) as TfBackendName[];
console.log(`device: ${cpuName}`);
for (const backend of wanted) {
  process.env.RAPO_TF_BACKEND = backend;
  resetBackendChoice();
  try {
    await initBackend();
  } catch (e) {
    console.log(`${backend}: skipped (${(e as Error).message.split('.')[0]})`);
    continue;
  }
  for (const [name, config] of Object.entries(CONFIGS)) {
    if (opt.quick && name !== '1M') continue;
    const params = parameterCount(config);
    const model = LlamaModel.init(config, 1);
    const [batch, seq] = opt.quick ? [4, 64] : [8, 128];
    record({ config: name, parameters: params, backend, task: 'train-step', batch, tokens: batch * seq, seconds: trainStep(model, batch, seq) });
    // The cache comparison: one sequence, 256 new tokens (64 in quick mode; the 10M model
    // without the cache runs 64 steps, which already costs minutes on one core).
    const n = opt.quick ? 64 : 256;
    const withCache = await generationTime(model, 1, n, true);
    record({ config: name, parameters: params, backend, task: 'generate-cache', batch: 1, tokens: n, seconds: withCache });
    const nNo = name === '10M' ? 64 : n;
    const noCache = await generationTime(model, 1, nNo, false);
    record({ config: name, parameters: params, backend, task: 'generate-nocache', batch: 1, tokens: nNo, seconds: noCache });
    if (!opt.quick) {
      const batched = await generationTime(model, 8, 128, true);
      record({ config: name, parameters: params, backend, task: 'generate-cache', batch: 8, tokens: 8 * 128, seconds: batched });
    }
    model.dispose();
  }
}

console.log('\nKV-cache speedup (same config, backend, length):');
for (const r of rows.filter((x) => x.task === 'generate-nocache')) {
  const c = rows.find((x) => x.task === 'generate-cache' && x.batch === 1 && x.config === r.config && x.backend === r.backend);
  if (c) console.log(`  ${r.config} ${r.backend}: ${(c.tokensPerSecond / r.tokensPerSecond).toFixed(1)}x at ${r.tokens} new tokens without the cache vs ${c.tokens} with it`);
}
const file = join(opt.out!, `model-${slug(cpuName)}${opt.quick ? '.quick' : ''}.json`);
writeJsonAtomic(file, { device: cpuName, createdAt: new Date().toISOString(), results: rows });
console.log(`\nwrote ${file}`);

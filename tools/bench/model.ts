// Model throughput: tokens per second of a training step (forward, kernel log-probs, backward)
// and of generation with and without the KV cache, for a ~1M and a ~10M parameter config, on
// every tfjs backend that loads here; and, when python3 can import torch, PyTorch doing the same
// training step and the same greedy KV-cached decoding (batch 1 and 16, 256 new tokens) in the
// same run, against rapo-native. `npm run bench:model` (-- --quick for the 1M config only,
// fewer tokens). Results: bench/results/model-<device>.json and a table; docs/perf.md.
import { join } from 'node:path';
import { blasInfo } from '@rapo/kernels';
import { generate, initBackend, LlamaModel, parameterCount, resetBackendChoice, type GenerateEngine, type TfBackendName } from '@rapo/model';
import { blasCoreLine, runTorch, torchAvailable } from './lib/torch.js';
import { BENCH_CONFIGS, trainStepSeconds } from './lib/train-step.js';
import { cpuDeviceName, slug, writeJsonAtomic } from './lib/report.js';
import { benchOptions } from './lib/options.js';

const opt = benchOptions('Usage: npm run bench:model -- [--quick] [--backends rapo-native,wasm,cpu] [--out DIR]', { backends: { type: 'string' } });

const CONFIGS = BENCH_CONFIGS;
/** Greedy KV-cached decoding, measured against PyTorch: rows per batch, new tokens per row. */
const GREEDY_BATCHES = [1, 16];
const GREEDY_TOKENS = opt.quick ? 64 : 256;

interface Row {
  config: string;
  parameters: number;
  backend: TfBackendName | 'torch';
  /** generate-greedy: KV-cached greedy decoding, the task PyTorch does too. */
  task: 'train-step' | 'generate-cache' | 'generate-nocache' | 'generate-greedy';
  batch: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** Who ran the cached steps: the addon's decoder or the backend's tfjs ops. */
  engine?: 'native' | 'tfjs';
}

const rows: Row[] = [];
const record = (r: Omit<Row, 'tokensPerSecond'>) => {
  const row = { ...r, tokensPerSecond: r.tokens / r.seconds };
  rows.push(row);
  console.log(
    `  ${r.config.padEnd(4)} ${r.backend.padEnd(8)} ${(r.engine ?? '').padEnd(6)} ${r.task.padEnd(17)} batch ${String(r.batch).padStart(2)}: ${row.tokensPerSecond.toFixed(1)} tokens/s (${r.tokens} tokens in ${r.seconds.toFixed(2)} s)`,
  );
};

async function generationTime(
  model: LlamaModel,
  batch: number,
  newTokens: number,
  useCache: boolean,
  engine: GenerateEngine,
  temperature = 1,
): Promise<number> {
  const prompts = Array.from({ length: batch }, (_, b) => Array.from({ length: 16 }, (_, t) => (b * 7 + t * 13) % model.config.vocab_size));
  await generate(model, prompts, { maxNewTokens: 4, temperature, seed: 1, useCache, engine }); // warm-up
  const t0 = performance.now();
  const g = await generate(model, prompts, { maxNewTokens: newTokens, temperature, seed: 1, useCache, engine });
  const s = (performance.now() - t0) / 1000;
  if (g.tokens.some((t) => t.length !== newTokens)) throw new Error('generation stopped early; the benchmark needs full lengths');
  return s;
}

const cpuName = cpuDeviceName();
const wanted = (opt.backends?.split(',') ?? ['node-gpu', 'node', 'rapo-native', 'wasm', 'cpu']) as TfBackendName[];
console.log(`device: ${cpuName}; ${blasCoreLine(blasInfo().core)}`);
for (const backend of wanted) {
  process.env.RAPO_TF_BACKEND = backend;
  resetBackendChoice();
  try {
    await initBackend();
  } catch (e) {
    console.log(`${backend}: skipped (${(e as Error).message.split('.')[0]})`);
    continue;
  }
  // The backend's own ops decode on every backend; on rapo-native the addon's decoder (what
  // generate() uses there) is measured too.
  const engines: ('native' | 'tfjs')[] = backend === 'rapo-native' ? ['native', 'tfjs'] : ['tfjs'];
  for (const [name, config] of Object.entries(CONFIGS)) {
    if (opt.quick && name !== '1M') continue;
    const params = parameterCount(config);
    const model = LlamaModel.init(config, 1);
    const [batch, seq] = opt.quick ? [4, 64] : [8, 128];
    // As bench:training: the fast backends repeat the step for 10 s, so the median settles.
    const fast = backend === 'rapo-native' || backend === 'node' || backend === 'node-gpu';
    const stepSeconds = trainStepSeconds(model, batch, seq, fast ? 3 : 2, fast && !opt.quick ? 10 : 0);
    record({ config: name, parameters: params, backend, task: 'train-step', batch, tokens: batch * seq, seconds: stepSeconds });
    // The cache comparison: one sequence, 256 new tokens (64 in quick mode; the 10M model
    // without the cache runs 64 steps, which already costs minutes on one core).
    const n = opt.quick ? 64 : 256;
    for (const engine of engines) {
      const withCache = await generationTime(model, 1, n, true, engine);
      record({ config: name, parameters: params, backend, engine, task: 'generate-cache', batch: 1, tokens: n, seconds: withCache });
    }
    const nNo = name === '10M' ? 64 : n;
    const noCache = await generationTime(model, 1, nNo, false, 'tfjs');
    record({ config: name, parameters: params, backend, task: 'generate-nocache', batch: 1, tokens: nNo, seconds: noCache });
    if (!opt.quick) {
      for (const engine of engines) {
        const batched = await generationTime(model, 8, 128, true, engine);
        record({ config: name, parameters: params, backend, engine, task: 'generate-cache', batch: 8, tokens: 8 * 128, seconds: batched });
      }
    }
    if (backend === 'rapo-native' || backend === 'node' || backend === 'node-gpu') {
      for (const engine of engines) {
        for (const batch of GREEDY_BATCHES) {
          const seconds = await generationTime(model, batch, GREEDY_TOKENS, true, engine, 0);
          record({ config: name, parameters: params, backend, engine, task: 'generate-greedy', batch, tokens: batch * GREEDY_TOKENS, seconds });
        }
      }
    }
    model.dispose();
  }
}

// The peer: PyTorch on as many threads as the addon's kernels use, the same shapes and work.
const torch = torchAvailable();
if (!torch.ok) console.log(`torch: skipped (${torch.reason})`);
else {
  const threads = blasInfo().threads;
  console.log(`torch ${torch.version} on ${threads} threads`);
  for (const [name, config] of Object.entries(CONFIGS)) {
    if (opt.quick && name !== '1M') continue;
    const params = parameterCount(config);
    const [batch, seq] = opt.quick ? [4, 64] : [8, 128];
    const t = runTorch(config, { task: 'train', batch, seq, runs: 3, minSeconds: opt.quick ? 0 : 10 }, threads, torch.python);
    record({ config: name, parameters: params, backend: 'torch', task: 'train-step', batch, tokens: batch * seq, seconds: t.seconds });
    for (const b of GREEDY_BATCHES) {
      const g = runTorch(config, { task: 'generate', batch: b, newTokens: GREEDY_TOKENS }, threads, torch.python);
      record({ config: name, parameters: params, backend: 'torch', task: 'generate-greedy', batch: b, tokens: b * GREEDY_TOKENS, seconds: g.seconds });
    }
  }
  console.log('\nrapo-native / torch (tokens/s, same run; target >= 2x):');
  for (const r of rows.filter((x) => x.backend === 'torch')) {
    for (const ours of rows.filter((x) => x.backend === 'rapo-native' && x.task === r.task && x.config === r.config && x.batch === r.batch)) {
      console.log(
        `  ${r.config.padEnd(4)} ${r.task.padEnd(16)} ${(ours.engine ?? '').padEnd(6)} batch ${String(r.batch).padStart(2)}: ${(ours.tokensPerSecond / r.tokensPerSecond).toFixed(2)}x`,
      );
    }
  }
}

console.log('\nKV-cache speedup (same config, backend, length):');
for (const r of rows.filter((x) => x.task === 'generate-nocache')) {
  const c = rows.find((x) => x.task === 'generate-cache' && x.batch === 1 && x.config === r.config && x.backend === r.backend && x.engine === 'tfjs');
  if (c)
    console.log(
      `  ${r.config} ${r.backend}: ${(c.tokensPerSecond / r.tokensPerSecond).toFixed(1)}x at ${r.tokens} new tokens without the cache vs ${c.tokens} with it`,
    );
}
const file = join(opt.out!, `model-${slug(cpuName)}${opt.quick ? '.quick' : ''}.json`);
writeJsonAtomic(file, { device: cpuName, createdAt: new Date().toISOString(), blasCore: blasInfo().core, results: rows });
console.log(`\nwrote ${file}`);

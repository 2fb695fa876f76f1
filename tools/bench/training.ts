// Training throughput on CPU: what the rapo-native tfjs backend (the cpu backend with the addon's
// OpenBLAS matmul and native elementwise, copy and reduction kernels) gains over the stock
// backends. In one run: GFLOP/s of a 512x512x512 matmul for OpenBLAS's own sgemm called directly
// (the ceiling), rapo-native, cpu and wasm; and training tokens per second of the 1M and 10M
// configs on rapo-native, wasm and cpu, and on PyTorch (the same decoder in Python, same threads)
// when python3 can import torch. `npm run bench:training` (-- --quick: the 1M config and fewer
// runs). Results: bench/results/<device>-training.json and a table; docs/perf.md.
import { join } from 'node:path';
import { blasInfo, matmul, setMatmulImpl, timeSgemmDirect } from '@rapo/kernels';
import { initBackend, LlamaModel, parameterCount, resetBackendChoice, tf, type TfBackendName } from '@rapo/model';
import { timeSync } from './lib/measure.js';
import { cpuDeviceName, slug, writeJsonAtomic } from './lib/report.js';
import { BENCH_CONFIGS, trainStepSeconds } from './lib/train-step.js';
import { benchOptions } from './lib/options.js';
import { blasCoreLine, runTorch, torchAvailable } from './lib/torch.js';

const opt = benchOptions('Usage: npm run bench:training -- [--quick] [--out DIR]', {});

const cpuName = cpuDeviceName();
const blas = blasInfo();
const threads = blas.threads;
console.log(`device: ${cpuName}; BLAS: ${blas.library} (${blas.impl}), ${threads} kernel threads; ${blasCoreLine(blas.core)}`);

const SIZE = 512;
const FLOPS = 2 * SIZE ** 3;
const matmulGflops: Record<string, number> = {};
const fallbackMatmulGflops: Record<string, number> = {};
const timing = { minSeconds: opt.quick ? 0.5 : 2, maxRuns: 200 };

// The ceiling: the BLAS sgemm on its own threads, no tfjs, no copies.
matmulGflops['openblas-direct'] = FLOPS / timeSgemmDirect({ m: SIZE, n: SIZE, k: SIZE }, opt.quick ? 10 : 40, threads) / 1e9;
// The addon's matmul without tfjs, with the BLAS and with the portable blocked loop.
{
  const a = Float32Array.from({ length: SIZE * SIZE }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = Float32Array.from({ length: SIZE * SIZE }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const shape = { batchA: 1, batchB: 1, m: SIZE, n: SIZE, k: SIZE };
  const out = new Float32Array(SIZE * SIZE);
  fallbackMatmulGflops['addon-blas'] = FLOPS / timeSync(() => matmul(a, b, shape, out), timing).seconds / 1e9;
  setMatmulImpl('blocked');
  fallbackMatmulGflops['addon-blocked'] = FLOPS / timeSync(() => matmul(a, b, shape, out), timing).seconds / 1e9;
  setMatmulImpl('auto');
}

async function useBackend(name: TfBackendName): Promise<boolean> {
  process.env.RAPO_TF_BACKEND = name;
  resetBackendChoice();
  try {
    await initBackend();
    return true;
  } catch (e) {
    console.log(`${name}: skipped (${(e as Error).message.split('\n')[0]})`);
    return false;
  }
}

const BACKENDS: TfBackendName[] = ['rapo-native', 'wasm', 'cpu'];
for (const backend of BACKENDS) {
  if (!(await useBackend(backend))) continue;
  const a = tf.randomUniform([SIZE, SIZE], -1, 1, 'float32', 1);
  const b = tf.randomUniform([SIZE, SIZE], -1, 1, 'float32', 2);
  const slow = backend === 'cpu';
  // All three backends compute inside the kernel call (none is asynchronous), so the product is
  // done when matMul returns; as in training, the output is not read and is disposed at once.
  const t = timeSync(() => tf.tidy(() => void tf.matMul(a, b)), slow ? { minSeconds: 1, maxRuns: 3 } : timing);
  matmulGflops[backend] = FLOPS / t.seconds / 1e9;
  tf.dispose([a, b]);
}

console.log('\nmatmul 512x512x512 (GFLOP/s; % of OpenBLAS called directly):');
const ceiling = matmulGflops['openblas-direct']!;
for (const [impl, g] of Object.entries({ ...matmulGflops, ...fallbackMatmulGflops })) {
  console.log(`  ${impl.padEnd(16)} ${g.toFixed(2).padStart(8)}  ${((100 * g) / ceiling).toFixed(1).padStart(5)}%`);
}

// Training: batch 8 x 128 tokens; the stock cpu backend runs the 10M config on 2 sequences
// (its step is otherwise close to two minutes; tokens/s hardly depends on the batch there).
interface TrainRow {
  config: string;
  parameters: number;
  backend: TfBackendName | 'torch';
  batch: number;
  seq: number;
  secondsPerStep: number;
  tokensPerSecond: number;
}
const trainRows: TrainRow[] = [];
const trainTokensPerSec: Record<string, Record<string, number>> = {};
for (const backend of BACKENDS) {
  if (!(await useBackend(backend))) continue;
  for (const [config, modelConfig] of Object.entries(BENCH_CONFIGS)) {
    if (opt.quick && config !== '1M') continue;
    const model = LlamaModel.init(modelConfig, 1);
    const seq = 128;
    const batch = backend === 'cpu' && config === '10M' ? 2 : opt.quick && backend !== 'rapo-native' ? 4 : 8;
    const fast = backend === 'rapo-native';
    const s = trainStepSeconds(model, batch, seq, fast ? 3 : 2, fast && !opt.quick ? 10 : 0);
    model.dispose();
    const row: TrainRow = { config, parameters: parameterCount(modelConfig), backend, batch, seq, secondsPerStep: s, tokensPerSecond: (batch * seq) / s };
    trainRows.push(row);
    (trainTokensPerSec[config] ??= {})[backend] = row.tokensPerSecond;
    console.log(
      `  train ${config.padEnd(4)} ${backend.padEnd(12)} batch ${batch} x ${seq}: ${row.tokensPerSecond.toFixed(0).padStart(6)} tokens/s (${s.toFixed(2)} s/step)`,
    );
  }
}

// The peer: PyTorch training the same shapes on as many threads as the addon's kernels use.
const torch = torchAvailable();
if (!torch.ok) console.log(`  torch: skipped (${torch.reason})`);
else {
  for (const [config, modelConfig] of Object.entries(BENCH_CONFIGS)) {
    if (opt.quick && config !== '1M') continue;
    const [batch, seq] = [8, 128];
    const t = runTorch(modelConfig, { task: 'train', batch, seq, runs: 3, minSeconds: opt.quick ? 0 : 10 }, threads, torch.python);
    const row: TrainRow = {
      config,
      parameters: parameterCount(modelConfig),
      backend: 'torch',
      batch,
      seq,
      secondsPerStep: t.seconds,
      tokensPerSecond: t.tokensPerSecond,
    };
    trainRows.push(row);
    (trainTokensPerSec[config] ??= {}).torch = row.tokensPerSecond;
    console.log(
      `  train ${config.padEnd(4)} ${`torch ${torch.version}`.padEnd(12)} batch ${batch} x ${seq}: ${row.tokensPerSecond.toFixed(0).padStart(6)} tokens/s (${t.seconds.toFixed(2)} s/step, ${t.threads} threads)`,
    );
  }
}

console.log('\ntargets:');
const ratio = matmulGflops['rapo-native']! / ceiling;
console.log(`  matmul rapo-native / openblas-direct = ${(100 * ratio).toFixed(1)}% (target >= 70%: ${ratio >= 0.7 ? 'met' : 'MISSED'})`);
const t1 = trainTokensPerSec['1M'];
if (t1?.['rapo-native'] && t1.wasm) {
  const x = t1['rapo-native'] / t1.wasm;
  console.log(`  1M training rapo-native / wasm = ${x.toFixed(1)}x (target >= 10x: ${x >= 10 ? 'met' : 'MISSED'})`);
}
for (const [config, t] of Object.entries(trainTokensPerSec)) {
  if (!t['rapo-native'] || !t.torch) continue;
  const x = t['rapo-native'] / t.torch;
  console.log(`  ${config} training rapo-native / torch = ${x.toFixed(2)}x (target >= 2x: ${x >= 2 ? 'met' : 'MISSED'})`);
}

const file = join(opt.out!, `${slug(cpuName)}-training${opt.quick ? '.quick' : ''}.json`);
writeJsonAtomic(file, {
  device: cpuName,
  matmulGflops,
  trainTokensPerSec,
  createdAt: new Date().toISOString(),
  blas: blas.library,
  blasCore: blas.core,
  kernelThreads: threads,
  fallbackMatmulGflops,
  trainRuns: trainRows,
});
console.log(`\nwrote ${file}`);

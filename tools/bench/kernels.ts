// Kernel throughput benchmark: `npm run bench` (full grid) or `npm run bench -- --quick`.
// Measures, in one run, the machine's ceiling (CPU streaming read, GPU device-to-device copy)
// and miForward / logprobBackward for every implementation that runs here, then prints the
// table and the targets and writes bench/results/<device>.json. See docs/perf.md. Each op has
// its own section below (benchMiForward, benchLogprobBackward): per shape, the miForward
// section runs first, then the logprobBackward one.
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  backendInfo,
  DeviceTensor,
  logprobBackward,
  miForward,
  streamRead,
  timeDeviceCopyCuda,
  timeLogprobBackwardCuda,
  timeMiForwardCuda,
  toBf16,
  type LogprobBackwardArgs,
  type MiForwardArgs,
} from '@rapo/kernels';
import { makeBenchData, subset, type BenchData } from './lib/data.js';
import { gbps, median, timeSync } from './lib/measure.js';
import {
  bytesMoved,
  checkTargets,
  formatTable,
  logitsBytes,
  slug,
  withSpeedups,
  writeJsonAtomic,
  type BenchDType,
  type BenchResults,
  type Impl,
  type Op,
  type ResultRow,
} from './lib/report.js';
import { loadTfjsBackends, prepare, useBackend, type TfjsBackend } from './lib/tfjs-composite.js';
import { benchOptions } from './lib/options.js';

const HELP = `Usage: npm run bench -- [options]

  --quick               the target shape only (N=2048, V=32768), f32 and bf16; under a minute
  --shapes NxV,...      shapes to run (default: N in 512,2048,8192 x V in 4096,32768,151936)
  --impl a,b            only these implementations (native-cuda, native-cuda-e2e, native-cpu,
                        ts-fused, tfjs)
  --max-slow-mb MB      ts-fused and tfjs run on as many rows as fit in MB of logits (both
                        tensors) and are scaled to N (default 16)
  --out DIR             where <device>.json goes (default bench/results)
  --min-time S          seconds each measurement repeats for (default 1; 0.3 with --quick)
  --help`;

const opt = benchOptions(HELP, {
  shapes: { type: 'string' },
  impl: { type: 'string' },
  'max-slow-mb': { type: 'string' },
  'min-time': { type: 'string' },
});
function parseShapes(text: string): [number, number][] {
  return text.split(',').map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s.trim());
    if (!m) throw new TypeError(`Expected shapes like 2048x32768 for --shapes but received "${s}"`);
    return [Number(m[1]), Number(m[2])];
  });
}

const shapes: [number, number][] = opt.shapes
  ? parseShapes(opt.shapes)
  : opt.quick
    ? [[2048, 32768]]
    : [512, 2048, 8192].flatMap((n) => [4096, 32768, 151936].map((v) => [n, v] as [number, number]));
const implFilter = opt.impl ? new Set(opt.impl.split(',')) : undefined;
const wants = (impl: string) => !implFilter || implFilter.has(impl) || (impl.startsWith('tfjs') && implFilter.has('tfjs'));
const minSeconds = Number(opt['min-time'] ?? (opt.quick ? 0.3 : 1));
const maxSlowBytes = Number(opt['max-slow-mb'] ?? 16) * 1e6;

const info = backendInfo();
if (!info.native) {
  console.error(`${info.nativeError}\nThe benchmark measures the native kernels: build them first.`);
  process.exit(1);
}
const cuda = info.native.cuda;
const cpuName = `${(readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model ?? 'CPU').trim()} (${info.native.cpu.threads} threads)`;
const device = cuda.available ? `${cuda.deviceName} + ${cpuName}` : cpuName;

console.log(`device: ${device}`);
console.log(`native: ${info.native.path} (simd ${info.native.cpu.simd}, cuda ${cuda.available ? cuda.deviceName : `unavailable: ${cuda.reason}`})`);

// --- ceilings ----------------------------------------------------------------------------------
// Median of repeated reads: the same statistic the kernels are reported with.
function cpuReadCeiling(bytes: number): number {
  const data = new Float32Array(Math.floor(bytes / 4)).fill(1);
  return gbps(data.byteLength, timeSync(() => streamRead(data), { minSeconds: 0.5, maxRuns: 30 }).seconds);
}
// At least 512 MiB so the read comes from memory, not cache.
const ceilingBytes = Math.max(512 * 2 ** 20, Math.min(2 * 2 ** 30, Math.max(...shapes.map(([n, v]) => 2 * n * v * 4))));
const cpuReads = [cpuReadCeiling(ceilingBytes)];
const cpuReadNow = () => median(cpuReads);
console.log(`ceiling: CPU streaming read ${cpuReadNow().toFixed(1)} GB/s over ${(ceilingBytes / 2 ** 20).toFixed(0)} MiB`);
let cudaCopy: number | null = null;
if (cuda.available) {
  const bytes = 2 ** 30;
  const t = timeDeviceCopyCuda(bytes, 20);
  cudaCopy = (2 * bytes) / t / 1e9; // read + write
  console.log(`ceiling: GPU device-to-device copy ${cudaCopy.toFixed(0)} GB/s (bytes read + written)`);
}

const tfjsBackends = wants('tfjs') ? await loadTfjsBackends() : [];
for (const b of tfjsBackends) console.log(`tfjs-${b.name}: ${b.error ? `skipped, ${b.error}` : 'loaded'}`);

// --- measurements ----------------------------------------------------------------------------
const rows: Omit<ResultRow, 'speedupVsBestTfjs'>[] = [];

function record(op: Op, impl: Impl, dtype: BenchDType, n: number, v: number, seconds: number, measuredRows = n): void {
  const ceiling = impl.startsWith('native-cuda') ? cudaCopy! : cpuReadNow();
  const row = {
    op,
    impl,
    dtype,
    n,
    v,
    seconds,
    ...(measuredRows !== n ? { measuredRows } : {}),
    gbps: gbps(logitsBytes(op, dtype, n, v), seconds),
    fractionOfCeiling: gbps(bytesMoved(op, dtype, n, v), seconds) / ceiling,
  };
  rows.push(row);
  const note = measuredRows !== n ? ` (measured on ${measuredRows} rows, scaled to ${n})` : '';
  console.log(
    `  ${op.padEnd(15)} ${impl.padEnd(16)} ${dtype.padEnd(4)} ${n}x${v}: ${(seconds * 1e3).toFixed(2)} ms, ${row.gbps.toFixed(2)} GB/s, ${(100 * row.fractionOfCeiling).toFixed(1)}% of ceiling${note}`,
  );
}

function forwardArgs(d: BenchData, dtype: BenchDType, withL: MiForwardArgs['logitsWith'], withoutL: MiForwardArgs['logitsWith']): MiForwardArgs {
  return {
    dtype,
    logitsWith: withL,
    logitsWithout: withoutL,
    tokens: d.tokens,
    vocabSize: d.v,
    seqOffsets: d.seqOffsets,
    advantages: d.advantages,
    norm: 'clip',
    scale: 2,
    lamPos: 0.5,
    lamNeg: 0.5,
  };
}

/** What both ops' sections measure on one shape. */
interface ShapeInputs {
  n: number;
  v: number;
  d: BenchData;
  /** Both logits tensors per dtype (bf16: the f32 values rounded). */
  arrays: Record<BenchDType, readonly [Float32Array | Uint16Array, Float32Array | Uint16Array]>;
  /** Each dtype's backward needs the lse of its own (rounded) logits. */
  lseOf: Record<BenchDType, Float32Array>;
  coef: Float32Array;
  timing: { minSeconds: number; maxRuns: number };
  /**
   * ts-fused and tfjs are 100-10000x slower: they run on the first `slowRows` rows (every op is
   * linear in N) and their time is scaled to N. One warm-up run first: tfjs-wasm's first call
   * alone costs as much as hundreds of rows. Documented in docs/perf.md.
   */
  slowRows: number;
  scaleUp: number;
  slow: BenchData;
  slowTiming: { minSeconds: number; maxRuns: number };
}

function shapeInputs(n: number, v: number): ShapeInputs {
  const d = makeBenchData(n, v);
  const arrays = {
    f32: [d.withF32, d.withoutF32] as const,
    bf16: [toBf16(d.withF32), toBf16(d.withoutF32)] as const,
  };
  const lseOf = {
    f32: miForward(forwardArgs(d, 'f32', ...arrays.f32), { backend: 'cpu' }).lseWith,
    bf16: miForward(forwardArgs(d, 'bf16', ...arrays.bf16), { backend: 'cpu' }).lseWith,
  };
  const slowRows = Math.min(n, Math.max(1, Math.floor(maxSlowBytes / (2 * v * 4))));
  return {
    n,
    v,
    d,
    arrays,
    lseOf,
    coef: new Float32Array(n).fill(0.5),
    timing: { minSeconds, maxRuns: 50 },
    slowRows,
    scaleUp: n / slowRows,
    slow: slowRows === n ? d : subset(d, slowRows),
    slowTiming: { minSeconds: 0, maxRuns: 1 },
  };
}

/** Kernel-only CUDA timing: a short probe picks the iteration count for about 0.3 s. */
function timeCudaKernels(time: (iterations: number) => number): number {
  const probe = time(3);
  return time(Math.max(5, Math.min(2000, Math.ceil(0.3 / probe))));
}

/** timeCudaKernels on tensors already on the device, which are freed after. */
function kernelSeconds(onDevice: DeviceTensor[], time: (iterations: number) => number): number {
  try {
    return timeCudaKernels(time);
  } finally {
    for (const t of onDevice) t.free();
  }
}

// --- miForward: every implementation on one shape --------------------------------------------

function benchMiForward(x: ShapeInputs, dtype: BenchDType): void {
  const { n, v } = x;
  const [w, wo] = x.arrays[dtype];
  const fwd = forwardArgs(x.d, dtype, w, wo);
  const put = (impl: Impl, seconds: number, rows?: number) => record('miForward', impl, dtype, n, v, seconds, rows);
  if (wants('native-cpu')) {
    put('native-cpu', timeSync(() => miForward(fwd, { backend: 'cpu' }), x.timing).seconds);
  }
  if (cuda.available && wants('native-cuda')) {
    const [a, b] = [DeviceTensor.upload(w), DeviceTensor.upload(wo)];
    put(
      'native-cuda',
      kernelSeconds([a, b], (iterations) => timeMiForwardCuda({ ...fwd, logitsWith: a, logitsWithout: b }, iterations)),
    );
  }
  if (cuda.available && wants('native-cuda-e2e')) {
    put('native-cuda-e2e', timeSync(() => miForward(fwd, { backend: 'cuda' }), x.timing).seconds);
  }
  if (wants('ts-fused')) {
    const sw = dtype === 'f32' ? x.slow.withF32 : toBf16(x.slow.withF32);
    const swo = dtype === 'f32' ? x.slow.withoutF32 : toBf16(x.slow.withoutF32);
    const sf = forwardArgs(x.slow, dtype, sw, swo);
    put('ts-fused', x.scaleUp * timeSync(() => miForward(sf, { backend: 'js' }), x.slowTiming).seconds, x.slowRows);
  }
}

async function benchMiForwardTfjs(x: ShapeInputs, backends: TfjsBackend[]): Promise<void> {
  for (const b of backends) {
    if (b.error) continue;
    await useBackend(b.name);
    const p = prepareTfjs(x);
    const t = b.name.startsWith('node') ? x.timing : x.slowTiming;
    record('miForward', `tfjs-${b.name}`, 'f32', x.n, x.v, x.scaleUp * timeSync(() => p.run(), t).seconds, x.slowRows);
    p.dispose();
  }
}

// --- logprobBackward: every implementation on one shape --------------------------------------

function benchLogprobBackward(x: ShapeInputs, dtype: BenchDType): void {
  const { n, v } = x;
  const [w] = x.arrays[dtype];
  const bwd: LogprobBackwardArgs = { dtype, logits: w, tokens: x.d.tokens, vocabSize: v, lse: x.lseOf[dtype], coef: x.coef, outDtype: dtype };
  const put = (impl: Impl, seconds: number, rows?: number) => record('logprobBackward', impl, dtype, n, v, seconds, rows);
  if (wants('native-cpu')) {
    const out = dtype === 'f32' ? new Float32Array(n * v) : new Uint16Array(n * v);
    put('native-cpu', timeSync(() => logprobBackward({ ...bwd, out }, { backend: 'cpu' }), x.timing).seconds);
  }
  if (cuda.available && wants('native-cuda')) {
    const [a, g] = [DeviceTensor.upload(w), DeviceTensor.empty(dtype, n * v)];
    put(
      'native-cuda',
      kernelSeconds([a, g], (iterations) => timeLogprobBackwardCuda({ ...bwd, logits: a, out: g }, iterations)),
    );
  }
  if (cuda.available && wants('native-cuda-e2e')) {
    put('native-cuda-e2e', timeSync(() => logprobBackward(bwd, { backend: 'cuda' }), x.timing).seconds);
  }
  if (wants('ts-fused')) {
    const sw = dtype === 'f32' ? x.slow.withF32 : toBf16(x.slow.withF32);
    const sb = { ...bwd, logits: sw, tokens: x.slow.tokens, lse: x.lseOf[dtype].subarray(0, x.slowRows), coef: x.coef.subarray(0, x.slowRows) };
    put('ts-fused', x.scaleUp * timeSync(() => logprobBackward(sb, { backend: 'js' }), x.slowTiming).seconds, x.slowRows);
  }
}

async function benchLogprobBackwardTfjs(x: ShapeInputs, backends: TfjsBackend[]): Promise<void> {
  for (const b of backends) {
    if (b.error) continue;
    await useBackend(b.name);
    const p = prepareTfjs(x);
    const t = b.name.startsWith('node') ? x.timing : x.slowTiming;
    record(
      'logprobBackward',
      `tfjs-${b.name}`,
      'f32',
      x.n,
      x.v,
      x.scaleUp * timeSync(() => p.runBackward(x.lseOf.f32.subarray(0, x.slowRows), x.coef.subarray(0, x.slowRows)), t).seconds,
      x.slowRows,
    );
    p.dispose();
  }
}

/** The tfjs composite of both ops on the slow subset, float32 (tfjs has no bf16). */
function prepareTfjs(x: ShapeInputs) {
  return prepare({
    n: x.slowRows,
    v: x.v,
    withLogits: x.slow.withF32,
    withoutLogits: x.slow.withoutF32,
    tokens: x.slow.tokens,
    rowAdvantages: x.slow.rowAdvantages,
    temperature: 1,
    scale: 2,
    lamPos: 0.5,
    lamNeg: 0.5,
  });
}

// --- the grid ----------------------------------------------------------------------------------

const memoryBudget = totalmem() * 0.35;
for (const [n, v] of shapes) {
  const hostBytes = n * v * (4 + 4 + 2 + 2) + n * v * 4; // f32 + bf16 copies + one output
  if (hostBytes > memoryBudget) {
    console.log(`shape ${n}x${v}: skipped, needs ${(hostBytes / 1e9).toFixed(1)} GB of the ${(memoryBudget / 1e9).toFixed(1)} GB budget`);
    continue;
  }
  console.log(`shape ${n}x${v}: generating inputs`);
  const x = shapeInputs(n, v);
  for (const dtype of ['f32', 'bf16'] as const) benchMiForward(x, dtype);
  await benchMiForwardTfjs(x, tfjsBackends);
  for (const dtype of ['f32', 'bf16'] as const) benchLogprobBackward(x, dtype);
  await benchLogprobBackwardTfjs(x, tfjsBackends);
  // The ceiling again after each shape: the run's ceiling is the median of these.
  cpuReads.push(cpuReadCeiling(ceilingBytes));
}

// Fractions against the run's ceiling (median of the reads measured between shapes).
const cpuRead = cpuReadNow();
const ceilingOf = (impl: Impl) => (impl.startsWith('native-cuda') ? cudaCopy! : cpuRead);
const finalRows = withSpeedups(rows.map((r) => ({ ...r, fractionOfCeiling: gbps(bytesMoved(r.op, r.dtype, r.n, r.v), r.seconds) / ceilingOf(r.impl) })));

console.log(`\nceilings: CPU read ${cpuRead.toFixed(1)} GB/s${cudaCopy ? `, GPU copy ${cudaCopy.toFixed(0)} GB/s` : ''}`);
console.log(formatTable(finalRows));
console.log('\ntargets:');
for (const c of checkTargets(finalRows)) {
  const value = c.value === null ? 'not measured' : c.target < 1.5 ? `${(100 * c.value).toFixed(1)}%` : `${c.value.toFixed(1)}x`;
  const target = c.target < 1.5 ? `${(100 * c.target).toFixed(0)}%` : `${c.target}x`;
  console.log(`  ${c.pass === null ? 'n/a ' : c.pass ? 'PASS' : 'MISS'}  ${c.name}: ${value} (target >= ${target})`);
}

const results: BenchResults = {
  device,
  ceilingGBps: cudaCopy ?? cpuRead,
  ceilings: { cpuReadGBps: cpuRead, cudaCopyGBps: cudaCopy },
  createdAt: new Date().toISOString(),
  command: `npm run bench --${process.argv
    .slice(2)
    .map((a) => ` ${a}`)
    .join('')}`,
  results: finalRows,
};
const file = join(opt.out!, `${slug(device)}${opt.quick ? '.quick' : ''}.json`);
writeJsonAtomic(file, results);
console.log(`\nwrote ${file}`);

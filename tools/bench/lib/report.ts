// Benchmark results: the JSON other tools read (bench/results/<device>.json), the printed
// table, and the targets of docs/perf.md.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export type Op = 'miForward' | 'logprobBackward';
export type Impl = 'native-cuda' | 'native-cuda-e2e' | 'native-cpu' | 'ts-fused' | `tfjs-${string}`;
export type BenchDType = 'f32' | 'bf16';

export interface ResultRow {
  op: Op;
  impl: Impl;
  dtype: BenchDType;
  n: number;
  v: number;
  seconds: number;
  /** Logits consumed per second (both conditionings for miForward), 1e9 bytes. */
  gbps: number;
  /** Every byte the op must move (logits read; dlogits written too) per second, over the ceiling. */
  fractionOfCeiling: number;
  /** Best tfjs time / this time, same op and shape (tfjs runs f32 only); null without tfjs. */
  speedupVsBestTfjs: number | null;
  /** Set when the time was measured on fewer rows and scaled to n (slow implementations). */
  measuredRows?: number;
}

export interface BenchResults {
  device: string;
  /** The ceiling fractions are taken against: GPU copy bandwidth on a GPU run, else CPU read. */
  ceilingGBps: number;
  ceilings: { cpuReadGBps: number; cudaCopyGBps: number | null };
  createdAt: string;
  command: string;
  results: ResultRow[];
}

export function dtypeBytes(d: BenchDType): number {
  return d === 'f32' ? 4 : 2;
}

/** Bytes of logits an op consumes. */
export function logitsBytes(op: Op, dtype: BenchDType, n: number, v: number): number {
  return (op === 'miForward' ? 2 : 1) * n * v * dtypeBytes(dtype);
}

/** Bytes an op must move: the logits it reads, plus, for the backward, the dlogits it writes. */
export function bytesMoved(op: Op, dtype: BenchDType, n: number, v: number): number {
  const written = op === 'logprobBackward' ? n * v * dtypeBytes(dtype) : 0;
  return logitsBytes(op, dtype, n, v) + written;
}

/** Fills speedupVsBestTfjs from the tfjs rows of the same op and shape. */
export function withSpeedups(rows: Omit<ResultRow, 'speedupVsBestTfjs'>[]): ResultRow[] {
  return rows.map((r) => {
    const tfjs = rows.filter((t) => t.impl.startsWith('tfjs-') && t.op === r.op && t.n === r.n && t.v === r.v);
    const best = tfjs.length ? Math.min(...tfjs.map((t) => t.seconds)) : undefined;
    return { ...r, speedupVsBestTfjs: best === undefined ? null : best / r.seconds };
  });
}

export function formatTable(rows: ResultRow[]): string {
  const head = ['op', 'impl', 'dtype', 'N', 'V', 'ms', 'GB/s', '% ceiling', 'x tfjs'];
  const body = rows.map((r) => [
    r.op,
    r.impl,
    r.dtype,
    String(r.n),
    String(r.v),
    (r.seconds * 1e3).toFixed(r.seconds < 0.01 ? 3 : 1),
    r.gbps.toFixed(2),
    (100 * r.fractionOfCeiling).toFixed(1),
    r.speedupVsBestTfjs === null ? '-' : r.speedupVsBestTfjs.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export interface TargetCheck {
  name: string;
  value: number | null;
  target: number;
  pass: boolean | null;
}

/** The targets of the foundation issue, checked on the rows of this run. */
export function checkTargets(rows: ResultRow[]): TargetCheck[] {
  const find = (impl: Impl) => rows.find((r) => r.op === 'miForward' && r.impl === impl && r.dtype === 'f32' && r.n === 2048 && r.v === 32768);
  const checks: TargetCheck[] = [];
  const cpu = find('native-cpu');
  checks.push({ name: 'native-cpu miForward f32 2048x32768: fraction of the read ceiling', value: cpu?.fractionOfCeiling ?? null, target: 0.7, pass: null });
  checks.push({ name: 'native-cpu miForward f32 2048x32768: speedup over the best tfjs', value: cpu?.speedupVsBestTfjs ?? null, target: 20, pass: null });
  const gpu = find('native-cuda');
  if (gpu) checks.push({ name: 'native-cuda miForward f32 2048x32768: fraction of the copy bandwidth', value: gpu.fractionOfCeiling, target: 0.8, pass: null });
  return checks.map((c) => ({ ...c, pass: c.value === null ? null : c.value >= c.target }));
}

/** Result files are written atomically, as every rapo file is (@rapo/files). */
export { writeJsonAtomic } from '@rapo/files';

/** The CPU's model name and core count, e.g. "AMD EPYC (2 cores)", for result files. */
export function cpuDeviceName(): string {
  const model = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model ?? 'CPU';
  return `${model.trim()} (${cpus().length} cores)`;
}

/** A file-name-safe form of a device name. */
export function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'device'
  );
}

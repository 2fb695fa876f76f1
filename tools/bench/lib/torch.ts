// The PyTorch column of the model benchmarks: runs tools/bench/torch/llama_bench.py (the same
// decoder shapes and the same work in PyTorch) in a child python3, when python3 can import torch.
// PyTorch is a peer to measure against, never a dependency: without it the column is skipped
// with the reason and how to get it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBlasCoreChoice } from '@rapo/kernels';
import type { ModelConfig } from '@rapo/model';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../torch/llama_bench.py');

export type TorchCheck = { ok: true; python: string; version: string } | { ok: false; reason: string };

/**
 * The first Python that can import torch, and torch's version: $RAPO_BENCH_PYTHON when set, else
 * python3 on the PATH, then the system's /usr/bin/python3 (Debian's python3-torch installs there,
 * and a pyenv or venv python3 first on the PATH does not see it).
 */
export function torchAvailable(candidates = process.env.RAPO_BENCH_PYTHON ? [process.env.RAPO_BENCH_PYTHON] : ['python3', '/usr/bin/python3']): TorchCheck {
  const failures: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.error) failures.push(`${python} could not be started (${r.error.message})`);
    else if (r.status !== 0) failures.push(`${python} cannot import torch (${r.stderr.trim().split('\n').at(-1) ?? ''})`);
    else return { ok: true, python, version: r.stdout.trim() };
  }
  return { ok: false, reason: `${failures.join('; ')}; on Debian or Ubuntu: apt-get install python3-torch, or set RAPO_BENCH_PYTHON to a Python with torch` };
}

export interface TorchTrain {
  task: 'train';
  batch: number;
  seq: number;
  runs?: number;
  minSeconds?: number;
}
export interface TorchGenerate {
  task: 'generate';
  batch: number;
  newTokens: number;
}

export interface TorchResult {
  torch: string;
  threads: number;
  /** The kernel family of the OpenBLAS torch ran on ("Cooperlake"), or null when it has none. */
  blasCore: string | null;
  /** train: median seconds per step; generate: seconds of the whole decoding loop. */
  seconds: number;
  tokensPerSecond: number;
}

/**
 * Runs one measurement of the PyTorch peer with `python` (from torchAvailable) on `threads`
 * threads, with the OpenBLAS kernel family rapo's loader chose (if it chose one); throws with its
 * own error when it fails.
 */
export function runTorch(config: ModelConfig, work: TorchTrain | TorchGenerate, threads: number, python: string): TorchResult {
  const args = [SCRIPT, work.task, '--config', JSON.stringify(config), '--batch', String(work.batch), '--threads', String(threads)];
  if (work.task === 'train') args.push('--seq', String(work.seq), '--runs', String(work.runs ?? 3), '--min-seconds', String(work.minSeconds ?? 0));
  else args.push('--new-tokens', String(work.newTokens));
  // The same OpenBLAS kernels on both sides: Debian's torch runs its matmuls on the same
  // libopenblas, which falls back to generic SSE3 kernels on CPUs newer than its model table.
  const core = openBlasCoreChoice();
  const env = core === undefined ? process.env : { ...process.env, OPENBLAS_CORETYPE: core };
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 20, env });
  if (r.error || r.status !== 0) {
    throw new Error(`The PyTorch benchmark failed (${python} ${work.task}): ${r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  const out = JSON.parse(r.stdout) as {
    torch: string;
    threads: number;
    blasCore?: string | null;
    secondsPerStep?: number;
    seconds?: number;
    tokensPerSecond: number;
  };
  return {
    torch: out.torch,
    threads: out.threads,
    blasCore: out.blasCore ?? null,
    seconds: out.secondsPerStep ?? out.seconds!,
    tokensPerSecond: out.tokensPerSecond,
  };
}

/** "OpenBLAS core Cooperlake (chosen from the CPU flags; PyTorch gets the same)", for the benchmarks' headers. */
export function blasCoreLine(core: string): string {
  if (core === 'none') return 'no BLAS';
  return `OpenBLAS core ${core}${openBlasCoreChoice() === undefined ? '' : ' (chosen from the CPU flags; PyTorch gets the same)'}`;
}

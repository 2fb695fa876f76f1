// Which OpenBLAS kernel family the addon asks for on this CPU. OpenBLAS built with DYNAMIC_ARCH
// (Debian's, Ubuntu's) picks its kernels when the library loads, from a table of CPU model
// numbers. A model newer than the table gets its generic SSE3 kernels ("Prescott"), 4x slower on
// an AVX-512 Xeon: OpenBLAS 0.3.21 (Debian 12) does that on Intel family 6 model 207 (Emerald
// Rapids), where its feature-based choice would be "Cooperlake". The loader therefore names the
// family from the CPU's flags in OPENBLAS_CORETYPE while the addon loads, on Intel x86-64 Linux
// and only when the user has not set the variable; what it chose is reported by
// openBlasCoreChoice() and blasInfo().core.
import { readFileSync } from 'node:fs';

const AVX512 = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

/**
 * The OPENBLAS_CORETYPE value for a CPU described by /proc/cpuinfo text, or undefined to leave the
 * choice to OpenBLAS: Intel with AVX-512 and bf16 -> COOPERLAKE, with AVX-512 -> SKYLAKEX, with
 * AVX2 and FMA -> HASWELL (what OpenBLAS picks for the Intel models it knows with those
 * features). Other vendors are left alone: OpenBLAS matches AMD by family, not model.
 */
export function openBlasCoreFor(cpuinfo: string): string | undefined {
  const block = cpuinfo.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim();
  if (field('vendor_id') !== 'GenuineIntel') return undefined;
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  if (AVX512.every((f) => flags.has(f))) return flags.has('avx512_bf16') ? 'COOPERLAKE' : 'SKYLAKEX';
  if (flags.has('avx2') && flags.has('fma')) return 'HASWELL';
  return undefined;
}

/**
 * What the loader sets OPENBLAS_CORETYPE to while the addon loads: undefined when the user set
 * it (even empty), off Linux x86-64, and where the flags name no family.
 */
export function chooseOpenBlasCore(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.OPENBLAS_CORETYPE !== undefined || process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  try {
    return openBlasCoreFor(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

let choice: { core: string | undefined } | undefined;

/**
 * The OPENBLAS_CORETYPE the loader chooses for the addon in this process, loaded or not (undefined
 * when it chooses none). A benchmark running another program on OpenBLAS passes it on, so that
 * both run the same kernels.
 */
export function openBlasCoreChoice(): string | undefined {
  choice ??= { core: chooseOpenBlasCore() };
  return choice.core;
}

/** Runs `load` with OPENBLAS_CORETYPE set to this CPU's choice (if any), then restores the environment. */
export function withOpenBlasCore<T>(load: () => T): T {
  const core = openBlasCoreChoice();
  if (core === undefined) return load();
  process.env.OPENBLAS_CORETYPE = core;
  try {
    return load();
  } finally {
    delete process.env.OPENBLAS_CORETYPE;
  }
}

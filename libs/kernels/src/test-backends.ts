// Test support shared by the per-op test files (mi-forward.test.ts, logprob-backward.test.ts,
// backends.test.ts): every backend variant present here (each CPU instruction set the addon
// has, CUDA, js) with why one is skipped, and the small problem the bad-input tests mutate.
import { afterAll } from 'vitest';
import { backendInfo, setCpuIsa, type Backend, type CpuIsa, type LogprobBackwardArgs, type MiForwardArgs } from './index.js';
import { makeProblem, miArgs } from './test-helpers.js';

export interface Variant {
  name: string;
  backend: Backend;
  skip: string | undefined;
  setup: () => void;
}

export const info = backendInfo();
export const native = info.native;
// Every CPU instruction set compiled into the addon runs, where this CPU supports it.
const cpuVariant = (isa: CpuIsa): Variant => ({
  name: `cpu ${isa}`,
  backend: 'cpu',
  skip: !native ? info.nativeError : native.cpu.available.includes(isa) ? undefined : `this CPU cannot run ${isa}`,
  setup: () => setCpuIsa(isa),
});
export const variants: Variant[] = [
  cpuVariant('avx512'),
  cpuVariant('avx2'),
  cpuVariant('scalar'),
  {
    name: 'cuda',
    backend: 'cuda',
    skip: !native ? info.nativeError : native.cuda.available ? undefined : native.cuda.reason,
    setup: () => {},
  },
  { name: 'js', backend: 'js', skip: undefined, setup: () => {} },
];

export const variantTitle = (variant: Variant) => (variant.skip ? `${variant.name} backend (skipped: ${variant.skip})` : `${variant.name} backend`);

/** Why the CUDA-only tests cannot run here, or undefined. */
export const cudaSkip = !native ? info.nativeError : native.cuda.available ? undefined : native.cuda.reason;

/** Call in each test file that switches instruction sets: the widest again afterwards. */
export function restoreCpuIsaAfterAll(): void {
  afterAll(() => {
    if (native) setCpuIsa('auto');
  });
}

// --- bad input --------------------------------------------------------------------------------

/** The problem the bad-input tests change one thing of: 6 rows of 10 logits, 2 sequences. */
export const p = makeProblem({ seed: 7, n: 6, v: 10, sequences: 2 });
export const base = (): MiForwardArgs => miArgs(p, 'f32');
/** The float64 log-sum-exp of each row of p.withF32, for logprobBackward. */
export const lse = new Float32Array(p.n);
for (let i = 0; i < p.n; i++) {
  let m = -Infinity;
  for (let j = 0; j < p.v; j++) m = Math.max(m, p.withF32[i * p.v + j]!);
  let s = 0;
  for (let j = 0; j < p.v; j++) s += Math.exp(p.withF32[i * p.v + j]! - m);
  lse[i] = m + Math.log(s);
}
export const bbase = (): LogprobBackwardArgs => ({
  logits: p.withF32,
  tokens: p.tokens,
  vocabSize: p.v,
  lse,
  coef: new Float32Array(p.n).fill(1),
});

export type Mutation = [name: string, change: (a: Record<string, unknown>) => void, cls: typeof TypeError, message: string];

/** The CUDA backend also takes device tensors, and its messages say so. */
export const messageFor = (backend: Backend, m: string) => (backend === 'cuda' ? m.replace(/(\(dtype "\w+"\)) for/, '$1 or DeviceTensor for') : m);

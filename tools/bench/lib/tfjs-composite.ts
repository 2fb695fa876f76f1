// The tfjs baseline: what a trainer written with stock tfjs ops computes for the same outputs,
// on every tfjs backend that loads here. miForward: logSoftmax of both conditionings, a gather
// of the sampled tokens, entropy, then the clip normalization and the asymmetric weights.
// logprobBackward: softmax minus one-hot, scaled. tfjs has no bf16: it runs in f32.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface TfjsBackend {
  name: string;
  /** Why it could not be used, when it could not. */
  error?: string;
}

/** Registers and probes the tfjs backends: node-gpu and node when installed, wasm, cpu. */
export async function loadTfjsBackends(): Promise<TfjsBackend[]> {
  const out: TfjsBackend[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
    try {
      await import(pkg);
      out.push({ name: pkg.endsWith('gpu') ? 'node-gpu' : 'node' });
      break; // both register the same "tensorflow" backend
    } catch (e) {
      out.push({ name: pkg.endsWith('gpu') ? 'node-gpu' : 'node', error: `not installed (${(e as Error).message.split('\n')[0]})` });
    }
  }
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(join(dist, '/'));
    out.push({ name: 'wasm' });
  } catch (e) {
    out.push({ name: 'wasm', error: (e as Error).message });
  }
  out.push({ name: 'cpu' });
  const usable: TfjsBackend[] = [];
  for (const b of out) {
    if (b.error) {
      usable.push(b);
      continue;
    }
    const tfName = b.name.startsWith('node') ? 'tensorflow' : b.name;
    try {
      const ok = await tf.setBackend(tfName);
      await tf.ready();
      usable.push(ok ? b : { ...b, error: 'setBackend returned false' });
    } catch (e) {
      usable.push({ ...b, error: (e as Error).message });
    }
  }
  return usable;
}

export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name.startsWith('node') ? 'tensorflow' : name);
  if (!ok) throw new Error(`tfjs backend ${name} failed to initialize`);
  await tf.ready();
}

export interface CompositeInputs {
  n: number;
  v: number;
  withLogits: Float32Array;
  withoutLogits: Float32Array;
  tokens: Int32Array;
  /** One advantage per row (the sequence's advantage repeated). */
  rowAdvantages: Float32Array;
  temperature: number;
  scale: number;
  lamPos: number;
  lamNeg: number;
}

export interface Prepared {
  run(): Record<string, Float32Array>;
  runBackward(lse: Float32Array, coef: Float32Array): Float32Array;
  dispose(): void;
}

/** Uploads the inputs once; run() then computes everything and reads it back (dataSync). */
export function prepare(x: CompositeInputs): Prepared {
  const lw = tf.tensor2d(x.withLogits, [x.n, x.v]);
  const lo = tf.tensor2d(x.withoutLogits, [x.n, x.v]);
  const tok = tf.tensor1d(x.tokens, 'int32');
  const idx = tf.stack([tf.range(0, x.n, 1, 'int32'), tok], 1);
  const adv = tf.tensor1d(x.rowAdvantages);
  const oneHot = tf.oneHot(tok, x.v);
  return {
    run() {
      const outs = tf.tidy(() => {
        const zw = lw.div(x.temperature);
        const zo = lo.div(x.temperature);
        const lsw = tf.logSoftmax(zw);
        const lso = tf.logSoftmax(zo);
        const logpWith = tf.gatherND(lsw, idx) as tf.Tensor1D;
        const logpWithout = tf.gatherND(lso, idx) as tf.Tensor1D;
        const lseWith = tf.logSumExp(zw, 1);
        const entropyWith = tf.neg(tf.sum(tf.mul(tf.exp(lsw), lsw), 1));
        const mi = logpWith.sub(logpWithout);
        const score = mi.clipByValue(-x.scale, x.scale).div(x.scale);
        const weight = tf.where(adv.greater(0), score.mul(x.lamPos).add(1), tf.where(adv.less(0), score.mul(-x.lamNeg).add(1), tf.onesLike(score)));
        const weightedAdvantage = weight.mul(adv);
        return { logpWith, logpWithout, lseWith, mi, score, weight, weightedAdvantage, entropyWith };
      });
      const result: Record<string, Float32Array> = {};
      for (const [k, t] of Object.entries(outs)) {
        result[k] = t.dataSync() as Float32Array;
        t.dispose();
      }
      return result;
    },
    runBackward(lse: Float32Array, coef: Float32Array) {
      return tf.tidy(() => {
        const p = tf.exp(lw.div(x.temperature).sub(tf.tensor2d(lse, [x.n, 1])));
        const g = p.sub(oneHot).mul(tf.tensor2d(coef, [x.n, 1]).div(x.temperature));
        return g.dataSync() as Float32Array;
      });
    },
    dispose() {
      tf.dispose([lw, lo, tok, idx, adv, oneHot]);
    },
  };
}

// AdamW with decoupled weight decay, global-norm gradient clipping and a warm-up + cosine
// schedule. The moments are plain tensors the checkpoint saves, so a resumed run continues
// with exactly the optimizer it had.
import { tf, type NamedTensor } from '@rapo/model';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Updates applied so far. */
  t = 0;
  readonly #m = new Map<string, tf.Variable>();
  readonly #v = new Map<string, tf.Variable>();

  constructor(
    readonly params: Map<string, tf.Variable>,
    options: AdamWOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.95;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const [name, p] of params) {
      this.#m.set(name, tf.variable(tf.zerosLike(p), false));
      this.#v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** One update with `grads` (by parameter name) at learning rate `lr`. 1-d parameters (norms) are not decayed. */
  step(grads: Map<string, tf.Tensor>, lr: number): void {
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) continue;
        const m = this.#m.get(name)!;
        const v = this.#v.get(name)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        const decayed = p.rank > 1 && this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
  }

  /** The moments as named tensors (m.<name>, v.<name>). */
  state(): NamedTensor[] {
    const out: NamedTensor[] = [];
    for (const [name, m] of this.#m) out.push({ name: `m.${name}`, shape: m.shape, data: m.dataSync() as Float32Array });
    for (const [name, v] of this.#v) out.push({ name: `v.${name}`, shape: v.shape, data: v.dataSync() as Float32Array });
    return out;
  }

  load(tensors: Map<string, { shape: number[]; data: Float32Array }>, t: number): void {
    for (const [kind, map] of [
      ['m', this.#m],
      ['v', this.#v],
    ] as const) {
      for (const [name, variable] of map) {
        const saved = tensors.get(`${kind}.${name}`);
        if (!saved) throw new Error(`optimizer state: missing ${kind}.${name}`);
        variable.assign(tf.tensor(saved.data, saved.shape));
      }
    }
    this.t = t;
  }

  dispose(): void {
    for (const v of [...this.#m.values(), ...this.#v.values()]) v.dispose();
  }
}

/** Scales the gradients so their global L2 norm is at most `maxNorm`; returns the norm before. */
export function clipGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  const norm = Math.sqrt(tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
  if (norm > maxNorm && norm > 0) {
    const scale = maxNorm / norm;
    for (const [name, g] of grads) {
      grads.set(name, tf.mul(g, scale));
      g.dispose();
    }
  }
  return norm;
}

/** Linear warm-up to `peak`, then cosine decay to 10% of it at `total` steps. */
export function learningRate(step: number, total: number, peak: number, warmup: number): number {
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const progress = Math.min(1, (step - warmup) / span);
  return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

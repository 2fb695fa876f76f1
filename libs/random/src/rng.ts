// Rng: mulberry32 with the draws a generator of worlds needs (integers, picks, shuffles), and
// seeds derived from labels, so that adding a new kind of draw never shifts the others. No
// Math.random and no clock: the same seed gives byte-identical output on every machine.
import { gaussian, mulberry32 } from './mulberry32.js';

/** FNV-1a over the string, then a 32-bit finalizer: a stable seed from a label. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Expected a finite seed but received ${seed}`);
    this.#next = mulberry32(seed);
  }

  /** A generator for one purpose, independent of the others drawn from the same seed. */
  static derive(seed: number, ...labels: (string | number)[]): Rng {
    return new Rng(hashString(`${seed >>> 0}/${labels.join('/')}`));
  }

  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    return this.#next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Expected a non-empty list to pick from');
    return items[this.int(items.length)]!;
  }

  /** `k` distinct items, in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.shuffle(items).slice(0, k);
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One standard normal draw (two uniforms). */
  gaussian(): number {
    return gaussian(() => this.next());
  }
}

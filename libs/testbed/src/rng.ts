// Seeded randomness for the testbed: every draw comes from an Rng derived from the world seed
// and a label, so adding a new kind of draw never shifts the others, and the same seed gives
// byte-identical output on every machine (no Math.random, no clock).

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
  #a: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Expected a finite seed but received ${seed}`);
    this.#a = seed >>> 0;
  }

  /** A generator for one purpose, independent of the others drawn from the same seed. */
  static derive(seed: number, ...labels: (string | number)[]): Rng {
    return new Rng(hashString(`${seed >>> 0}/${labels.join('/')}`));
  }

  /** Uniform in [0, 1). mulberry32. */
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

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

  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  gaussian(): number {
    return Math.sqrt(-2 * Math.log(Math.max(this.next(), 1e-12))) * Math.cos(2 * Math.PI * this.next());
  }
}

// Where every random draw of a run comes from: a seed per (run seed, label, step), and batches
// of a fixed corpus as consecutive slices of per-epoch permutations. The step is the whole data
// cursor, so a run resumed from a checkpoint draws exactly what the uninterrupted run drew.
import { mulberry32 } from '@rapo/random';

/** A seed for (run seed, label, step): every draw of the run goes through it. */
export function stepSeed(seed: number, label: string, step: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${label}/${step}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** A permutation of 0..n-1 for an epoch, fixed by its seed. */
export function permutation(n: number, seed: number): number[] {
  const next = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** The `count` items of step `step`: consecutive slices of per-epoch permutations. */
export function batchAt<T>(items: T[], count: number, step: number, seed: number, label: string): T[] {
  const out: T[] = [];
  const n = items.length;
  for (let k = 0; k < count; k++) {
    const pos = step * count + k;
    const epoch = Math.floor(pos / n);
    out.push(items[permutation(n, stepSeed(seed, `${label}-epoch`, epoch))[pos % n]!]!);
  }
  return out;
}

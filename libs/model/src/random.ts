// Seeded randomness for weights and sampling: the same numbers on every backend and machine.

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` draws from normal(0, std) by Box-Muller. */
export function normalArray(n: number, std: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12)));
    const th = 2 * Math.PI * next();
    out[i] = r * Math.cos(th) * std;
    if (i + 1 < n) out[i + 1] = r * Math.sin(th) * std;
  }
  return out;
}

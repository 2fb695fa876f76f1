// @rapo/random: the sequences are pinned to exact values, because initial weights, sampled
// answers, testbed characters and bit-exact resumes all depend on them never changing.
import { describe, expect, it } from 'vitest';
import { gaussian, hashString, mulberry32, normalArray, Rng } from './index.js';

describe('mulberry32', () => {
  it('gives the same pinned sequence for a seed, in [0, 1)', () => {
    const next = mulberry32(1);
    expect([next(), next(), next()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
    const other = mulberry32(2 ** 32 + 1); // seeds are taken modulo 2^32
    expect(other()).toBe(0.6270739405881613);
    const r = mulberry32(123);
    for (let i = 0; i < 1000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});

describe('gaussian and normalArray', () => {
  it('gaussian is Box-Muller on two uniforms (cosine branch)', () => {
    const a = mulberry32(5);
    const u1 = a();
    const u2 = a();
    expect(gaussian(mulberry32(5))).toBe(Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
    expect(Number.isFinite(gaussian(() => 0))).toBe(true); // a zero uniform is clamped
  });

  it('normalArray uses both branches, is seeded, and has about the asked std', () => {
    const a = mulberry32(9);
    const u1 = a();
    const u2 = a();
    const r = Math.sqrt(-2 * Math.log(u1));
    const xs = normalArray(3, 2, 9);
    expect(xs[0]).toBe(Math.fround(r * Math.cos(2 * Math.PI * u2) * 2));
    expect(xs[1]).toBe(Math.fround(r * Math.sin(2 * Math.PI * u2) * 2));
    expect(Array.from(normalArray(3, 2, 9))).toEqual(Array.from(xs));
    const big = normalArray(20000, 0.5, 1);
    const mean = big.reduce((s, x) => s + x, 0) / big.length;
    const std = Math.sqrt(big.reduce((s, x) => s + (x - mean) ** 2, 0) / big.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.02);
  });
});

describe('Rng', () => {
  it('draws the mulberry32 sequence of its seed', () => {
    const rng = new Rng(1);
    const ref = mulberry32(1);
    for (let i = 0; i < 5; i++) expect(rng.next()).toBe(ref());
    expect(() => new Rng(NaN)).toThrow(RangeError);
  });

  it('derives independent, reproducible generators from labels', () => {
    expect(hashString('')).toBe(hashString(''));
    expect(hashString('a')).not.toBe(hashString('b'));
    expect(hashString('1/world')).toBe(3521660321); // the value of the testbed's original copy
    const a = Rng.derive(1, 'world', 3).next();
    expect(Rng.derive(1, 'world', 3).next()).toBe(a);
    expect(new Rng(hashString('1/world/3')).next()).toBe(a);
    expect(Rng.derive(1, 'world', 4).next()).not.toBe(a);
  });

  it('int, pick, sample, shuffle, chance and gaussian draw from the same stream', () => {
    const rng = new Rng(7);
    const ref = mulberry32(7);
    expect(rng.int(10)).toBe(Math.floor(ref() * 10));
    expect(rng.pick(['a', 'b', 'c'])).toBe(['a', 'b', 'c'][Math.floor(ref() * 3)]);
    expect(() => rng.pick([])).toThrow('non-empty');
    const items = [1, 2, 3, 4, 5];
    const shuffled = new Rng(3).shuffle(items);
    expect([...shuffled].sort()).toEqual(items);
    expect(new Rng(3).shuffle(items)).toEqual(shuffled);
    expect(new Rng(3).sample(items, 2)).toEqual(shuffled.slice(0, 2));
    expect(items).toEqual([1, 2, 3, 4, 5]); // the input is not touched
    expect(new Rng(4).chance(1)).toBe(true);
    expect(new Rng(4).chance(0)).toBe(false);
    expect(new Rng(11).gaussian()).toBe(gaussian(mulberry32(11)));
    expect(new Rng(7).gaussian()).toBe(2.759372987028844); // pinned from the testbed's original copy
  });
});

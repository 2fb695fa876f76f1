import { tf } from '@rapo/model';
import { describe, expect, it } from 'vitest';
import { AdamW, clipGlobalNorm, learningRate } from './optim.js';

describe('AdamW', () => {
  it('matches a float64 AdamW over three steps, decaying matrices but not vectors', () => {
    const w0 = [
      [0.5, -1],
      [2, 0.25],
    ];
    const b0 = [0.1, -0.2];
    const params = new Map<string, tf.Variable>([
      ['w', tf.variable(tf.tensor2d(w0))],
      ['b', tf.variable(tf.tensor1d(b0))],
    ]);
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    const gs = [
      [
        [0.1, -0.2],
        [0.3, 0.05],
      ],
      [
        [-0.4, 0.1],
        [0.2, 0.2],
      ],
      [
        [0.05, 0.05],
        [-0.1, 0.3],
      ],
    ];
    const gb = [
      [1, -1],
      [0.5, 0.5],
      [-2, 0],
    ];
    // reference
    const w = w0.flat();
    const b = [...b0];
    const mw = [0, 0, 0, 0],
      vw = [0, 0, 0, 0],
      mb = [0, 0],
      vb = [0, 0];
    const lr = 0.01;
    for (let s = 0; s < 3; s++) {
      opt.step(
        new Map<string, tf.Tensor>([
          ['w', tf.tensor2d(gs[s]!)],
          ['b', tf.tensor1d(gb[s]!)],
        ]),
        lr,
      );
      const t = s + 1;
      const upd = (p: number[], m: number[], v: number[], g: number[], decay: boolean) => {
        for (let i = 0; i < p.length; i++) {
          m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
          v[i] = 0.95 * v[i]! + 0.05 * g[i]! ** 2;
          const u = m[i]! / (1 - 0.9 ** t) / (Math.sqrt(v[i]! / (1 - 0.95 ** t)) + 1e-8);
          p[i] = (decay ? p[i]! * (1 - lr * 0.1) : p[i]!) - lr * u;
        }
      };
      upd(w, mw, vw, gs[s]!.flat(), true);
      upd(b, mb, vb, gb[s]!, false);
    }
    Array.from(params.get('w')!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(w[i]!, 6));
    Array.from(params.get('b')!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 6));
    expect(opt.t).toBe(3);
  });

  it('saves and restores its moments, so a restored optimizer makes the same update', () => {
    const make = () =>
      new Map([
        [
          'w',
          tf.variable(
            tf.tensor2d([
              [1, 2],
              [3, 4],
            ]),
          ),
        ],
      ]);
    const p1 = make();
    const a = new AdamW(p1, { weightDecay: 0.01 });
    a.step(
      new Map([
        [
          'w',
          tf.tensor2d([
            [0.1, 0.2],
            [0.3, 0.4],
          ]),
        ],
      ]),
      0.1,
    );
    const p2 = make();
    p2.get('w')!.assign(p1.get('w')!);
    const b = new AdamW(p2, { weightDecay: 0.01 });
    b.load(new Map(a.state().map((t) => [t.name, t])), a.t);
    const g = () =>
      new Map([
        [
          'w',
          tf.tensor2d([
            [-0.1, 0.5],
            [0, 1],
          ]),
        ],
      ]);
    a.step(g(), 0.1);
    b.step(g(), 0.1);
    expect(Array.from(p2.get('w')!.dataSync())).toEqual(Array.from(p1.get('w')!.dataSync()));
    expect(() => b.load(new Map(), 1)).toThrow(/missing m\.w/);
  });
});

describe('clipping and schedule', () => {
  it('clips the global norm and returns the norm before clipping', () => {
    const grads = new Map<string, tf.Tensor>([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor1d([0, 4])],
    ]);
    expect(clipGlobalNorm(grads, 1)).toBeCloseTo(5, 6);
    expect(Array.from(grads.get('a')!.dataSync())[0]).toBeCloseTo(0.6, 6);
    expect(Array.from(grads.get('b')!.dataSync())[1]).toBeCloseTo(0.8, 6);
    const small = new Map<string, tf.Tensor>([['a', tf.tensor1d([0.3, 0.4])]]);
    expect(clipGlobalNorm(small, 1)).toBeCloseTo(0.5, 6);
    expect(Array.from(small.get('a')!.dataSync())[0]).toBeCloseTo(0.3, 6);
  });

  it('warms up linearly then decays along a cosine', () => {
    expect(learningRate(0, 100, 1, 10)).toBeCloseTo(0.1, 12);
    expect(learningRate(9, 100, 1, 10)).toBeCloseTo(1, 12);
    const mid = learningRate(55, 100, 1, 10);
    expect(mid).toBeLessThan(1);
    expect(mid).toBeGreaterThan(learningRate(90, 100, 1, 10));
    expect(learningRate(100, 100, 1, 10)).toBeCloseTo(0.1, 12); // the floor: 10% of the peak
    expect(learningRate(0, 5, 1, 0)).toBeCloseTo(1, 12);
  });
});

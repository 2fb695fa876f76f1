// logprobBackward on every backend present: agreement with the float64 reference for each
// input and output dtype (rows with coef 0 exactly zero, async equal to sync), the gradient
// checked by finite differences, a device-resident output (CUDA only), and each class of bad
// input with its exact error on every backend.
import { describe, expect, it } from 'vitest';
import {
  availableBackends,
  DeviceTensor,
  fromBf16,
  logprobBackward,
  logprobBackwardAsync,
  logprobBackwardReference,
  miForward,
  rowStats,
  type Backend,
  type LogprobBackwardArgs,
} from './index.js';
import { bbase, cudaSkip, lse, messageFor, p as bad, restoreCpuIsaAfterAll, variants, variantTitle, type Mutation } from './test-backends.js';
import { makeProblem, miArgs, worstError } from './test-helpers.js';

restoreCpuIsaAfterAll();

for (const variant of variants) {
  describe.skipIf(variant.skip !== undefined)(variantTitle(variant), () => {
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const outDtype of ['f32', 'bf16'] as const) {
        it(`logprobBackward ${dtype} -> ${outDtype} matches the reference`, async () => {
          variant.setup();
          for (const [seed, v] of [
            [31, 1001],
            [32, 8],
            [33, 5],
            [34, 4100],
            [35, 4096],
          ] as const) {
            const p = makeProblem({ seed, n: 9, v, sequences: 2 });
            const args = miArgs(p, dtype, { temperature: 0.9 });
            const fwd = miForward(args, { backend: variant.backend });
            const coef = Float32Array.from({ length: p.n }, (_, i) => (i === 3 ? 0 : ((i % 3) - 1) * 0.7 + 0.2));
            const bargs = {
              logits: args.logitsWith as Float32Array | Uint16Array,
              tokens: p.tokens,
              vocabSize: p.v,
              lse: fwd.lseWith,
              coef,
              temperature: 0.9,
              outDtype,
            };
            const want = logprobBackwardReference(bargs);
            const got = logprobBackward(bargs, { backend: variant.backend }) as Float32Array | Uint16Array;
            const gotF = outDtype === 'f32' ? (got as Float32Array) : fromBf16(got as Uint16Array);
            // bf16 output rounds to 8 bits of mantissa (relative 2^-9).
            const e = worstError(gotF, want, 1e-6, outDtype === 'f32' ? 1e-5 : 4e-3);
            expect(e.worst, `dlogits[${e.at}]: got ${e.got}, want ${e.want}`).toBeLessThanOrEqual(1);
            const gotAsync = await logprobBackwardAsync(bargs, { backend: variant.backend });
            expect(gotAsync).toEqual(got);
            // Rows with coef 0 are exactly zero.
            for (let j = 0; j < p.v; j++) expect(gotF[3 * p.v + j]).toBe(0);
          }
        });
      }
    }

    it('logprobBackward is the gradient of -sum(coef * logp): finite differences of the reference', () => {
      variant.setup();
      const p = makeProblem({ seed: 41, n: 3, v: 11, sequences: 1, sigma: 1.5 });
      const T = 0.8;
      const coef = Float32Array.from([0.7, -1.3, 0.25]);
      const fwd = miForward(miArgs(p, 'f32', { temperature: T }), { backend: variant.backend });
      const grad = logprobBackward(
        { logits: p.withF32, tokens: p.tokens, vocabSize: p.v, lse: fwd.lseWith, coef, temperature: T },
        { backend: variant.backend },
      ) as Float32Array;
      const f = (row: Float64Array, i: number) => -coef[i]! * rowStats(row, p.tokens[i]!, T).logp;
      const h = 1e-5;
      for (let i = 0; i < p.n; i++) {
        for (let j = 0; j < p.v; j++) {
          const row = Float64Array.from(p.withF32.subarray(i * p.v, (i + 1) * p.v));
          row[j] = row[j]! + h;
          const up = f(row, i);
          row[j] = row[j]! - 2 * h;
          const down = f(row, i);
          const fd = (up - down) / (2 * h);
          expect(Math.abs(grad[i * p.v + j]! - fd)).toBeLessThan(1e-5 + 1e-4 * Math.abs(fd));
        }
      }
    });
  });
}

describe.skipIf(cudaSkip !== undefined)(`cuda device tensors${cudaSkip ? ` (skipped: ${cudaSkip})` : ''}`, () => {
  it('a device-resident gradient equals the one copied back to the host', () => {
    const p = makeProblem({ seed: 61, n: 33, v: 2048, sequences: 4 });
    for (const dtype of ['f32', 'bf16'] as const) {
      const args = miArgs(p, dtype, { lamPos: 0.5, lamNeg: 0.5 });
      const host = miForward(args, { backend: 'cuda' });
      const a = DeviceTensor.upload(args.logitsWith as Float32Array | Uint16Array);
      const out = DeviceTensor.empty(dtype, p.n * p.v);
      const coef = new Float32Array(p.n).fill(1);
      logprobBackward({ logits: a, tokens: p.tokens, vocabSize: p.v, lse: host.lseWith, coef, out }, { backend: 'cuda' });
      const hostGrad = logprobBackward(
        { logits: args.logitsWith as Float32Array | Uint16Array, tokens: p.tokens, vocabSize: p.v, lse: host.lseWith, coef },
        { backend: 'cuda' },
      );
      expect(out.download()).toEqual(hostGrad);
      a.free();
      out.free();
    }
  });
});

// --- bad input: exact error class and message, on every backend present ------------------------

const p = bad;
const backwardCases: Mutation[] = [
  ['lse length', (a) => (a.lse = new Float32Array(2)), RangeError, 'Expected Float32Array of length N (6) for lse but received Float32Array of length 2'],
  ['coef NaN', (a) => (a.coef = Float32Array.from([1, 1, 1, NaN, 1, 1])), RangeError, 'Expected coef[3] to be finite but received NaN'],
  ['lse Infinity', (a) => (a.lse = Float32Array.from([1, 1, Infinity, 1, 1, 1])), RangeError, 'Expected lse[2] to be finite but received Infinity'],
  ['out of the wrong kind', (a) => (a.out = new Float64Array(60)), TypeError, 'Expected Float32Array (dtype "f32") for out but received Float64Array'],
  ['unknown outDtype', (a) => (a.outDtype = 'fp8'), TypeError, 'Expected "f32" or "bf16" for outDtype but received string "fp8"'],
  [
    'NaN logit',
    (a) => ((a.logits as Float32Array)[4 * 10 + 1] = NaN),
    RangeError,
    'Expected finite values or -Infinity in logits but received NaN at logits[4, 1]',
  ],
  [
    'NaN with a payload',
    (a) => (new Uint32Array((a.logits as Float32Array).buffer)[2 * 10 + 3] = 0xffc0017f),
    RangeError,
    'Expected finite values or -Infinity in logits but received NaN at logits[2, 3]',
  ],
];

for (const backend of availableBackends() as Backend[]) {
  describe(`${backend} backend: logprobBackward errors`, () => {
    for (const [name, change, cls, rawMessage] of backwardCases) {
      const message = messageFor(backend, rawMessage);
      it(name, () => {
        const a = { ...bbase(), logits: p.withF32.slice() } as Record<string, unknown>;
        change(a);
        let err: unknown;
        try {
          logprobBackward(a as unknown as LogprobBackwardArgs, { backend });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(cls);
        expect((err as Error).message).toBe(message);
      });
    }
    it('an lse that does not belong to the logits', () => {
      const wrong = lse.map((x, i) => (i === 4 ? x - 1 : x));
      const call = () => logprobBackward({ ...bbase(), lse: wrong }, { backend });
      expect(call).toThrow(RangeError);
      expect(call).toThrow(
        /^Expected lse\[4\] to be the log-sum-exp of logits row 4 \/ temperature \(softmax summing to 1\) but received lse = [-0-9.e]+, for which the softmax sums to 2\.718\d*; pass the lseWith that miForward returned for these logits and temperature$/,
      );
    });
  });
}

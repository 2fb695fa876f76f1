// Exact error class and message for each class of bad input, on every backend present.
import { describe, expect, it } from 'vitest';
import {
  availableBackends,
  logprobBackward,
  miForward,
  toBf16,
  type Backend,
  type LogprobBackwardArgs,
  type MiForwardArgs,
} from './index.js';
import { makeProblem, miArgs } from './test-helpers.js';

const p = makeProblem({ seed: 7, n: 6, v: 10, sequences: 2 });
const base = (): MiForwardArgs => miArgs(p, 'f32');
const lse = new Float32Array(p.n);
for (let i = 0; i < p.n; i++) {
  let m = -Infinity;
  for (let j = 0; j < p.v; j++) m = Math.max(m, p.withF32[i * p.v + j]!);
  let s = 0;
  for (let j = 0; j < p.v; j++) s += Math.exp(p.withF32[i * p.v + j]! - m);
  lse[i] = m + Math.log(s);
}
const bbase = (): LogprobBackwardArgs => ({
  logits: p.withF32, tokens: p.tokens, vocabSize: p.v, lse, coef: new Float32Array(p.n).fill(1),
});

type Mutation = [name: string, change: (a: Record<string, unknown>) => void, cls: typeof TypeError, message: string];

const miCases: Mutation[] = [
  ['not an object', () => {}, TypeError, 'Expected an options object for the first argument but received number 3'],
  ['wrong logits kind', (a) => (a.logitsWith = new Float64Array(60)), TypeError,
    'Expected Float32Array (dtype "f32") for logitsWith but received Float64Array'],
  ['bf16 dtype with f32 data', (a) => (a.dtype = 'bf16'), TypeError,
    'Expected Uint16Array (dtype "bf16") for logitsWith but received Float32Array'],
  ['unknown dtype', (a) => (a.dtype = 'f16'), TypeError, 'Expected "f32" or "bf16" for dtype but received string "f16"'],
  ['short logits', (a) => (a.logitsWithout = new Float32Array(59)), RangeError,
    'Expected Float32Array of length N*V (60) for logitsWithout but received Float32Array of length 59'],
  ['tokens not Int32Array', (a) => (a.tokens = [1, 2, 3]), TypeError, 'Expected Int32Array for tokens but received Array'],
  ['no tokens', (a) => (a.tokens = new Int32Array(0)), RangeError,
    'Expected at least one response token for tokens but received an empty array'],
  ['vocabSize 0', (a) => (a.vocabSize = 0), RangeError, 'Expected an integer >= 1 for vocabSize but received 0'],
  ['vocabSize missing', (a) => delete a.vocabSize, TypeError, 'Expected a number for vocabSize but received undefined'],
  ['token out of range', (a) => (a.tokens = Int32Array.from([1, 2, 3, 10, 4, 5])), RangeError,
    'Expected tokens[3] in [0, vocabSize) = [0, 10) but received 10'],
  ['negative token', (a) => (a.tokens = Int32Array.from([1, -1, 3, 1, 4, 5])), RangeError,
    'Expected tokens[1] in [0, vocabSize) = [0, 10) but received -1'],
  ['mask length', (a) => (a.mask = new Uint8Array(5)), RangeError,
    'Expected Uint8Array of length N (6) for mask but received Uint8Array of length 5'],
  ['mask value 2', (a) => (a.mask = Uint8Array.from([1, 1, 2, 1, 1, 1])), RangeError, 'Expected mask[2] to be 0 or 1 but received 2'],
  ['seqOffsets too short', (a) => (a.seqOffsets = Int32Array.from([0])), RangeError,
    'Expected at least one sequence (length >= 2) for seqOffsets but received length 1'],
  ['seqOffsets not from 0', (a) => (a.seqOffsets = Int32Array.from([1, 3, 6])), RangeError, 'Expected seqOffsets[0] = 0 but received 1'],
  ['seqOffsets decreasing', (a) => {
    a.seqOffsets = Int32Array.from([0, 4, 3, 6]);
    a.advantages = new Float32Array(3);
  }, RangeError, 'Expected seqOffsets[2] >= seqOffsets[1] = 4 but received 3'],
  ['seqOffsets not ending at N', (a) => (a.seqOffsets = Int32Array.from([0, 3, 5])), RangeError, 'Expected seqOffsets[2] = N = 6 but received 5'],
  ['advantages length', (a) => (a.advantages = new Float32Array(3)), RangeError,
    'Expected Float32Array of length S (2, one per sequence) for advantages but received Float32Array of length 3'],
  ['advantage NaN', (a) => (a.advantages = Float32Array.from([0.5, NaN])), RangeError, 'Expected advantages[1] to be finite but received NaN'],
  ['temperature 0', (a) => (a.temperature = 0), RangeError, 'Expected a finite number > 0 for temperature but received 0'],
  ['temperature string', (a) => (a.temperature = '1'), TypeError, 'Expected a number for temperature but received string "1"'],
  ['lamPos 1.5', (a) => (a.lamPos = 1.5), RangeError, 'Expected a number in [0, 1] for lamPos but received 1.5'],
  ['lamNeg negative', (a) => (a.lamNeg = -0.1), RangeError, 'Expected a number in [0, 1] for lamNeg but received -0.1'],
  ['scale 0', (a) => (a.scale = 0), RangeError, 'Expected a finite number > 0 for scale but received 0'],
  ['unknown norm', (a) => (a.norm = 'zscore'), TypeError,
    'Expected one of "robust", "clip", "tanh", "none" for norm but received string "zscore"'],
  ['unknown renorm', (a) => (a.renorm = 'token'), TypeError,
    'Expected one of "none", "sequence", "batch" for renorm but received string "token"'],
  ['unknown variant', (a) => (a.variant = 'fancy'), TypeError,
    'Expected one of "paper", "symmetric", "bounded" for variant but received string "fancy"'],
  ['groupSize 0', (a) => (a.groupSize = 0), RangeError, 'Expected an integer >= 1 for groupSize but received 0'],
  ['groupSize 1.5', (a) => (a.groupSize = 1.5), RangeError, 'Expected an integer >= 1 for groupSize but received 1.5'],
  ['groupSize not dividing S', (a) => (a.groupSize = 3), RangeError,
    'Expected groupSize dividing the number of sequences S = 2 but received 3'],
  ['cap negative', (a) => (a.cap = -1), RangeError, 'Expected a finite number >= 0 for cap but received -1'],
  ['cap overflowing float32', (a) => (a.cap = 1e300), RangeError, 'Expected a finite number >= 0 for cap but received Infinity'],
  ['bounded with renorm', (a) => {
    a.variant = 'bounded';
    a.renorm = 'batch';
  }, RangeError, 'Expected renorm "none" with variant "bounded" (it rescales each sign\'s weights itself) but received renorm "batch"'],
  ['neutral length', (a) => (a.neutral = new Uint8Array(4)), RangeError,
    'Expected Uint8Array of length N (6) for neutral but received Uint8Array of length 4'],
  ['neutral value 3', (a) => (a.neutral = Uint8Array.from([0, 0, 0, 3, 0, 0])), RangeError, 'Expected neutral[3] to be 0 or 1 but received 3'],
  ['scores as an Array', (a) => (a.scores = [0, 0, 0, 0, 0, 0]), TypeError, 'Expected Float32Array for scores but received Array'],
  ['score out of [-1, 1]', (a) => (a.scores = Float32Array.from([0, 1, -1, 1.5, 0, 0])), RangeError,
    'Expected scores[3] in [-1, 1] but received 1.5'],
  ['score NaN', (a) => (a.scores = Float32Array.from([0, NaN, 0, 0, 0, 0])), RangeError, 'Expected scores[1] in [-1, 1] but received NaN'],
  ['NaN logit', (a) => ((a.logitsWith as Float32Array)[2 * 10 + 4] = NaN), RangeError,
    'Expected finite values or -Infinity in logitsWith but received NaN at logitsWith[2, 4]'],
  ['+inf logit', (a) => ((a.logitsWithout as Float32Array)[5 * 10 + 9] = Infinity), RangeError,
    'Expected finite values or -Infinity in logitsWithout but received Infinity at logitsWithout[5, 9]'],
  // A NaN with payload bits, which arithmetic carries along (an exp built from bit tricks can
  // turn it into a finite number), and a NaN among -inf values (no finite value to sum).
  ['NaN with a payload', (a) => new Uint32Array((a.logitsWith as Float32Array).buffer)[3 * 10 + 5] = 0x7fc001ff, RangeError,
    'Expected finite values or -Infinity in logitsWith but received NaN at logitsWith[3, 5]'],
  ['NaN among -inf', (a) => {
    const w = a.logitsWithout as Float32Array;
    w.fill(-Infinity, 40, 50);
    w[40 + p.tokens[4]!] = 0;
    w[40 + ((p.tokens[4]! + 1) % 10)] = NaN;
  }, RangeError, `Expected finite values or -Infinity in logitsWithout but received NaN at logitsWithout[4, ${(p.tokens[4]! + 1) % 10}]`],
  ['row of -inf', (a) => (a.logitsWithout as Float32Array).fill(-Infinity, 10, 20), RangeError,
    'Expected at least one value above -Infinity in logitsWithout row 1 but received a row of only -Infinity'],
  ['sampled token at -inf', (a) => ((a.logitsWith as Float32Array)[3 * 10 + p.tokens[3]!] = -Infinity), RangeError,
    `Expected a finite logit for the sampled token tokens[3] = ${p.tokens[3]} but received logitsWith[3, ${p.tokens[3]}] = -Infinity`],
  ['lowest bad row wins, logitsWith first', (a) => {
    (a.logitsWithout as Float32Array)[1 * 10 + 2] = NaN;
    (a.logitsWith as Float32Array)[4 * 10 + 2] = NaN;
    (a.logitsWith as Float32Array)[1 * 10 + 7] = Infinity;
  }, RangeError, 'Expected finite values or -Infinity in logitsWith but received Infinity at logitsWith[1, 7]'],
];
const backwardCases: Mutation[] = [
  ['lse length', (a) => (a.lse = new Float32Array(2)), RangeError,
    'Expected Float32Array of length N (6) for lse but received Float32Array of length 2'],
  ['coef NaN', (a) => (a.coef = Float32Array.from([1, 1, 1, NaN, 1, 1])), RangeError, 'Expected coef[3] to be finite but received NaN'],
  ['lse Infinity', (a) => (a.lse = Float32Array.from([1, 1, Infinity, 1, 1, 1])), RangeError, 'Expected lse[2] to be finite but received Infinity'],
  ['out of the wrong kind', (a) => (a.out = new Float64Array(60)), TypeError,
    'Expected Float32Array (dtype "f32") for out but received Float64Array'],
  ['unknown outDtype', (a) => (a.outDtype = 'fp8'), TypeError, 'Expected "f32" or "bf16" for outDtype but received string "fp8"'],
  ['NaN logit', (a) => ((a.logits as Float32Array)[4 * 10 + 1] = NaN), RangeError,
    'Expected finite values or -Infinity in logits but received NaN at logits[4, 1]'],
  ['NaN with a payload', (a) => (new Uint32Array((a.logits as Float32Array).buffer)[2 * 10 + 3] = 0xffc0017f), RangeError,
    'Expected finite values or -Infinity in logits but received NaN at logits[2, 3]'],
];

const backends = availableBackends() as Backend[];

for (const backend of backends) {
  describe(`${backend} backend errors`, () => {
    // The CUDA backend also takes device tensors, and says so.
    const forBackend = (m: string) => (backend === 'cuda' ? m.replace(/(\(dtype "\w+"\)) for/, '$1 or DeviceTensor for') : m);
    for (const [name, change, cls, rawMessage] of miCases) {
      const message = forBackend(rawMessage);
      it(`miForward: ${name}`, () => {
        const a = name === 'not an object' ? 3 : ({ ...base(), logitsWith: p.withF32.slice(), logitsWithout: p.withoutF32.slice() } as Record<string, unknown>);
        if (typeof a === 'object') change(a);
        const call = () => miForward(a as unknown as MiForwardArgs, { backend });
        expect(call).toThrow(cls);
        expect(call).toThrow(message);
        try {
          call();
        } catch (e) {
          expect((e as Error).message).toBe(message);
          expect((e as Error).constructor).toBe(cls);
        }
      });
    }
    for (const [name, change, cls, rawMessage] of backwardCases) {
      const message = forBackend(rawMessage);
      it(`logprobBackward: ${name}`, () => {
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
    it('logprobBackward: an lse that does not belong to the logits', () => {
      const wrong = lse.map((x, i) => (i === 4 ? x - 1 : x));
      const call = () => logprobBackward({ ...bbase(), lse: wrong }, { backend });
      expect(call).toThrow(RangeError);
      expect(call).toThrow(
        /^Expected lse\[4\] to be the log-sum-exp of logits row 4 \/ temperature \(softmax summing to 1\) but received lse = [-0-9.e]+, for which the softmax sums to 2\.718\d*; pass the lseWith that miForward returned for these logits and temperature$/,
      );
    });
    it('bf16 NaN is reported with its position', () => {
      const a = miArgs(p, 'bf16');
      const w = (a.logitsWith as Uint16Array).slice();
      w[3 * 10 + 6] = 0x7fc0; // bf16 NaN
      expect(() => miForward({ ...a, logitsWith: w }, { backend })).toThrow(
        'Expected finite values or -Infinity in logitsWith but received NaN at logitsWith[3, 6]',
      );
      expect(toBf16([NaN])[0]! & 0x7f80).toBe(0x7f80);
    });
    it('masked rows are not checked (padding may hold anything)', () => {
      const w = p.withF32.slice();
      w.fill(NaN, 20, 30);
      const mask = Uint8Array.from([1, 1, 0, 1, 1, 1]);
      const out = miForward({ ...base(), logitsWith: w, mask }, { backend });
      expect(out.logpWith[2]).toBe(0);
      expect(Number.isFinite(out.logpWith[1]!)).toBe(true);
    });
  });
}

it('an unknown backend option is a TypeError', () => {
  expect(() => miForward(base(), { backend: 'gpu' as Backend })).toThrow(
    'Expected one of "cuda", "cpu", "js" for backend but received "gpu"',
  );
});

// The `js` backend: the fused kernels in plain TypeScript, for machines without the addon and
// as the benchmark's "what a straightforward JS loop does" baseline. One pass per row with an
// online log-sum-exp (rescaling the running sum when the max grows), float64 arithmetic.
import { bf16ToNumber } from './bf16.js';
import { describeRowProblem, LSE_SUM_TOLERANCE, lseMismatchMessage } from './messages.js';
import { stage2 } from './reference/stage2.js';
import type { CheckedLogprobBackward, CheckedMiForward } from './validate.js';
import type { MiForwardResult } from './types.js';
import { numberToBf16 } from './bf16.js';

interface Online {
  lse: number;
  entropy: number;
  ok: boolean;
}

function onlineRow(data: Float32Array | Uint16Array, bf16: boolean, base: number, v: number, invT: number): Online {
  let m = -Infinity; // running max of z
  let s = 0; // sum exp(z - m)
  let t = 0; // sum exp(z - m) * (z - m)
  for (let j = 0; j < v; j++) {
    const z = (bf16 ? bf16ToNumber(data[base + j]!) : data[base + j]!) * invT;
    if (z > m) {
      if (m !== -Infinity) {
        const d = m - z;
        const sc = Math.exp(d);
        t = sc * (t + d * s);
        s *= sc;
      }
      m = z;
    }
    if (z === -Infinity) continue;
    const d = z - m;
    const e = Math.exp(d);
    s += e;
    t += e * d;
  }
  const lse = m + Math.log(s);
  return { lse, entropy: Math.log(s) - t / s, ok: Number.isFinite(lse) && Number.isFinite(Math.fround(lse)) };
}

export function miForwardJs(c: CheckedMiForward): MiForwardResult {
  const withData = c.logitsWith as Float32Array | Uint16Array;
  const withoutData = c.logitsWithout as Float32Array | Uint16Array;
  const { n, v } = c;
  const bf16 = c.dtype === 'bf16';
  const invT = 1 / c.temperature;
  const logpWith = new Float32Array(n);
  const logpWithout = new Float32Array(n);
  const lseWith = new Float32Array(n);
  const entropyWith = new Float32Array(n);
  const lpw = new Float64Array(n);
  const lpwo = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (c.mask && c.mask[i] === 0) continue;
    const base = i * v;
    const tok = c.tokens[i]!;
    const a = onlineRow(withData, bf16, base, v, invT);
    const b = onlineRow(withoutData, bf16, base, v, invT);
    const za = (bf16 ? bf16ToNumber(withData[base + tok]!) : withData[base + tok]!) * invT;
    const zb = (bf16 ? bf16ToNumber(withoutData[base + tok]!) : withoutData[base + tok]!) * invT;
    if (!a.ok || !b.ok || za === -Infinity || zb === -Infinity) {
      for (const [data, name] of [
        [withData, 'logitsWith'],
        [withoutData, 'logitsWithout'],
      ] as const) {
        const problem = describeRowProblem(data, c.dtype, v, i, tok, c.temperature, name);
        if (problem) throw new RangeError(problem);
      }
    }
    lpw[i] = za - a.lse;
    lpwo[i] = zb - b.lse;
    logpWith[i] = lpw[i]!;
    logpWithout[i] = lpwo[i]!;
    lseWith[i] = a.lse;
    entropyWith[i] = Math.max(0, a.entropy);
  }
  const r = stage2(c, lpw, lpwo);
  return {
    logpWith,
    logpWithout,
    lseWith,
    entropyWith,
    mi: Float32Array.from(r.mi),
    score: Float32Array.from(r.score),
    weight: Float32Array.from(r.weight),
    weightedAdvantage: Float32Array.from(r.weightedAdvantage),
  };
}

export function logprobBackwardJs(c: CheckedLogprobBackward): Float32Array | Uint16Array {
  const data = c.logits as Float32Array | Uint16Array;
  const { n, v } = c;
  const bf16In = c.dtype === 'bf16';
  const out = (c.out as Float32Array | Uint16Array | undefined) ?? (c.outDtype === 'f32' ? new Float32Array(n * v) : new Uint16Array(n * v));
  const bf16Out = c.outDtype === 'bf16';
  const invT = 1 / c.temperature;
  for (let i = 0; i < n; i++) {
    const coef = c.coef[i]!;
    const base = i * v;
    if (coef === 0) {
      out.fill(0, base, base + v);
      continue;
    }
    const lse = c.lse[i]!;
    const scale = coef * invT;
    let sum = 0;
    for (let j = 0; j < v; j++) {
      const p = Math.exp((bf16In ? bf16ToNumber(data[base + j]!) : data[base + j]!) * invT - lse);
      sum += p;
      out[base + j] = bf16Out ? numberToBf16(scale * p) : scale * p;
    }
    if (!(Math.abs(sum - 1) <= LSE_SUM_TOLERANCE)) {
      const problem = describeRowProblem(data, c.dtype, v, i, c.tokens[i]!, c.temperature, 'logits');
      throw new RangeError(problem?.includes('finite values') ? problem : lseMismatchMessage(i, lse, sum));
    }
    const tok = c.tokens[i]!;
    const p = Math.exp((bf16In ? bf16ToNumber(data[base + tok]!) : data[base + tok]!) * invT - lse);
    out[base + tok] = bf16Out ? numberToBf16(scale * (p - 1)) : scale * (p - 1);
  }
  return out;
}

// Float64 oracle of the native decoding step (decoder.ts, native/src/cpu/decoder.cc): the same
// contract written plainly, one sequence, token and head at a time, with float64 caches.
import type { DecoderShape, DecoderWeights } from '../decoder.js';

/** A reference decoder's cache and key mask, as KvDecoder holds them but in float64. */
export interface ReferenceDecoderState {
  batch: number;
  capacity: number;
  /** [layers, batch, kvHeads, capacity, headDim]. */
  kCache: Float64Array;
  vCache: Float64Array;
  /** [batch, capacity]. */
  keyMask: Uint8Array;
}

export function referenceDecoderState(s: DecoderShape, batch: number, capacity: number): ReferenceDecoderState {
  const size = s.layers * batch * s.kvHeads * capacity * s.headDim;
  return { batch, capacity, kCache: new Float64Array(size), vCache: new Float64Array(size), keyMask: new Uint8Array(batch * capacity) };
}

function rmsNorm(x: Float64Array, w: ArrayLike<number>, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * w[i]!);
}

/** y = W x (+ bias), W [out, in]. */
function linear(x: Float64Array, w: ArrayLike<number>, out: number, bias?: ArrayLike<number>): Float64Array {
  const k = x.length;
  const y = new Float64Array(out);
  for (let j = 0; j < out; j++) {
    let acc = bias ? bias[j]! : 0;
    for (let p = 0; p < k; p++) acc += w[j * k + p]! * x[p]!;
    y[j] = acc;
  }
  return y;
}

function rotate(v: Float64Array, pos: number, invFreq: ArrayLike<number>): void {
  const half = v.length / 2;
  for (let i = 0; i < half; i++) {
    const a = pos * invFreq[i]!;
    const c = Math.cos(a),
      s = Math.sin(a);
    const x1 = v[i]!,
      x2 = v[half + i]!;
    v[i] = x1 * c - x2 * s;
    v[half + i] = x2 * c + x1 * s;
  }
}

/**
 * The decoding step in float64: writes the new keys and values of slots [start, start + count)
 * into `state` and returns the logits [batch, vocab] of each sequence's last new token. The
 * caller sets state.keyMask for the new slots first, as with KvDecoder.
 */
export function decodeStepReference(
  s: DecoderShape,
  w: DecoderWeights,
  state: ReferenceDecoderState,
  ids: ArrayLike<number>,
  positions: ArrayLike<number>,
  start: number,
  count: number,
): Float64Array {
  const { batch: B, capacity: S } = state;
  const H = s.hidden,
    hd = s.headDim,
    nH = s.heads,
    nKv = s.kvHeads,
    rep = nH / nKv;
  const logits = new Float64Array(B * s.vocab);
  for (let b = 0; b < B; b++) {
    // Every new token of sequence b, layer by layer (later tokens see earlier ones through the cache).
    let hs: Float64Array[] = [];
    for (let t = 0; t < count; t++) {
      const id = ids[b * count + t]!;
      hs.push(Float64Array.from(w.embed.subarray(id * H, (id + 1) * H)));
    }
    for (let l = 0; l < s.layers; l++) {
      const L = w.layers[l]!;
      const cacheAt = (g: number, j: number) => (((l * B + b) * nKv + g) * S + j) * hd;
      const qs: Float64Array[][] = [];
      for (let t = 0; t < count; t++) {
        const x = rmsNorm(hs[t]!, L.inputNorm, s.eps);
        const q = linear(x, L.q, nH * hd, L.qBias);
        const k = linear(x, L.k, nKv * hd, L.kBias);
        const v = linear(x, L.v, nKv * hd, L.vBias);
        const pos = positions[b * count + t]!;
        const heads: Float64Array[] = [];
        for (let h = 0; h < nH; h++) {
          let qh: Float64Array = q.slice(h * hd, (h + 1) * hd);
          if (L.qNorm) qh = rmsNorm(qh, L.qNorm, s.eps);
          rotate(qh, pos, s.invFreq);
          heads.push(qh);
        }
        qs.push(heads);
        for (let g = 0; g < nKv; g++) {
          let kh: Float64Array = k.slice(g * hd, (g + 1) * hd);
          if (L.kNorm) kh = rmsNorm(kh, L.kNorm, s.eps);
          rotate(kh, pos, s.invFreq);
          state.kCache.set(kh, cacheAt(g, start + t));
          state.vCache.set(v.subarray(g * hd, (g + 1) * hd), cacheAt(g, start + t));
        }
      }
      const next: Float64Array[] = [];
      for (let t = 0; t < count; t++) {
        const att = new Float64Array(nH * hd);
        for (let h = 0; h < nH; h++) {
          const g = Math.floor(h / rep);
          const visible: number[] = [];
          for (let j = 0; j <= start + t; j++) if (state.keyMask[b * S + j]) visible.push(j);
          if (visible.length === 0) continue;
          const scores = visible.map((j) => {
            let dot = 0;
            for (let i = 0; i < hd; i++) dot += qs[t]![h]![i]! * state.kCache[cacheAt(g, j) + i]!;
            return dot / Math.sqrt(hd);
          });
          const max = Math.max(...scores);
          const e = scores.map((x) => Math.exp(x - max));
          const sum = e.reduce((a, c) => a + c, 0);
          visible.forEach((j, n) => {
            for (let i = 0; i < hd; i++) att[h * hd + i]! += (e[n]! / sum) * state.vCache[cacheAt(g, j) + i]!;
          });
        }
        const o = linear(att, L.o, H, L.oBias);
        const h1 = hs[t]!.map((v, i) => v + o[i]!);
        const y = rmsNorm(h1, L.postNorm, s.eps);
        const gate = linear(y, L.gate, s.intermediate, L.gateBias);
        const up = linear(y, L.up, s.intermediate, L.upBias);
        const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
        const down = linear(act, L.down, H, L.downBias);
        next.push(h1.map((v, i) => v + down[i]!));
      }
      hs = next;
    }
    logits.set(linear(rmsNorm(hs[count - 1]!, w.finalNorm, s.eps), w.head, s.vocab), b * s.vocab);
  }
  return logits;
}

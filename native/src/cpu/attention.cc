// Causal grouped-query attention for training, forward and backward, one pool task per head
// (forward) or per key/value head (backward). Queries, keys, values and their gradients are in
// the [batch, seq, heads, headDim] layout the projections produce, so the model needs no
// transposes around it: one head's rows are read and written with a row stride. It replaces the model's composite chain (repeat of
// the key/value heads, two batched matmuls, scale, additive -1e9 mask, softmax, and the
// gradients of each) with sgemm calls on one head's rows while they are in cache. The softmax is
// kept for the backward pass. A query that may see no key (left padding) attends uniformly to
// every key, as the composite's additive mask does; its output is never used in a loss, and
// being constant in q and k it sends them no gradient.
//
// Gradients (S = scale * Q K^T, P = softmax(S) over the visible keys, O = P V):
//   dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(P * dP)),  dQ = scale * dS K,
//   dK = scale * dS^T Q,
// with dK and dV summed over the query heads of a group in head order, so results do not depend
// on the number of threads.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/errors.h"
#include "cpu/blas.h"
#include "cpu/op_helpers.h"
#include "cpu/thread_pool.h"
#include "rapo/rapo.h"

namespace rapo {

namespace {

// Queries are taken kRowBlock at a time, each block against the keys its last query may see:
// with a causal mask that skips about a third of the products at 128 tokens.
constexpr int64_t kRowBlock = 32;

// The first key the mask lets through (S when none).
int64_t firstVisible(const float* mask, int64_t S) {
  for (int64_t j = 0; j < S; ++j)
    if (mask[j] != 0.0f) return j;
  return S;
}

// How many keys rows t0..t1-1 need: up to the last one's causal limit, or all of them when a row
// of the block sees none (it attends to every key alike).
int64_t keysFor(int64_t t0, int64_t t1, int64_t first, int64_t offset, int64_t S) {
  if (first > t0 + offset) return S;
  return std::min(S, t1 + offset);
}

void checkShape(const AttentionShape& s) {
  const std::string got = std::to_string(s.batch) + " x " + std::to_string(s.heads) + " (" + std::to_string(s.kvHeads) +
                          " kv) x " + std::to_string(s.seq) + " x " + std::to_string(s.keys) + " x " + std::to_string(s.headDim);
  if (s.batch < 0 || s.seq < 0 || s.keys < s.seq || s.heads < 1 || s.kvHeads < 1 || s.headDim < 1)
    throwRange("batch, seq >= 0, keys >= seq and heads, kvHeads, headDim >= 1", got);
  if (s.heads % s.kvHeads != 0) throwRange("heads a multiple of kvHeads", got);
  if (!std::isfinite(s.scale)) throwExpected(ErrorKind::Range, "a finite number", "scale", jsNumber(s.scale));
}

}  // namespace

void attentionForwardCpu(const float* q, const float* k, const float* v, const float* keyMask, float* out, float* probs,
                         const AttentionShape& s) {
  checkShape(s);
  const int64_t T = s.seq, S = s.keys, hd = s.headDim, H = s.heads, G = s.kvHeads, rep = H / G, offset = S - T;
  if (s.batch == 0 || T == 0) return;
  const cpu::RowKernels& kernels = cpu::activeKernels();
  auto& pool = cpu::ThreadPool::instance();
  cpu::Scratch scratch(pool.threads());
  pool.parallelFor(s.batch * H, 1, [&](int64_t begin, int64_t end, int worker) {
    float* sc = scratch.forWorker(worker);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / H, h = task % H, g = h / rep;
      // Head h's rows: q[b, t, h, :] for t < T, H * hd apart; its keys k[b, j, g, :], G * hd apart.
      const float* qh = q + (b * T * H + h) * hd;
      const float* kg = k + (b * S * G + g) * hd;
      const float* vg = v + (b * S * G + g) * hd;
      const float* mask = keyMask + b * S;
      float* p = probs + task * T * S;
      const int64_t first = firstVisible(mask, S);
      float* o = out + (b * T * H + h) * hd;
      for (int64_t t0 = 0; t0 < T; t0 += kRowBlock) {
        const int64_t t1 = std::min(T, t0 + kRowBlock), n = keysFor(t0, t1, first, offset, S);
        float* pb = p + t0 * S;
        cpu::gemmOnThread(false, true, t1 - t0, n, hd, s.scale, qh + t0 * H * hd, H * hd, kg, G * hd, 0.0f, pb, S);
        for (int64_t t = t0; t < t1; ++t) {
          float* row = p + t * S;
          std::fill(row + n, row + S, 0.0f);  // keys after the block's last query: never seen
          if (first > t + offset) {          // sees no key: uniform over all of them
            std::fill(row, row + S, 1.0f / static_cast<float>(S));
            continue;
          }
          for (int64_t j = 0; j < n; ++j)
            if (j > t + offset || mask[j] == 0.0f) row[j] = -INFINITY;
          cpu::softmaxRow(kernels, row, row, n, sc);
        }
        cpu::gemmOnThread(false, false, t1 - t0, hd, n, 1.0f, pb, S, vg, G * hd, 0.0f, o + t0 * H * hd, H * hd);
      }
    }
  });
}

void attentionBackwardCpu(const float* dout, const float* q, const float* k, const float* v, const float* keyMask,
                          const float* probs, float* dq, float* dk, float* dv, const AttentionShape& s) {
  checkShape(s);
  const int64_t T = s.seq, S = s.keys, hd = s.headDim, H = s.heads, G = s.kvHeads, rep = H / G, offset = S - T;
  const int64_t kvSize = s.batch * G * S * hd;
  if (s.batch == 0 || T == 0) {
    std::fill(dk, dk + kvSize, 0.0f);
    std::fill(dv, dv + kvSize, 0.0f);
    return;
  }
  auto& pool = cpu::ThreadPool::instance();
  std::vector<float> dsAll(static_cast<size_t>(pool.threads()) * static_cast<size_t>(kRowBlock * S));
  pool.parallelFor(s.batch * G, 1, [&](int64_t begin, int64_t end, int worker) {
    float* ds = dsAll.data() + static_cast<size_t>(worker) * static_cast<size_t>(kRowBlock * S);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / G, g = task % G;
      const int64_t kvOff = (b * S * G + g) * hd;  // k[b, 0, g, :], rows G * hd apart
      const float* kg = k + kvOff;
      const float* vg = v + kvOff;
      float* dkg = dk + kvOff;
      float* dvg = dv + kvOff;
      // A query that sees no key (first > t + offset) has a constant, uniform output: no
      // gradient to q or k.
      const int64_t first = firstVisible(keyMask + b * S, S);
      for (int64_t j = 0; j < S; ++j) {
        std::fill(dkg + j * G * hd, dkg + j * G * hd + hd, 0.0f);
        std::fill(dvg + j * G * hd, dvg + j * G * hd + hd, 0.0f);
      }
      for (int64_t r = 0; r < rep; ++r) {
        const int64_t h = g * rep + r;
        const int64_t qOff = (b * T * H + h) * hd;  // q[b, 0, h, :], rows H * hd apart
        const float* doh = dout + qOff;
        const float* qh = q + qOff;
        const float* p = probs + (b * H + h) * T * S;
        for (int64_t t0 = 0; t0 < T; t0 += kRowBlock) {
          const int64_t t1 = std::min(T, t0 + kRowBlock), m = t1 - t0, n = keysFor(t0, t1, first, offset, S);
          const float* pb = p + t0 * S;
          const float* dob = doh + t0 * H * hd;
          cpu::gemmOnThread(true, false, n, hd, m, 1.0f, pb, S, dob, H * hd, 1.0f, dvg, G * hd);  // dV += P^T dO
          cpu::gemmOnThread(false, true, m, n, hd, 1.0f, dob, H * hd, vg, G * hd, 0.0f, ds, n);  // dP = dO V^T
          for (int64_t t = t0; t < t1; ++t) {
            const float* pr = p + t * S;
            float* dr = ds + (t - t0) * n;
            if (first > t + offset) {
              std::fill(dr, dr + n, 0.0f);
              continue;
            }
            float dot = 0.0f;
            for (int64_t j = 0; j < n; ++j) dot += pr[j] * dr[j];
            for (int64_t j = 0; j < n; ++j) dr[j] = pr[j] * (dr[j] - dot);
          }
          cpu::gemmOnThread(false, false, m, hd, n, s.scale, ds, n, kg, G * hd, 0.0f, dq + qOff + t0 * H * hd, H * hd);  // dQ = scale dS K
          cpu::gemmOnThread(true, false, n, hd, m, s.scale, ds, n, qh + t0 * H * hd, H * hd, 1.0f, dkg, G * hd);        // dK += scale dS^T Q
        }
      }
    }
  });
}

}  // namespace rapo

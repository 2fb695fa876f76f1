// The KV-cached decoding step of a Llama-style decoder in one call: embedding, every layer
// (RMSNorm, q/k/v projections with optional biases and Qwen3's per-head q/k norms, rotary
// positions, grouped-query attention over the cache, output projection, SwiGLU MLP) and the
// output head for the last new token of each sequence. It replaces ~40 tfjs ops per layer and
// token, each allocating its output, by plain loops over a reused workspace; the projections
// are BLAS products split over output columns when there are few rows (one token per
// sequence), over rows otherwise. The arithmetic follows the tfjs model (libs/model/src/model.ts)
// step for step in float32, so both give the same logits up to rounding.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/errors.h"
#include "cpu/blas.h"
#include "cpu/thread_pool.h"
#include "rapo/rapo.h"

#ifdef RAPO_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace rapo {

namespace {

// y[R, N] = x[R, K] * W[N, K]^T (+ bias[N]).
void linear(const float* x, int64_t rows, int64_t k, const float* w, const float* bias, int64_t n, float* y) {
  auto& pool = cpu::ThreadPool::instance();
  if (rows >= 16 * static_cast<int64_t>(pool.threads())) {
    matmulCpu(x, w, y, MatmulShape{1, 1, rows, n, k, false, true});
  } else {
#ifdef RAPO_HAVE_OPENBLAS
    const bool blas = cpu::blasForTasks();
#endif
    // Few rows: split the output columns (rows of W) so every thread reads its own part of W.
    const int64_t macs = rows * n * k;
    const int64_t blocks = macs < (int64_t{1} << 16) ? 1 : std::min<int64_t>(2 * pool.threads(), std::max<int64_t>(1, n / 16));
    const int64_t per = (n + blocks - 1) / blocks;
    pool.parallelFor(blocks, 1, [&](int64_t b0, int64_t b1, int) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t j0 = blk * per, j1 = std::min(n, j0 + per);
        if (j0 >= j1) continue;
#ifdef RAPO_HAVE_OPENBLAS
        if (blas && rows == 1) {
          cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(j1 - j0), static_cast<blasint>(k), 1.0f, w + j0 * k,
                      static_cast<blasint>(k), x, 1, 0.0f, y + j0, 1);
          continue;
        }
        if (blas) {
          cpu::gemmOnThread(false, true, rows, j1 - j0, k, 1.0f, x, k, w + j0 * k, k, 0.0f, y + j0, n);
          continue;
        }
#endif
        for (int64_t r = 0; r < rows; ++r) {
          const float* xr = x + r * k;
          for (int64_t j = j0; j < j1; ++j) {
            const float* wj = w + j * k;
            float acc = 0.0f;
            for (int64_t p = 0; p < k; ++p) acc += xr[p] * wj[p];
            y[r * n + j] = acc;
          }
        }
      }
    });
  }
  if (bias) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) y[r * n + j] += bias[j];
  }
}

// out[r] = x[r] * rsqrt(mean(x[r]^2) + eps) * weight, over `rows` vectors of `size` values.
void rmsNorm(const float* x, const float* weight, float* out, int64_t rows, int64_t size, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * size;
    double acc = 0.0;
    for (int64_t i = 0; i < size; ++i) acc += static_cast<double>(xr[i] * xr[i]);
    const float mean = static_cast<float>(acc / static_cast<double>(size));
    const float inv = 1.0f / std::sqrt(mean + eps);
    float* o = out + r * size;
    for (int64_t i = 0; i < size; ++i) o[i] = (xr[i] * inv) * weight[i];
  }
}

// Rotates each head vector of x [rows, heads, hd] by its row's position (the half-split
// layout: pairs (i, i + hd/2)).
void rotary(float* x, int64_t rows, int64_t heads, int64_t hd, const int32_t* positions, const float* invFreq, std::vector<float>& cs) {
  const int64_t half = hd / 2;
  cs.resize(static_cast<size_t>(hd));
  for (int64_t r = 0; r < rows; ++r) {
    const float pos = static_cast<float>(positions[r]);
    for (int64_t i = 0; i < half; ++i) {
      const float angle = pos * invFreq[i];
      cs[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      cs[half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (r * heads + h) * hd;
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = v[i], x2 = v[half + i], c = cs[i], s = cs[half + i];
        const float a = x1 * c, b = -x2 * s, d = x2 * c, e = x1 * s;
        v[i] = a + b;
        v[half + i] = d + e;
      }
    }
  }
}

struct Workspace {
  std::vector<float> h, x, q, k, v, att, tmp, gate, up, last, scores, cs;
  std::vector<int32_t> pos;
};

void resize(std::vector<float>& v, int64_t n) { v.resize(static_cast<size_t>(std::max<int64_t>(n, 1))); }

}  // namespace

void validateDecoder(const DecoderSpec& s, const DecoderWeights& w, const DecodeCall& c) {
  auto atLeast = [](int64_t v, int64_t min, const char* name) {
    if (v < min) throwExpected(ErrorKind::Range, "an integer >= " + std::to_string(min), name, std::to_string(v));
  };
  atLeast(s.layers, 1, "layers");
  atLeast(s.hidden, 1, "hidden");
  atLeast(s.heads, 1, "heads");
  atLeast(s.kvHeads, 1, "kvHeads");
  atLeast(s.headDim, 2, "headDim");
  atLeast(s.intermediate, 1, "intermediate");
  atLeast(s.vocab, 1, "vocab");
  atLeast(s.batch, 1, "batch");
  atLeast(s.capacity, 1, "capacity");
  if (s.headDim % 2 != 0) throwExpected(ErrorKind::Range, "an even head dimension", "headDim", std::to_string(s.headDim));
  if (s.heads % s.kvHeads != 0) {
    throwExpected(ErrorKind::Range, "a divisor of heads (" + std::to_string(s.heads) + ")", "kvHeads", std::to_string(s.kvHeads));
  }
  if (!(s.eps >= 0.0f)) throwExpected(ErrorKind::Range, "a number >= 0", "eps", jsNumber(s.eps));
  if (!s.invFreq) throwExpected(ErrorKind::Type, "a Float32Array", "invFreq", "none");
  if (!w.embed || !w.finalNorm || !w.head) throwExpected(ErrorKind::Type, "the embedding, final norm and head weights", "weights", "a missing one");
  if (static_cast<int64_t>(w.layer.size()) != s.layers) {
    throwExpected(ErrorKind::Range, std::to_string(s.layers) + " layers of weights", "weights", std::to_string(w.layer.size()));
  }
  for (size_t l = 0; l < w.layer.size(); ++l) {
    const DecoderLayerWeights& L = w.layer[l];
    if (!L.inputNorm || !L.q || !L.k || !L.v || !L.o || !L.postNorm || !L.gate || !L.up || !L.down) {
      throwExpected(ErrorKind::Type, "every weight matrix and norm", "weights of layer " + std::to_string(l), "a missing one");
    }
    if ((L.qNorm == nullptr) != (L.kNorm == nullptr)) {
      throwExpected(ErrorKind::Type, "both q and k norms or neither", "weights of layer " + std::to_string(l), "only one");
    }
  }
  atLeast(c.count, 1, "count");
  atLeast(c.start, 0, "start");
  if (c.start + c.count > s.capacity) {
    throwRange("start + count <= capacity (" + std::to_string(s.capacity) + ")", std::to_string(c.start) + " + " + std::to_string(c.count));
  }
  if (!c.ids || !c.positions || !c.keyMask || !c.kCache || !c.vCache || !c.logits) {
    throwExpected(ErrorKind::Type, "ids, positions, keyMask, kCache, vCache and logits", "decodeStep", "a missing one");
  }
  for (int64_t i = 0; i < s.batch * c.count; ++i) {
    if (c.ids[i] < 0 || c.ids[i] >= s.vocab) {
      throwRange("token ids in [0, " + std::to_string(s.vocab) + ")", "ids[" + std::to_string(i) + "] = " + std::to_string(c.ids[i]));
    }
    if (c.positions[i] < 0) throwRange("positions >= 0", "positions[" + std::to_string(i) + "] = " + std::to_string(c.positions[i]));
  }
}

void decodeCpu(const DecoderSpec& s, const DecoderWeights& w, const DecodeCall& c) {
  validateDecoder(s, w, c);
  thread_local Workspace ws;
  const int64_t B = s.batch, T = c.count, R = B * T, H = s.hidden, hd = s.headDim;
  const int64_t nH = s.heads, nKv = s.kvHeads, I = s.intermediate, V = s.vocab, S = s.capacity;
  const int64_t qDim = nH * hd, kvDim = nKv * hd, rep = nH / nKv;
  resize(ws.h, R * H);
  resize(ws.x, R * H);
  resize(ws.q, R * qDim);
  resize(ws.k, R * kvDim);
  resize(ws.v, R * kvDim);
  resize(ws.att, R * qDim);
  resize(ws.tmp, R * H);
  resize(ws.gate, R * I);
  resize(ws.up, R * I);
  resize(ws.last, B * H);
  float* h = ws.h.data();
  for (int64_t r = 0; r < R; ++r) std::memcpy(h + r * H, w.embed + static_cast<int64_t>(c.ids[r]) * H, sizeof(float) * H);

  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t layerStride = B * nKv * S * hd;
  auto& pool = cpu::ThreadPool::instance();
  for (int64_t l = 0; l < s.layers; ++l) {
    const DecoderLayerWeights& L = w.layer[static_cast<size_t>(l)];
    float* kc = c.kCache + l * layerStride;
    float* vc = c.vCache + l * layerStride;
    rmsNorm(h, L.inputNorm, ws.x.data(), R, H, s.eps);
    linear(ws.x.data(), R, H, L.q, L.qBias, qDim, ws.q.data());
    linear(ws.x.data(), R, H, L.k, L.kBias, kvDim, ws.k.data());
    linear(ws.x.data(), R, H, L.v, L.vBias, kvDim, ws.v.data());
    if (L.qNorm) {
      rmsNorm(ws.q.data(), L.qNorm, ws.q.data(), R * nH, hd, s.eps);
      rmsNorm(ws.k.data(), L.kNorm, ws.k.data(), R * nKv, hd, s.eps);
    }
    rotary(ws.q.data(), R, nH, hd, c.positions, s.invFreq, ws.cs);
    rotary(ws.k.data(), R, nKv, hd, c.positions, s.invFreq, ws.cs);
    // New keys and values into their slots: cache is [B, nKv, S, hd].
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t g = 0; g < nKv; ++g) {
          const int64_t src = ((b * T + t) * nKv + g) * hd;
          const int64_t dst = ((b * nKv + g) * S + c.start + t) * hd;
          std::memcpy(kc + dst, ws.k.data() + src, sizeof(float) * hd);
          std::memcpy(vc + dst, ws.v.data() + src, sizeof(float) * hd);
        }
    // Attention: query (b, t, head) sees slots j <= start + t whose key mask is 1.
    const int64_t tasks = B * T * nH;
    const int64_t work = tasks * (c.start + T) * hd;
    const float* qAll = ws.q.data();  // the workspace is this thread's: the pool's threads get pointers
    float* attAll = ws.att.data();
    pool.parallelFor(tasks, work < (int64_t{1} << 16) ? tasks : 1, [&](int64_t t0, int64_t t1, int) {
      std::vector<float> p(static_cast<size_t>(c.start + T));
      for (int64_t task = t0; task < t1; ++task) {
        const int64_t head = task % nH, bt = task / nH, b = bt / T, t = bt % T;
        const int64_t g = head / rep;
        const float* qv = qAll + (bt * nH + head) * hd;
        const float* keys = kc + (b * nKv + g) * S * hd;
        const float* vals = vc + (b * nKv + g) * S * hd;
        const uint8_t* mask = c.keyMask + b * S;
        const int64_t upto = c.start + t;
        float max = -INFINITY;
        for (int64_t j = 0; j <= upto; ++j) {
          if (!mask[j]) continue;
          const float* kj = keys + j * hd;
          float dot = 0.0f;
          for (int64_t i = 0; i < hd; ++i) dot += qv[i] * kj[i];
          p[j] = dot * scale;
          max = std::max(max, p[j]);
        }
        float* out = attAll + (bt * nH + head) * hd;
        std::fill(out, out + hd, 0.0f);
        if (max == -INFINITY) continue;  // no visible key (a padding slot): its output is never read
        float sum = 0.0f;
        for (int64_t j = 0; j <= upto; ++j) {
          if (!mask[j]) continue;
          p[j] = std::exp(p[j] - max);
          sum += p[j];
        }
        for (int64_t j = 0; j <= upto; ++j) {
          if (!mask[j]) continue;
          const float pj = p[j] / sum;
          const float* vj = vals + j * hd;
          for (int64_t i = 0; i < hd; ++i) out[i] += pj * vj[i];
        }
      }
    });
    linear(ws.att.data(), R, qDim, L.o, L.oBias, H, ws.tmp.data());
    for (int64_t i = 0; i < R * H; ++i) h[i] += ws.tmp[i];
    rmsNorm(h, L.postNorm, ws.x.data(), R, H, s.eps);
    linear(ws.x.data(), R, H, L.gate, L.gateBias, I, ws.gate.data());
    linear(ws.x.data(), R, H, L.up, L.upBias, I, ws.up.data());
    for (int64_t i = 0; i < R * I; ++i) {
      const float g = ws.gate[i];
      const float sig = 1.0f / (1.0f + std::exp(-g));
      ws.gate[i] = (g * sig) * ws.up[i];
    }
    linear(ws.gate.data(), R, I, L.down, L.downBias, H, ws.tmp.data());
    for (int64_t i = 0; i < R * H; ++i) h[i] += ws.tmp[i];
  }
  // The head, for the last new token of each sequence.
  for (int64_t b = 0; b < B; ++b) std::memcpy(ws.last.data() + b * H, h + (b * T + T - 1) * H, sizeof(float) * H);
  rmsNorm(ws.last.data(), w.finalNorm, ws.last.data(), B, H, s.eps);
  linear(ws.last.data(), B, H, w.head, nullptr, V, c.logits);
}

}  // namespace rapo

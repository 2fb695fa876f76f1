// Stage 2 of miForward on the host: from per-row log-probs to PMI, role-specificity scores,
// asymmetric weights and weighted advantages. O(N) plus one selection per scope; float64
// accumulation so that the GRPO case (lamPos = lamNeg = 0) gives weight 1 exactly.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common/errors.h"
#include "common/internal.h"

namespace rapo {

namespace {

struct Segment {
  int64_t begin, end;
};

// Median, min and max of mi over the unmasked rows of [begin, end).
struct RobustStats {
  bool any = false;
  double median = 0, minV = 0, maxV = 0;
};

RobustStats robustStats(const float* mi, const uint8_t* mask, Segment seg, std::vector<float>& work) {
  work.clear();
  for (int64_t i = seg.begin; i < seg.end; ++i) {
    if (!mask || mask[i]) work.push_back(mi[i]);
  }
  RobustStats r;
  if (work.empty()) return r;
  r.any = true;
  const auto [lo, hi] = std::minmax_element(work.begin(), work.end());
  r.minV = *lo;
  r.maxV = *hi;
  const std::size_t k = work.size() / 2;
  std::nth_element(work.begin(), work.begin() + k, work.end());
  double upper = work[k];
  if (work.size() % 2 == 0) {
    const double lower = *std::max_element(work.begin(), work.begin() + k);
    r.median = 0.5 * (lower + upper);
  } else {
    r.median = upper;
  }
  return r;
}

double robustScore(double m, const RobustStats& st) {
  const double d = m - st.median;
  if (d > 0) return d / (st.maxV - st.median);
  if (d < 0) return d / (st.median - st.minV);
  return 0.0;
}

}  // namespace

void miFinalize(const MiForwardInput& in, const MiForwardOutput& out) {
  const int64_t n = in.n;
  const uint8_t* mask = in.mask;
  const RapoParams& p = in.params;
  auto active = [&](int64_t i) { return !mask || mask[i]; };

  for (int64_t i = 0; i < n; ++i) {
    out.mi[i] = active(i) ? static_cast<float>(double(out.logpWith[i]) - double(out.logpWithout[i])) : 0.0f;
  }

  // Role-specificity score s in [-1, 1]: given (the testbed's oracle), or the normalized PMI.
  std::vector<float> work;
  for (int64_t i = 0; i < n; ++i) out.score[i] = 0.0f;
  std::vector<double> sc(static_cast<std::size_t>(n), 0.0);
  if (in.scores) {
    for (int64_t i = 0; i < n; ++i) {
      if (active(i)) sc[i] = in.scores[i];
    }
  } else {
    switch (p.norm) {
      case Norm::None:
        break;
      case Norm::Clip:
        for (int64_t i = 0; i < n; ++i) {
          if (!active(i)) continue;
          const double c = p.scale;
          sc[i] = static_cast<float>(std::clamp(double(out.mi[i]), -c, c) / c);
        }
        break;
      case Norm::Tanh:
        for (int64_t i = 0; i < n; ++i) {
          if (active(i)) sc[i] = static_cast<float>(std::tanh(double(out.mi[i]) / p.scale));
        }
        break;
      case Norm::Robust: {
        std::vector<Segment> segs;
        if (p.scope == Scope::Batch) {
          segs.push_back({0, n});
        } else {
          for (int64_t s = 0; s < in.numSeqs; ++s) segs.push_back({in.seqOffsets[s], in.seqOffsets[s + 1]});
        }
        for (const Segment& seg : segs) {
          const RobustStats st = robustStats(out.mi, mask, seg, work);
          if (!st.any) continue;
          for (int64_t i = seg.begin; i < seg.end; ++i) {
            if (active(i)) sc[i] = static_cast<float>(robustScore(out.mi[i], st));
          }
        }
        break;
      }
    }
  }

  // Centring per group (symmetric, bounded), clipped back to [-1, 1]; neutral rows score 0.
  auto neutral = [&](int64_t i) { return in.neutral && in.neutral[i]; };
  if (p.variant != Variant::Paper) {
    const int64_t G = p.groupSize > 0 ? p.groupSize : in.numSeqs;
    for (int64_t g = 0; g < in.numSeqs; g += G) {
      const int64_t begin = in.seqOffsets[g], end = in.seqOffsets[g + G];
      double sum = 0;
      int64_t count = 0;
      for (int64_t i = begin; i < end; ++i) {
        if (active(i) && !neutral(i)) {
          sum += sc[i];
          ++count;
        }
      }
      if (count == 0) continue;
      const double mean = sum / double(count);
      for (int64_t i = begin; i < end; ++i) {
        if (active(i) && !neutral(i)) sc[i] = std::clamp(sc[i] - mean, -1.0, 1.0);
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (neutral(i)) sc[i] = 0.0;
  }

  std::vector<double> adv(static_cast<std::size_t>(n), 0.0);
  for (int64_t s = 0; s < in.numSeqs; ++s) {
    for (int64_t i = in.seqOffsets[s]; i < in.seqOffsets[s + 1]; ++i) {
      if (active(i)) adv[i] = in.advantagePerToken ? in.advantages[i] : in.advantages[s];
    }
  }
  // The cap (bounded): a sequence's extra weight sum_t lam * |s_t| at most cap per row.
  if (p.variant == Variant::Bounded) {
    for (int64_t s = 0; s < in.numSeqs; ++s) {
      double extra = 0;
      int64_t count = 0;
      for (int64_t i = in.seqOffsets[s]; i < in.seqOffsets[s + 1]; ++i) {
        if (!active(i)) continue;
        const double lam = adv[i] > 0 ? double(p.lamPos) : (adv[i] < 0 ? double(p.lamNeg) : 0.0);
        extra += lam * std::fabs(sc[i]);
        ++count;
      }
      const double limit = double(p.cap) * double(count);
      if (extra > limit) {
        const double f = limit / extra;
        for (int64_t i = in.seqOffsets[s]; i < in.seqOffsets[s + 1]; ++i) {
          if (active(i)) sc[i] *= f;
        }
      }
    }
  }

  // Weights, then the renormalization (bounded: one factor per advantage sign).
  std::vector<double> w(static_cast<std::size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    if (!active(i)) continue;
    const double a = adv[i];
    if (p.variant == Variant::Symmetric) {
      w[i] = 1.0 + double(p.lamPos) * sc[i];
    } else {
      w[i] = a > 0 ? 1.0 + double(p.lamPos) * sc[i] : (a < 0 ? 1.0 - double(p.lamNeg) * sc[i] : 1.0);
    }
    out.score[i] = static_cast<float>(sc[i]);
  }
  if (p.variant == Variant::Bounded) {
    double pos = 0, pos0 = 0, neg = 0, neg0 = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (!active(i)) continue;
      if (adv[i] > 0) {
        pos += w[i] * adv[i];
        pos0 += adv[i];
      } else if (adv[i] < 0) {
        neg -= w[i] * adv[i];
        neg0 -= adv[i];
      }
    }
    const double fPos = pos > 0 ? pos / pos0 : 1.0, fNeg = neg > 0 ? neg / neg0 : 1.0;
    for (int64_t i = 0; i < n; ++i) {
      if (!active(i)) continue;
      if (adv[i] > 0) w[i] /= fPos;
      else if (adv[i] < 0) w[i] /= fNeg;
    }
  }
  auto renormRange = [&](int64_t begin, int64_t end) {
    double sum = 0;
    int64_t count = 0;
    for (int64_t i = begin; i < end; ++i) {
      if (active(i)) {
        sum += w[i];
        ++count;
      }
    }
    if (count == 0 || sum <= 0) return;  // all-zero weights stay zero
    const double mean = sum / double(count);
    for (int64_t i = begin; i < end; ++i) w[i] /= mean;
  };
  if (p.renorm == Renorm::Batch) {
    renormRange(0, n);
  } else if (p.renorm == Renorm::Sequence) {
    for (int64_t s = 0; s < in.numSeqs; ++s) renormRange(in.seqOffsets[s], in.seqOffsets[s + 1]);
  }
  for (int64_t i = 0; i < n; ++i) {
    out.weight[i] = static_cast<float>(w[i]);
    out.weightedAdvantage[i] = static_cast<float>(w[i] * adv[i]);
  }
}

std::string lseMismatchMessage(int64_t row, float lse, double softmaxSum) {
  return "Expected lse[" + std::to_string(row) + "] to be the log-sum-exp of logits row " + std::to_string(row) +
         " / temperature (softmax summing to 1) but received lse = " + jsNumber(lse) +
         ", for which the softmax sums to " + jsNumber(softmaxSum) +
         "; pass the lseWith that miForward returned for these logits and temperature";
}

void throwRowProblem(const MiForwardInput& in, int64_t row, bool withSide, const void* rowData) {
  std::string msg = describeRowProblemRaw(rowData, in.dtype, in.v, row, in.tokens[row], in.params.temperature,
                                          withSide ? "logitsWith" : "logitsWithout");
  if (msg.empty()) {
    msg = std::string("Internal error: a kernel flagged row ") + std::to_string(row) + " of " +
          (withSide ? "logitsWith" : "logitsWithout") + " but the row looks valid; please report this";
    throw Error(ErrorKind::Runtime, msg);
  }
  throw Error(ErrorKind::Range, msg);
}

}  // namespace rapo

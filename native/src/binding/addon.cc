// Node-API surface of the rapo addon: info functions, the two ops (sync and async, CPU and
// CUDA), device buffers and the benchmark helpers. Every entry point converts C++ exceptions
// into JavaScript errors; argument checks live in args.cc.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "binding/args.h"
#include "binding/device_buffer.h"
#include "common/errors.h"
#include "rapo/rapo.h"
#include "rapo_source_hash.h"

namespace rapo::binding {

namespace {

// Runs `body` and turns rapo::Error (and anything else thrown in C++) into a JS exception.
template <typename F>
auto guarded(Napi::Env env, F body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw toJsError(env, e.kind(), e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "Out of memory in the rapo addon");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("rapo addon: ") + e.what());
  }
}

// An async op: runs `work` on a libuv worker thread, resolves with `result` or rejects with the
// right error class. The Keepalive holds every array the work touches.
class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, std::function<void()> work, Napi::Value result, std::unique_ptr<Keepalive> keep)
      : Napi::AsyncWorker(env, "rapo"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(Napi::Persistent(result.As<Napi::Object>())),
        keep_(std::move(keep)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      work_();
    } catch (const Error& e) {
      kind_ = e.kind();
      SetError(e.what());
    } catch (const std::exception& e) {
      kind_ = ErrorKind::Runtime;
      SetError(std::string("rapo addon: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result_.Value()); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(toJsError(Env(), kind_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  Napi::ObjectReference result_;
  std::unique_ptr<Keepalive> keep_;
  ErrorKind kind_ = ErrorKind::Runtime;
};

bool backendArg(const Napi::CallbackInfo& info) {
  return info.Length() >= 2 ? parseBackendIsCuda(info[1]) : false;
}

std::function<void()> miWork(const MiCall& c, bool cuda) {
  return [in = c.in, out = c.out, onDevice = c.place.logitsOnDevice, cuda] {
    if (cuda) miForwardCuda(in, out, onDevice); else miForwardCpu(in, out);
  };
}

std::function<void()> backwardWork(const BackwardCall& c, bool cuda) {
  return [in = c.in, place = c.place, cuda] {
    if (cuda) logprobBackwardCuda(in, place.logitsOnDevice, place.outOnDevice); else logprobBackwardCpu(in);
  };
}

// Parses a call, then runs it on this thread or, for the async variants, on a worker thread
// whose promise the call returns.
template <typename Call>
Napi::Value runOp(const Napi::CallbackInfo& info, Call (*parse)(const Napi::CallbackInfo&, bool, Keepalive*),
                  std::function<void()> (*work)(const Call&, bool), bool async) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const bool cuda = backendArg(info);
    auto keep = std::make_unique<Keepalive>();
    Call call = parse(info, cuda, keep.get());
    if (!async) {
      work(call, cuda)();
      return call.result;
    }
    auto* worker = new OpWorker(info.Env(), work(call, cuda), call.result, std::move(keep));
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  });
}

Napi::Value MiForward(const Napi::CallbackInfo& info) { return runOp<MiCall>(info, parseMiForward, miWork, false); }
Napi::Value MiForwardAsync(const Napi::CallbackInfo& info) { return runOp<MiCall>(info, parseMiForward, miWork, true); }
Napi::Value LogprobBackward(const Napi::CallbackInfo& info) {
  return runOp<BackwardCall>(info, parseLogprobBackward, backwardWork, false);
}
Napi::Value LogprobBackwardAsync(const Napi::CallbackInfo& info) {
  return runOp<BackwardCall>(info, parseLogprobBackward, backwardWork, true);
}

int iterationsArg(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "Expected a number for iterations but received another type");
  }
  return info[index].As<Napi::Number>().Int32Value();
}

Napi::Value TimeMiForwardCuda(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Keepalive keep;
    MiCall call = parseMiForward(info, true, &keep);
    if (!call.place.logitsOnDevice) {
      throw Napi::TypeError::New(info.Env(), "Expected DeviceBuffer for logitsWith but received a typed array");
    }
    return Napi::Number::New(info.Env(), timeMiForwardCuda(call.in, iterationsArg(info, 1)));
  });
}

Napi::Value TimeLogprobBackwardCuda(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Keepalive keep;
    BackwardCall call = parseLogprobBackward(info, true, &keep);
    if (!call.place.logitsOnDevice || !call.place.outOnDevice) {
      throw Napi::TypeError::New(info.Env(), "Expected DeviceBuffer for logits and out but received a typed array");
    }
    return Napi::Number::New(info.Env(), timeLogprobBackwardCuda(call.in, iterationsArg(info, 1)));
  });
}

Napi::Value TimeDeviceCopyCuda(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().DoubleValue() < 1) {
      throw Napi::TypeError::New(info.Env(), "Expected a byte count >= 1 for bytes but received another value");
    }
    const auto bytes = static_cast<std::size_t>(info[0].As<Napi::Number>().DoubleValue());
    return Napi::Number::New(info.Env(), timeDeviceCopyCuda(bytes, iterationsArg(info, 1)));
  });
}

Napi::Value StreamRead(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(info.Env(), "Expected Float32Array for data but received another type");
    }
    Napi::Float32Array a = info[0].As<Napi::Float32Array>();
    return Napi::Number::New(info.Env(), streamReadCpu(a.Data(), static_cast<int64_t>(a.ElementLength())));
  });
}

// matmul(a, b, out, batchA, batchB, m, n, k, transA, transB): the BatchMatMul contract of
// rapo.h, synchronous (tfjs kernels are). Lengths are checked against the shape.
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    static const char* names[] = {"a", "b", "out"};
    Napi::Float32Array arr[3];
    for (int i = 0; i < 3; ++i) {
      if (info.Length() <= static_cast<size_t>(i) || !info[i].IsTypedArray() ||
          info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw Napi::TypeError::New(env, std::string("Expected Float32Array for ") + names[i] + " but received another type");
      }
      arr[i] = info[i].As<Napi::Float32Array>();
    }
    static const char* dims[] = {"batchA", "batchB", "m", "n", "k"};
    int64_t d[5];
    for (int i = 0; i < 5; ++i) {
      const Napi::Value v = info.Length() > static_cast<size_t>(3 + i) ? info[3 + i] : env.Undefined();
      const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (!v.IsNumber() || x != std::floor(x) || x < (i < 2 ? 1 : 0) || x > 9.007199254740991e15) {
        throw Napi::RangeError::New(env, std::string("Expected an integer >= ") + (i < 2 ? "1" : "0") + " for " + dims[i] +
                                             " but received " + (v.IsNumber() ? jsNumber(x) : "another type"));
      }
      d[i] = static_cast<int64_t>(x);
    }
    MatmulShape s{d[0], d[1], d[2], d[3], d[4], false, false};
    for (int i = 0; i < 2; ++i) {
      const Napi::Value v = info.Length() > static_cast<size_t>(8 + i) ? info[8 + i] : env.Undefined();
      if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("Expected a boolean for ") + (i ? "transB" : "transA") + " but received another type");
      (i ? s.transB : s.transA) = v.As<Napi::Boolean>().Value();
    }
    const int64_t want[3] = {s.batchA * s.m * s.k, s.batchB * s.k * s.n, std::max(s.batchA, s.batchB) * s.m * s.n};
    for (int i = 0; i < 3; ++i) {
      if (static_cast<int64_t>(arr[i].ElementLength()) != want[i]) {
        throw Napi::RangeError::New(env, std::string("Expected ") + jsNumber(static_cast<double>(want[i])) + " elements for " + names[i] +
                                             " but received " + jsNumber(static_cast<double>(arr[i].ElementLength())));
      }
    }
    matmulCpu(arr[0].Data(), arr[1].Data(), arr[2].Data(), s);
    return env.Undefined();
  });
}

// --- tensor ops for the rapo-native tfjs backend ------------------------------------------------

// A Float32Array argument, or a 4-byte typed array viewed as float32 (the copies move bits).
float* floatData(const Napi::CallbackInfo& info, size_t i, const char* name, bool anyFourBytes, size_t& length) {
  if (info.Length() > i && info[i].IsTypedArray()) {
    Napi::TypedArray t = info[i].As<Napi::TypedArray>();
    const auto type = t.TypedArrayType();
    if (type == napi_float32_array || (anyFourBytes && (type == napi_int32_array || type == napi_uint32_array))) {
      length = t.ElementLength();
      return reinterpret_cast<float*>(static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset());
    }
  }
  throw Napi::TypeError::New(info.Env(), std::string("Expected ") + (anyFourBytes ? "a Float32Array or Int32Array" : "a Float32Array") + " for " + name +
                                             " but received another type");
}

// An array of up to kMaxRank integers >= 0.
int intList(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t* out, int expectRank = -1) {
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string("Expected an array of integers for ") + name + " but received another type");
  Napi::Array a = info[i].As<Napi::Array>();
  const int n = static_cast<int>(a.Length());
  if (n > kMaxRank || (expectRank >= 0 && n != expectRank)) {
    throw Napi::RangeError::New(info.Env(), std::string("Expected ") + (expectRank >= 0 ? std::to_string(expectRank) : "at most " + std::to_string(kMaxRank)) +
                                                " entries for " + name + " but received " + std::to_string(n));
  }
  for (int d = 0; d < n; ++d) {
    Napi::Value v = a.Get(static_cast<uint32_t>(d));
    const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!v.IsNumber() || x < 0 || x != std::floor(x) || x > 9.007199254740991e15) {
      throw Napi::RangeError::New(info.Env(), std::string("Expected integers >= 0 for ") + name + " but received " + (v.IsNumber() ? jsNumber(x) : "another type"));
    }
    out[d] = static_cast<int64_t>(x);
  }
  return n;
}

int64_t offsetArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const double x = info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
  if (x < 0 || x != std::floor(x)) throw Napi::RangeError::New(info.Env(), std::string("Expected an integer >= 0 for ") + name);
  return static_cast<int64_t>(x);
}

// The furthest element `offset + sum((shape - 1) * strides)` must lie inside the array.
void checkReach(Napi::Env env, const char* name, size_t length, int64_t offset, int rank, const int64_t* shape, const int64_t* strides) {
  int64_t last = offset;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 0) return;  // nothing is read or written
    last += (shape[d] - 1) * strides[d];
  }
  if (last >= static_cast<int64_t>(length)) {
    throw Napi::RangeError::New(env, std::string("Expected ") + name + " to hold element " + std::to_string(last) + " of the strided view but it has " +
                                         std::to_string(length) + " elements");
  }
}

// binary(op, a, b, out, shape, aStrides, bStrides): out (contiguous) = a op b.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const double op = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (op < 0 || op > 6 || op != std::floor(op)) throw Napi::RangeError::New(env, "Expected a binary op code in [0, 6] for op");
    size_t la, lb, lo;
    const float* a = floatData(info, 1, "a", false, la);
    const float* b = floatData(info, 2, "b", false, lb);
    float* out = floatData(info, 3, "out", false, lo);
    int64_t shape[kMaxRank], sa[kMaxRank], sb[kMaxRank];
    const int rank = intList(info, 4, "shape", shape);
    intList(info, 5, "aStrides", sa, rank);
    intList(info, 6, "bStrides", sb, rank);
    int64_t size = 1;
    for (int d = 0; d < rank; ++d) size *= shape[d];
    if (static_cast<int64_t>(lo) != size) throw Napi::RangeError::New(env, "Expected " + std::to_string(size) + " elements for out but received " + std::to_string(lo));
    checkReach(env, "a", la, 0, rank, shape, sa);
    checkReach(env, "b", lb, 0, rank, shape, sb);
    binaryCpu(static_cast<BinaryOp>(static_cast<int>(op)), a, b, out, rank, shape, sa, sb);
    return env.Undefined();
  });
}

// stridedCopy(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape)
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t ls, ld;
    const float* src = floatData(info, 0, "src", true, ls);
    const int64_t so = offsetArg(info, 1, "srcOffset");
    int64_t shape[kMaxRank], ss[kMaxRank], sd[kMaxRank];
    float* dst = floatData(info, 3, "dst", true, ld);
    const int64_t doff = offsetArg(info, 4, "dstOffset");
    const int rank = intList(info, 6, "shape", shape);
    intList(info, 2, "srcStrides", ss, rank);
    intList(info, 5, "dstStrides", sd, rank);
    checkReach(env, "src", ls, so, rank, shape, ss);
    checkReach(env, "dst", ld, doff, rank, shape, sd);
    stridedCopyCpu(src + so, dst + doff, rank, shape, ss, sd);
    return env.Undefined();
  });
}

// softmaxRows(x, out, rows, cols)
Napi::Value SoftmaxRows(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t lx, lo;
    const float* x = floatData(info, 0, "x", false, lx);
    float* out = floatData(info, 1, "out", false, lo);
    const int64_t rows = offsetArg(info, 2, "rows"), cols = offsetArg(info, 3, "cols");
    if (static_cast<int64_t>(lx) != rows * cols || lo != lx) {
      throw Napi::RangeError::New(env, "Expected " + std::to_string(rows * cols) + " elements for x and out but received " + std::to_string(lx) + " and " + std::to_string(lo));
    }
    softmaxRowsCpu(x, out, rows, cols);
    return env.Undefined();
  });
}

// unary(op, x, out): out = op(x) elementwise.
Napi::Value Unary(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const double op = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (op < 0 || op > 8 || op != std::floor(op)) throw Napi::RangeError::New(env, "Expected a unary op code in [0, 8] for op");
    size_t lx, lo;
    const float* x = floatData(info, 1, "x", false, lx);
    float* out = floatData(info, 2, "out", false, lo);
    if (lo != lx) throw Napi::RangeError::New(env, "Expected out to hold " + std::to_string(lx) + " elements like x but it has " + std::to_string(lo));
    unaryCpu(static_cast<UnaryOp>(static_cast<int>(op)), x, out, static_cast<int64_t>(lx));
    return env.Undefined();
  });
}

// sumAxis(x, out, outer, reduce, inner, scale): out[o][i] = scale * sum_r x[o][r][i].
Napi::Value SumAxis(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t lx, lo;
    const float* x = floatData(info, 0, "x", false, lx);
    float* out = floatData(info, 1, "out", false, lo);
    const int64_t outer = offsetArg(info, 2, "outer"), reduce = offsetArg(info, 3, "reduce"), inner = offsetArg(info, 4, "inner");
    if (info.Length() < 6 || !info[5].IsNumber()) throw Napi::TypeError::New(env, "Expected a number for scale");
    if (static_cast<int64_t>(lx) != outer * reduce * inner || static_cast<int64_t>(lo) != outer * inner) {
      throw Napi::RangeError::New(env, "Expected x to hold " + std::to_string(outer * reduce * inner) + " and out " + std::to_string(outer * inner) +
                                           " elements but they hold " + std::to_string(lx) + " and " + std::to_string(lo));
    }
    sumAxisCpu(x, out, outer, reduce, inner, info[5].As<Napi::Number>().DoubleValue());
    return env.Undefined();
  });
}

// gather(x, indices, out, outer, axis, inner): out[o][j][i] = x[o][indices[j]][i].
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t lx, lo;
    const float* x = floatData(info, 0, "x", true, lx);
    if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, "Expected an Int32Array for indices but received another type");
    }
    Napi::Int32Array idx = info[1].As<Napi::Int32Array>();
    float* out = floatData(info, 2, "out", true, lo);
    const int64_t outer = offsetArg(info, 3, "outer"), axis = offsetArg(info, 4, "axis"), inner = offsetArg(info, 5, "inner");
    const auto count = static_cast<int64_t>(idx.ElementLength());
    if (static_cast<int64_t>(lx) != outer * axis * inner || static_cast<int64_t>(lo) != outer * count * inner) {
      throw Napi::RangeError::New(env, "Expected x to hold " + std::to_string(outer * axis * inner) + " and out " + std::to_string(outer * count * inner) +
                                           " elements but they hold " + std::to_string(lx) + " and " + std::to_string(lo));
    }
    gatherCpu(x, idx.Data(), out, outer, axis, inner, count);
    return env.Undefined();
  });
}

Napi::Value BlasInfoJs(const Napi::CallbackInfo& info) {
  const BlasInfo b = blasInfo();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blas", b.blas);
  o.Set("library", b.library);
  o.Set("impl", b.impl);
  o.Set("threads", b.threads);
  o.Set("core", b.core);
  return o;
}

Napi::Value SetMatmulImpl(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "Expected a string for impl but received another type");
    setMatmulImpl(info[0].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  });
}

Napi::Value TimeSgemmDirect(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    double v[5];
    static const char* names[] = {"m", "n", "k", "iterations", "threads"};
    for (int i = 0; i < 5; ++i) {
      if (info.Length() <= static_cast<size_t>(i) || !info[i].IsNumber()) {
        throw Napi::TypeError::New(info.Env(), std::string("Expected a number for ") + names[i] + " but received another type");
      }
      v[i] = info[i].As<Napi::Number>().DoubleValue();
    }
    return Napi::Number::New(info.Env(), timeSgemmDirect(static_cast<int64_t>(v[0]), static_cast<int64_t>(v[1]), static_cast<int64_t>(v[2]),
                                                         static_cast<int>(v[3]), static_cast<int>(v[4])));
  });
}

Napi::Value CpuInfoJs(const Napi::CallbackInfo& info) {
  const CpuInfo c = cpuInfo();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("avx2", c.avx2);
  o.Set("threads", c.threads);
  o.Set("hardwareThreads", c.hardwareThreads);
  o.Set("simd", c.simd);
  Napi::Array available = Napi::Array::New(info.Env(), c.available.size());
  for (uint32_t i = 0; i < c.available.size(); ++i) available.Set(i, c.available[i]);
  o.Set("available", available);
  return o;
}

Napi::Value SetCpuThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber()) {
      throw Napi::TypeError::New(info.Env(), "Expected a number for threads but received another type");
    }
    setCpuThreads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

Napi::Value SetCpuIsa(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) {
      throw Napi::TypeError::New(info.Env(), "Expected a string for isa but received another type");
    }
    setCpuIsa(info[0].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  });
}

Napi::Value CudaInfoJs(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const CudaInfo c = cudaInfo();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("compiled", c.compiled);
    o.Set("available", c.available);
    o.Set("reason", c.reason);
    o.Set("deviceName", c.deviceName);
    o.Set("computeCapability", c.computeCapability);
    o.Set("multiprocessors", c.multiprocessors);
    o.Set("totalMemory", static_cast<double>(c.totalMemory));
    o.Set("runtimeVersion", c.runtimeVersion);
    o.Set("driverVersion", c.driverVersion);
    return o;
  });
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("sourceHash", RAPO_SOURCE_HASH);
#ifdef RAPO_WITH_CUDA
  o.Set("cuda", true);
#else
  o.Set("cuda", false);
#endif
  o.Set("napiVersion", NAPI_VERSION);
  o.Set("buildType", RAPO_BUILD_TYPE);
  return o;
}


// --- fused layer kernels -----------------------------------------------------------------------

void expectLength(Napi::Env env, const char* name, size_t length, int64_t want) {
  if (static_cast<int64_t>(length) != want) {
    throw Napi::RangeError::New(env, "Expected " + std::to_string(want) + " elements for " + name + " but received " + std::to_string(length));
  }
}

// rmsNormForward(x, weight, y, rstd, rows, size, eps)
Napi::Value RmsNormForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t lx, lw, ly, lr;
    const float* x = floatData(info, 0, "x", false, lx);
    const float* w = floatData(info, 1, "weight", false, lw);
    float* y = floatData(info, 2, "y", false, ly);
    float* rstd = floatData(info, 3, "rstd", false, lr);
    const int64_t rows = offsetArg(info, 4, "rows"), size = offsetArg(info, 5, "size");
    if (info.Length() < 7 || !info[6].IsNumber()) throw Napi::TypeError::New(env, "Expected a number for eps but received another type");
    expectLength(env, "x", lx, rows * size);
    expectLength(env, "weight", lw, size);
    expectLength(env, "y", ly, rows * size);
    expectLength(env, "rstd", lr, rows);
    rmsNormForwardCpu(x, w, y, rstd, rows, size, info[6].As<Napi::Number>().FloatValue());
    return env.Undefined();
  });
}

// rmsNormBackward(dy, x, weight, rstd, dx, dweight, rows, size)
Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t ldy, lx, lw, lr, ldx, ldw;
    const float* dy = floatData(info, 0, "dy", false, ldy);
    const float* x = floatData(info, 1, "x", false, lx);
    const float* w = floatData(info, 2, "weight", false, lw);
    const float* rstd = floatData(info, 3, "rstd", false, lr);
    float* dx = floatData(info, 4, "dx", false, ldx);
    float* dw = floatData(info, 5, "dweight", false, ldw);
    const int64_t rows = offsetArg(info, 6, "rows"), size = offsetArg(info, 7, "size");
    expectLength(env, "dy", ldy, rows * size);
    expectLength(env, "x", lx, rows * size);
    expectLength(env, "weight", lw, size);
    expectLength(env, "rstd", lr, rows);
    expectLength(env, "dx", ldx, rows * size);
    expectLength(env, "dweight", ldw, size);
    rmsNormBackwardCpu(dy, x, w, rstd, dx, dw, rows, size);
    return env.Undefined();
  });
}

// An optional Float32Array argument (null or undefined: none) of `want` elements.
float* optionalFloats(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t want) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  size_t length;
  float* p = floatData(info, i, name, false, length);
  expectLength(info.Env(), name, length, want);
  return p;
}

// swigluForward(gate, up, y, sig?)
Napi::Value SwigluForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t lg, lu, ly;
    const float* g = floatData(info, 0, "gate", false, lg);
    const float* u = floatData(info, 1, "up", false, lu);
    float* y = floatData(info, 2, "y", false, ly);
    const auto n = static_cast<int64_t>(lg);
    expectLength(env, "up", lu, n);
    expectLength(env, "y", ly, n);
    float* sig = optionalFloats(info, 3, "sig", n);
    swigluForwardCpu(g, u, y, sig, n);
    return env.Undefined();
  });
}

// swigluBackward(dy, gate, up, dgate, dup, sig?)
Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t ldy, lg, lu, ldg, ldu;
    const float* dy = floatData(info, 0, "dy", false, ldy);
    const float* g = floatData(info, 1, "gate", false, lg);
    const float* u = floatData(info, 2, "up", false, lu);
    float* dg = floatData(info, 3, "dgate", false, ldg);
    float* du = floatData(info, 4, "dup", false, ldu);
    const auto n = static_cast<int64_t>(ldy);
    expectLength(env, "gate", lg, n);
    expectLength(env, "up", lu, n);
    expectLength(env, "dgate", ldg, n);
    expectLength(env, "dup", ldu, n);
    const float* sig = optionalFloats(info, 5, "sig", n);
    swigluBackwardCpu(dy, g, u, sig, dg, du, n);
    return env.Undefined();
  });
}

// rotary(x, cos, sin, out, batch, heads, seq, headDim, inverse)
Napi::Value Rotary(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t lx, lc, ls, lo;
    const float* x = floatData(info, 0, "x", false, lx);
    const float* c = floatData(info, 1, "cos", false, lc);
    const float* sn = floatData(info, 2, "sin", false, ls);
    float* out = floatData(info, 3, "out", false, lo);
    const int64_t batch = offsetArg(info, 4, "batch"), heads = offsetArg(info, 5, "heads"), seq = offsetArg(info, 6, "seq"),
                  hd = offsetArg(info, 7, "headDim");
    if (info.Length() < 9 || !info[8].IsBoolean()) throw Napi::TypeError::New(env, "Expected a boolean for inverse but received another type");
    expectLength(env, "x", lx, batch * heads * seq * hd);
    expectLength(env, "cos", lc, batch * seq * hd);
    expectLength(env, "sin", ls, batch * seq * hd);
    expectLength(env, "out", lo, batch * heads * seq * hd);
    rotaryCpu(x, c, sn, out, batch, heads, seq, hd, info[8].As<Napi::Boolean>().Value());
    return env.Undefined();
  });
}

// scatterAddRows(src, index, out, rows, width): out = 0; out[index[j]] += src[j].
Napi::Value ScatterAddRows(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t ls, lo;
    const float* src = floatData(info, 0, "src", false, ls);
    if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, "Expected an Int32Array for index but received another type");
    }
    Napi::Int32Array idx = info[1].As<Napi::Int32Array>();
    float* out = floatData(info, 2, "out", false, lo);
    const int64_t rows = offsetArg(info, 3, "rows"), width = offsetArg(info, 4, "width");
    const auto count = static_cast<int64_t>(idx.ElementLength());
    expectLength(env, "src", ls, count * width);
    expectLength(env, "out", lo, rows * width);
    scatterAddRowsCpu(src, idx.Data(), out, count, rows, width);
    return env.Undefined();
  });
}

// The attention sizes of attentionForward/Backward: [batch, heads, kvHeads, seq, keys, headDim] and scale.
AttentionShape attentionShapeArg(const Napi::CallbackInfo& info, size_t i) {
  int64_t d[6];
  intList(info, i, "shape", d, 6);
  if (info.Length() <= i + 1 || !info[i + 1].IsNumber()) throw Napi::TypeError::New(info.Env(), "Expected a number for scale but received another type");
  AttentionShape s;
  s.batch = d[0];
  s.heads = d[1];
  s.kvHeads = d[2];
  s.seq = d[3];
  s.keys = d[4];
  s.headDim = d[5];
  s.scale = info[i + 1].As<Napi::Number>().FloatValue();
  return s;
}

// attentionForward(q, k, v, keyMask, out, probs, [batch, heads, kvHeads, seq, keys, headDim], scale)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t lq, lk, lv, lm, lo, lp;
    const float* q = floatData(info, 0, "q", false, lq);
    const float* k = floatData(info, 1, "k", false, lk);
    const float* v = floatData(info, 2, "v", false, lv);
    const float* mask = floatData(info, 3, "keyMask", false, lm);
    float* out = floatData(info, 4, "out", false, lo);
    float* probs = floatData(info, 5, "probs", false, lp);
    const AttentionShape s = attentionShapeArg(info, 6);
    expectLength(env, "q", lq, s.batch * s.heads * s.seq * s.headDim);
    expectLength(env, "k", lk, s.batch * s.kvHeads * s.keys * s.headDim);
    expectLength(env, "v", lv, s.batch * s.kvHeads * s.keys * s.headDim);
    expectLength(env, "keyMask", lm, s.batch * s.keys);
    expectLength(env, "out", lo, s.batch * s.heads * s.seq * s.headDim);
    expectLength(env, "probs", lp, s.batch * s.heads * s.seq * s.keys);
    attentionForwardCpu(q, k, v, mask, out, probs, s);
    return env.Undefined();
  });
}

// attentionBackward(dout, q, k, v, keyMask, probs, dq, dk, dv, [batch, heads, kvHeads, seq, keys, headDim], scale)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    size_t ldo, lq, lk, lv, lm, lp, ldq, ldk, ldv;
    const float* dout = floatData(info, 0, "dout", false, ldo);
    const float* q = floatData(info, 1, "q", false, lq);
    const float* k = floatData(info, 2, "k", false, lk);
    const float* v = floatData(info, 3, "v", false, lv);
    const float* mask = floatData(info, 4, "keyMask", false, lm);
    const float* probs = floatData(info, 5, "probs", false, lp);
    float* dq = floatData(info, 6, "dq", false, ldq);
    float* dk = floatData(info, 7, "dk", false, ldk);
    float* dv = floatData(info, 8, "dv", false, ldv);
    const AttentionShape s = attentionShapeArg(info, 9);
    const int64_t qn = s.batch * s.heads * s.seq * s.headDim, kvn = s.batch * s.kvHeads * s.keys * s.headDim;
    expectLength(env, "dout", ldo, qn);
    expectLength(env, "q", lq, qn);
    expectLength(env, "k", lk, kvn);
    expectLength(env, "v", lv, kvn);
    expectLength(env, "keyMask", lm, s.batch * s.keys);
    expectLength(env, "probs", lp, s.batch * s.heads * s.seq * s.keys);
    expectLength(env, "dq", ldq, qn);
    expectLength(env, "dk", ldk, kvn);
    expectLength(env, "dv", ldv, kvn);
    attentionBackwardCpu(dout, q, k, v, mask, probs, dq, dk, dv, s);
    return env.Undefined();
  });
}

// --- KV-cached decoding -------------------------------------------------------------------------

// An argument's name for a message: a string, or a function that spells it, called only when a
// message is needed (decodeStep checks 18 weights per layer on every token).
inline std::string label(const char* name) { return name; }
template <typename Spell>
std::string label(const Spell& spell) {
  return spell();
}

// A typed array of `type` with exactly `want` elements (or null when `optional`), by name.
template <typename T, typename Name>
T* sizedArray(Napi::Env env, const Napi::Value& v, napi_typedarray_type type, const char* typeName, const Name& name, int64_t want,
              bool optional = false) {
  if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(env, std::string("Expected a ") + typeName + (optional ? " or null" : "") + " for " + label(name) + " but received another type");
  }
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  if (static_cast<int64_t>(t.ElementLength()) != want) {
    throw Napi::RangeError::New(env, "Expected " + std::to_string(want) + " elements for " + label(name) + " but received " + std::to_string(t.ElementLength()));
  }
  return reinterpret_cast<T*>(static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset());
}

int64_t specInt(Napi::Env env, const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!v.IsNumber() || x < 0 || x != std::floor(x) || x > 2147483647.0) {
    throw Napi::RangeError::New(env, std::string("Expected an integer >= 0 for spec.") + key + " but received " + (v.IsNumber() ? jsNumber(x) : "another type"));
  }
  return static_cast<int64_t>(x);
}

// decodeStep(spec, weights, kCache, vCache, ids, positions, keyMask, start, count, logits): the
// decoding step of rapo.h's decodeCpu. `weights` is [embed, finalNorm, head] followed by 18
// entries per layer (inputNorm, q, qBias, k, kBias, v, vBias, o, oBias, qNorm, kNorm,
// postNorm, gate, gateBias, up, upBias, down, downBias; biases and q/k norms may be null).
Napi::Value DecodeStep(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (info.Length() < 10 || !info[0].IsObject() || !info[1].IsArray()) {
      throw Napi::TypeError::New(env, "Expected (spec, weights, kCache, vCache, ids, positions, keyMask, start, count, logits) but received other arguments");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    DecoderSpec s;
    s.layers = specInt(env, o, "layers");
    s.hidden = specInt(env, o, "hidden");
    s.heads = specInt(env, o, "heads");
    s.kvHeads = specInt(env, o, "kvHeads");
    s.headDim = specInt(env, o, "headDim");
    s.intermediate = specInt(env, o, "intermediate");
    s.vocab = specInt(env, o, "vocab");
    s.batch = specInt(env, o, "batch");
    s.capacity = specInt(env, o, "capacity");
    const Napi::Value eps = o.Get("eps");
    if (!eps.IsNumber()) throw Napi::TypeError::New(env, "Expected a number for spec.eps but received another type");
    s.eps = eps.As<Napi::Number>().FloatValue();
    s.invFreq = sizedArray<float>(env, o.Get("invFreq"), napi_float32_array, "Float32Array", "spec.invFreq", s.headDim / 2);
    const int64_t H = s.hidden, hd = s.headDim, q = s.heads * hd, kv = s.kvHeads * hd, I = s.intermediate, V = s.vocab;
    Napi::Array wa = info[1].As<Napi::Array>();
    const int64_t want = 3 + 18 * s.layers;
    if (static_cast<int64_t>(wa.Length()) != want) {
      throw Napi::RangeError::New(env, "Expected " + std::to_string(want) + " entries for weights (3 + 18 per layer) but received " + std::to_string(wa.Length()));
    }
    auto f32 = [&](uint32_t i, const auto& name, int64_t n, bool optional = false) -> const float* {
      return sizedArray<float>(env, wa.Get(i), napi_float32_array, "Float32Array", name, n, optional);
    };
    DecoderWeights w;
    w.embed = f32(0, "weights[0] (embed)", V * H);
    w.finalNorm = f32(1, "weights[1] (finalNorm)", H);
    w.head = f32(2, "weights[2] (head)", V * H);
    struct Entry {
      const char* name;
      int64_t size;
      bool optional;
      const float* DecoderLayerWeights::*field;
    };
    const Entry entries[18] = {
        {"inputNorm", H, false, &DecoderLayerWeights::inputNorm}, {"q", q * H, false, &DecoderLayerWeights::q},
        {"qBias", q, true, &DecoderLayerWeights::qBias},          {"k", kv * H, false, &DecoderLayerWeights::k},
        {"kBias", kv, true, &DecoderLayerWeights::kBias},         {"v", kv * H, false, &DecoderLayerWeights::v},
        {"vBias", kv, true, &DecoderLayerWeights::vBias},         {"o", H * q, false, &DecoderLayerWeights::o},
        {"oBias", H, true, &DecoderLayerWeights::oBias},          {"qNorm", hd, true, &DecoderLayerWeights::qNorm},
        {"kNorm", hd, true, &DecoderLayerWeights::kNorm},         {"postNorm", H, false, &DecoderLayerWeights::postNorm},
        {"gate", I * H, false, &DecoderLayerWeights::gate},       {"gateBias", I, true, &DecoderLayerWeights::gateBias},
        {"up", I * H, false, &DecoderLayerWeights::up},           {"upBias", I, true, &DecoderLayerWeights::upBias},
        {"down", H * I, false, &DecoderLayerWeights::down},       {"downBias", H, true, &DecoderLayerWeights::downBias},
    };
    w.layer.resize(static_cast<size_t>(s.layers));
    for (int64_t l = 0; l < s.layers; ++l) {
      for (int e = 0; e < 18; ++e) {
        const uint32_t i = static_cast<uint32_t>(3 + 18 * l + e);
        const auto name = [&] { return "weights[" + std::to_string(i) + "] (layer " + std::to_string(l) + " " + entries[e].name + ")"; };
        w.layer[static_cast<size_t>(l)].*(entries[e].field) = f32(i, name, entries[e].size, entries[e].optional);
      }
    }
    DecodeCall c;
    const int64_t start = offsetArg(info, 7, "start"), count = offsetArg(info, 8, "count");
    c.start = start;
    c.count = count;
    const int64_t cache = s.layers * s.batch * s.kvHeads * s.capacity * hd;
    c.kCache = sizedArray<float>(env, info[2], napi_float32_array, "Float32Array", "kCache", cache);
    c.vCache = sizedArray<float>(env, info[3], napi_float32_array, "Float32Array", "vCache", cache);
    c.ids = sizedArray<int32_t>(env, info[4], napi_int32_array, "Int32Array", "ids", s.batch * count);
    c.positions = sizedArray<int32_t>(env, info[5], napi_int32_array, "Int32Array", "positions", s.batch * count);
    c.keyMask = sizedArray<uint8_t>(env, info[6], napi_uint8_array, "Uint8Array", "keyMask", s.batch * s.capacity);
    c.logits = sizedArray<float>(env, info[9], napi_float32_array, "Float32Array", "logits", s.batch * V);
    decodeCpu(s, w, c);
    return env.Undefined();
  });
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfoJs));
  exports.Set("setCpuThreads", Napi::Function::New(env, SetCpuThreads));
  exports.Set("setCpuIsa", Napi::Function::New(env, SetCpuIsa));
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfoJs));
  exports.Set("miForward", Napi::Function::New(env, MiForward));
  exports.Set("miForwardAsync", Napi::Function::New(env, MiForwardAsync));
  exports.Set("logprobBackward", Napi::Function::New(env, LogprobBackward));
  exports.Set("logprobBackwardAsync", Napi::Function::New(env, LogprobBackwardAsync));
  exports.Set("streamRead", Napi::Function::New(env, StreamRead));
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("blasInfo", Napi::Function::New(env, BlasInfoJs));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("softmaxRows", Napi::Function::New(env, SoftmaxRows));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("sumAxis", Napi::Function::New(env, SumAxis));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("decodeStep", Napi::Function::New(env, DecodeStep));
  exports.Set("rmsNormForward", Napi::Function::New(env, RmsNormForward));
  exports.Set("rmsNormBackward", Napi::Function::New(env, RmsNormBackward));
  exports.Set("swigluForward", Napi::Function::New(env, SwigluForward));
  exports.Set("swigluBackward", Napi::Function::New(env, SwigluBackward));
  exports.Set("scatterAddRows", Napi::Function::New(env, ScatterAddRows));
  exports.Set("rotary", Napi::Function::New(env, Rotary));
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("setMatmulImpl", Napi::Function::New(env, SetMatmulImpl));
  exports.Set("timeSgemmDirect", Napi::Function::New(env, TimeSgemmDirect));
  exports.Set("timeMiForwardCuda", Napi::Function::New(env, TimeMiForwardCuda));
  exports.Set("timeLogprobBackwardCuda", Napi::Function::New(env, TimeLogprobBackwardCuda));
  exports.Set("timeDeviceCopyCuda", Napi::Function::New(env, TimeDeviceCopyCuda));
  exports.Set("DeviceBuffer", DeviceBuffer::define(env));
  return exports;
}

}  // namespace rapo::binding

static Napi::Object InitRapo(Napi::Env env, Napi::Object exports) { return rapo::binding::Init(env, exports); }

NODE_API_MODULE(rapo, InitRapo)

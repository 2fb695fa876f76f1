// Node-API surface of the rapo addon: info functions, the two ops (sync and async, CPU and
// CUDA), device buffers and the benchmark helpers. Every entry point converts C++ exceptions
// into JavaScript errors; argument checks live in args.cc.
#include <napi.h>

#include <memory>
#include <utility>

#include "binding/args.h"
#include "binding/device_buffer.h"
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
  exports.Set("timeMiForwardCuda", Napi::Function::New(env, TimeMiForwardCuda));
  exports.Set("timeLogprobBackwardCuda", Napi::Function::New(env, TimeLogprobBackwardCuda));
  exports.Set("timeDeviceCopyCuda", Napi::Function::New(env, TimeDeviceCopyCuda));
  exports.Set("DeviceBuffer", DeviceBuffer::define(env));
  return exports;
}

}  // namespace rapo::binding

static Napi::Object InitRapo(Napi::Env env, Napi::Object exports) { return rapo::binding::Init(env, exports); }

NODE_API_MODULE(rapo, InitRapo)

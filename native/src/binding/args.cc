#include "binding/args.h"

#include <cmath>

#include "binding/device_buffer.h"
#include "common/errors.h"

namespace rapo::binding {

Napi::Error toJsError(Napi::Env env, ErrorKind kind, const std::string& message) {
  switch (kind) {
    case ErrorKind::Type:
      return Napi::TypeError::New(env, message);
    case ErrorKind::Range:
      return Napi::RangeError::New(env, message);
    default:
      return Napi::Error::New(env, message);
  }
}

namespace {

const char* typedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

// What kind of value came, for messages.
std::string kindOf(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) return typedArrayName(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsArray()) return "Array";
  if (v.IsNumber()) return "number " + jsNumber(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "string \"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (DeviceBuffer::is(v.Env(), v)) return "DeviceBuffer";
  if (v.IsFunction()) return "function";
  return "object";
}

[[noreturn]] void fail(Napi::Env env, ErrorKind kind, const std::string& expected, const std::string& arg,
                       const std::string& received) {
  throw toJsError(env, kind, "Expected " + expected + " for " + arg + " but received " + received);
}

Napi::Object options(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject() || info[0].IsArray() || info[0].IsTypedArray()) {
    fail(info.Env(), ErrorKind::Type, "an options object", "the first argument",
         info.Length() < 1 ? std::string("nothing") : kindOf(info[0]));
  }
  return info[0].As<Napi::Object>();
}

DType parseDtype(const Napi::Object& o, const char* key, DType fallback, bool optional) {
  const Napi::Value v = o.Get(key);
  if (optional && v.IsUndefined()) return fallback;
  if (v.IsString()) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    if (s == "f32") return DType::F32;
    if (s == "bf16") return DType::BF16;
  }
  fail(o.Env(), ErrorKind::Type, "\"f32\" or \"bf16\"", key, kindOf(v));
}

double parseNumber(const Napi::Object& o, const char* key, double fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) fail(o.Env(), ErrorKind::Type, "a number", key, kindOf(v));
  return v.As<Napi::Number>().DoubleValue();
}

int parseEnum(const Napi::Object& o, const char* key, std::initializer_list<const char*> names, int fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (v.IsString()) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    int i = 0;
    for (const char* n : names) {
      if (s == n) return i;
      ++i;
    }
  }
  std::string expected = "one of";
  int i = 0;
  for (const char* n : names) expected += std::string(i++ ? ", \"" : " \"") + n + "\"";
  fail(o.Env(), ErrorKind::Type, expected, key, kindOf(v));
}

// Parameters the kernels take as float32: range-checked here on the value given (the plain C++
// validation then checks the float32 value, which may underflow to 0).
float parsePositive(const Napi::Object& o, const char* key, double fallback) {
  const double x = parseNumber(o, key, fallback);
  if (!(std::isfinite(x) && x > 0)) fail(o.Env(), ErrorKind::Range, "a finite number > 0", key, jsNumber(x));
  return static_cast<float>(x);
}

float parseUnit(const Napi::Object& o, const char* key) {
  const double x = parseNumber(o, key, 0.0);
  if (!(x >= 0 && x <= 1)) fail(o.Env(), ErrorKind::Range, "a number in [0, 1]", key, jsNumber(x));
  return static_cast<float>(x);
}

bool parseBool(const Napi::Object& o, const char* key, bool fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) fail(o.Env(), ErrorKind::Type, "a boolean", key, kindOf(v));
  return v.As<Napi::Boolean>().Value();
}

// A typed array of the given kind; `lengthDesc` explains the expected length ("N*V (8192)").
template <typename T>
T* typedArray(const Napi::Object& o, const char* key, napi_typedarray_type type, int64_t expectedLength,
              const std::string& lengthDesc, Keepalive* keep) {
  const Napi::Value v = o.Get(key);
  const std::string name = typedArrayName(type);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    fail(o.Env(), ErrorKind::Type, name, key, kindOf(v));
  }
  Napi::TypedArray arr = v.As<Napi::TypedArray>();
  const int64_t len = static_cast<int64_t>(arr.ElementLength());
  if (expectedLength >= 0 && len != expectedLength) {
    fail(o.Env(), ErrorKind::Range, name + " of length " + lengthDesc, key, name + " of length " + std::to_string(len));
  }
  keep->hold(v);
  return reinterpret_cast<T*>(static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset());
}

// Logits (or dlogits) as a typed array of the dtype's kind, or a DeviceBuffer when allowed.
void* logitsArray(const Napi::Object& o, const char* key, DType dtype, int64_t n, int64_t v, bool device,
                  bool* onDevice, Keepalive* keep) {
  const Napi::Value val = o.Get(key);
  const int64_t count = n * v;
  const std::string lengthDesc = "N*V (" + std::to_string(count) + ")";
  if (device && DeviceBuffer::is(o.Env(), val)) {
    DeviceBuffer* buf = DeviceBuffer::unwrapChecked(val);
    const std::size_t need = static_cast<std::size_t>(count) * dtypeSize(dtype);
    if (!buf->data()) fail(o.Env(), ErrorKind::Type, "a live DeviceBuffer", key, "a freed DeviceBuffer");
    if (buf->byteLength() < need) {
      fail(o.Env(), ErrorKind::Range,
           "DeviceBuffer of at least " + std::to_string(need) + " bytes (N*V*" + std::to_string(dtypeSize(dtype)) + ")",
           key, "DeviceBuffer of " + std::to_string(buf->byteLength()) + " bytes");
    }
    keep->hold(val);
    *onDevice = true;
    return buf->data();
  }
  *onDevice = false;
  const napi_typedarray_type type = dtype == DType::F32 ? napi_float32_array : napi_uint16_array;
  const std::string name = typedArrayName(type);
  if (!val.IsTypedArray() || val.As<Napi::TypedArray>().TypedArrayType() != type) {
    fail(o.Env(), ErrorKind::Type,
         name + " (dtype \"" + dtypeName(dtype) + "\")" + (device ? " or DeviceBuffer" : ""), key, kindOf(val));
  }
  return typedArray<void>(o, key, type, count, lengthDesc, keep);
}

int64_t parseVocabSize(const Napi::Object& o) {
  const Napi::Value v = o.Get("vocabSize");
  if (!v.IsNumber()) fail(o.Env(), ErrorKind::Type, "a number", "vocabSize", kindOf(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d == std::floor(d) && d <= 2147483647.0)) {
    fail(o.Env(), ErrorKind::Range, "an integer >= 1", "vocabSize", jsNumber(d));
  }
  return static_cast<int64_t>(d);
}

int64_t parseTokens(const Napi::Object& o, const int32_t** tokens, Keepalive* keep) {
  *tokens = typedArray<const int32_t>(o, "tokens", napi_int32_array, -1, "", keep);
  const int64_t n = static_cast<int64_t>(o.Get("tokens").As<Napi::TypedArray>().ElementLength());
  if (n < 1) fail(o.Env(), ErrorKind::Range, "at least one response token", "tokens", "an empty array");
  return n;
}

// What both ops start with: the options object, dtype, tokens (N) and vocabSize (V).
struct Start {
  Napi::Object o;
  DType dtype;
  const int32_t* tokens;
  int64_t n, v;
};

Start parseStart(const Napi::CallbackInfo& info, Keepalive* keep) {
  Start st{options(info), DType::F32, nullptr, 0, 0};
  st.dtype = parseDtype(st.o, "dtype", DType::F32, false);
  st.n = parseTokens(st.o, &st.tokens, keep);
  st.v = parseVocabSize(st.o);
  return st;
}

// Every op's input starts with the same four fields, read once by parseStart.
template <typename Input>
void fillStart(Input& in, const Start& st) {
  in.dtype = st.dtype;
  in.tokens = st.tokens;
  in.n = st.n;
  in.v = st.v;
}

Napi::Float32Array newOutput(Napi::Env env, Napi::Object& result, const char* name, int64_t n, float** ptr) {
  Napi::Float32Array a = Napi::Float32Array::New(env, static_cast<std::size_t>(n));
  result.Set(name, a);
  *ptr = a.Data();
  return a;
}

}  // namespace

bool parseBackendIsCuda(const Napi::Value& v) {
  if (v.IsString()) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    if (s == "cpu") return false;
    if (s == "cuda") return true;
  }
  fail(v.Env(), ErrorKind::Type, "\"cpu\" or \"cuda\"", "backend", kindOf(v));
}

MiCall parseMiForward(const Napi::CallbackInfo& info, bool device, Keepalive* keep) {
  Napi::Env env = info.Env();
  const Start st = parseStart(info, keep);
  const Napi::Object& o = st.o;
  const int64_t n = st.n, v = st.v;
  MiCall call;
  MiForwardInput& in = call.in;
  fillStart(in, st);
  bool onDeviceA = false, onDeviceB = false;
  in.logitsWith = logitsArray(o, "logitsWith", in.dtype, n, v, device, &onDeviceA, keep);
  in.logitsWithout = logitsArray(o, "logitsWithout", in.dtype, n, v, device, &onDeviceB, keep);
  if (onDeviceA != onDeviceB) {
    fail(env, ErrorKind::Type, std::string(onDeviceA ? "a DeviceBuffer" : "a typed array") + " like logitsWith",
         "logitsWithout", onDeviceB ? "a DeviceBuffer" : "a typed array");
  }
  call.place.logitsOnDevice = onDeviceA;
  const std::string nDesc = "N (" + std::to_string(n) + ")";
  if (!o.Get("mask").IsUndefined() && !o.Get("mask").IsNull()) {
    in.mask = typedArray<const uint8_t>(o, "mask", napi_uint8_array, n, nDesc, keep);
  }
  in.seqOffsets = typedArray<const int32_t>(o, "seqOffsets", napi_int32_array, -1, "", keep);
  const int64_t offLen = static_cast<int64_t>(o.Get("seqOffsets").As<Napi::TypedArray>().ElementLength());
  if (offLen < 2) {
    fail(env, ErrorKind::Range, "at least one sequence (length >= 2)", "seqOffsets", "length " + std::to_string(offLen));
  }
  in.numSeqs = offLen - 1;
  in.advantagePerToken = parseBool(o, "advantagesPerToken", false);
  const int64_t advLen = in.advantagePerToken ? n : in.numSeqs;
  in.advantages = typedArray<const float>(
      o, "advantages", napi_float32_array, advLen,
      in.advantagePerToken ? nDesc : "S (" + std::to_string(in.numSeqs) + ", one per sequence)", keep);
  RapoParams& p = in.params;
  p.temperature = parsePositive(o, "temperature", 1.0);
  p.norm = static_cast<Norm>(parseEnum(o, "norm", {"robust", "clip", "tanh", "none"}, 0));
  p.scope = static_cast<Scope>(parseEnum(o, "scope", {"batch", "sequence"}, 0));
  p.scale = parsePositive(o, "scale", 1.0);
  p.lamPos = parseUnit(o, "lamPos");
  p.lamNeg = parseUnit(o, "lamNeg");
  p.renorm = static_cast<Renorm>(parseEnum(o, "renorm", {"none", "sequence", "batch"}, 0));
  p.variant = static_cast<Variant>(parseEnum(o, "variant", {"paper", "symmetric", "bounded"}, 0));
  if (!o.Get("groupSize").IsUndefined()) {
    const double g = parseNumber(o, "groupSize", 0.0);
    if (!(g >= 1 && g == std::floor(g) && g <= 2147483647.0)) fail(env, ErrorKind::Range, "an integer >= 1", "groupSize", jsNumber(g));
    p.groupSize = static_cast<int64_t>(g);
  }
  const double cap = parseNumber(o, "cap", 0.25);
  if (!(std::isfinite(cap) && cap >= 0)) fail(env, ErrorKind::Range, "a finite number >= 0", "cap", jsNumber(cap));
  p.cap = static_cast<float>(cap);
  if (!o.Get("neutral").IsUndefined() && !o.Get("neutral").IsNull()) {
    in.neutral = typedArray<const uint8_t>(o, "neutral", napi_uint8_array, n, nDesc, keep);
  }
  if (!o.Get("scores").IsUndefined() && !o.Get("scores").IsNull()) {
    in.scores = typedArray<const float>(o, "scores", napi_float32_array, n, nDesc, keep);
  }
  call.result = Napi::Object::New(env);
  MiForwardOutput& out = call.out;
  newOutput(env, call.result, "logpWith", n, &out.logpWith);
  newOutput(env, call.result, "logpWithout", n, &out.logpWithout);
  newOutput(env, call.result, "lseWith", n, &out.lseWith);
  newOutput(env, call.result, "mi", n, &out.mi);
  newOutput(env, call.result, "score", n, &out.score);
  newOutput(env, call.result, "weight", n, &out.weight);
  newOutput(env, call.result, "weightedAdvantage", n, &out.weightedAdvantage);
  newOutput(env, call.result, "entropyWith", n, &out.entropyWith);
  keep->hold(call.result);
  return call;
}

BackwardCall parseLogprobBackward(const Napi::CallbackInfo& info, bool device, Keepalive* keep) {
  Napi::Env env = info.Env();
  const Start st = parseStart(info, keep);
  const Napi::Object& o = st.o;
  const int64_t n = st.n, v = st.v;
  BackwardCall call;
  LogprobBackwardInput& in = call.in;
  fillStart(in, st);
  in.logits = logitsArray(o, "logits", in.dtype, n, v, device, &call.place.logitsOnDevice, keep);
  const std::string nDesc = "N (" + std::to_string(n) + ")";
  in.lse = typedArray<const float>(o, "lse", napi_float32_array, n, nDesc, keep);
  in.coef = typedArray<const float>(o, "coef", napi_float32_array, n, nDesc, keep);
  in.temperature = parsePositive(o, "temperature", 1.0);
  in.outDtype = parseDtype(o, "outDtype", in.dtype, true);
  const Napi::Value outVal = o.Get("out");
  if (outVal.IsUndefined() || outVal.IsNull()) {
    const std::size_t count = static_cast<std::size_t>(n * v);
    if (in.outDtype == DType::F32) {
      Napi::Float32Array a = Napi::Float32Array::New(env, count);
      in.dlogits = a.Data();
      call.result = a;
    } else {
      Napi::Uint16Array a = Napi::Uint16Array::New(env, count);
      in.dlogits = a.Data();
      call.result = a;
    }
  } else {
    in.dlogits = logitsArray(o, "out", in.outDtype, n, v, device, &call.place.outOnDevice, keep);
    call.result = outVal;
  }
  keep->hold(call.result);
  return call;
}

}  // namespace rapo::binding

#include "binding/device_buffer.h"

#include "binding/args.h"
#include "rapo/rapo.h"

namespace rapo::binding {

namespace {
// Per-environment constructor, for instanceof checks.
struct AddonData {
  Napi::FunctionReference deviceBuffer;
};
}  // namespace

Napi::Function DeviceBuffer::define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "DeviceBuffer",
                                    {InstanceMethod("upload", &DeviceBuffer::upload),
                                     InstanceMethod("download", &DeviceBuffer::download),
                                     InstanceMethod("free", &DeviceBuffer::free),
                                     InstanceAccessor("byteLength", &DeviceBuffer::getByteLength, nullptr)});
  auto* data = new AddonData();
  data->deviceBuffer = Napi::Persistent(ctor);
  env.SetInstanceData<AddonData>(data);
  return ctor;
}

bool DeviceBuffer::is(Napi::Env env, const Napi::Value& v) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!data || !v.IsObject()) return false;
  return v.As<Napi::Object>().InstanceOf(data->deviceBuffer.Value());
}

DeviceBuffer* DeviceBuffer::unwrapChecked(const Napi::Value& v) { return Unwrap(v.As<Napi::Object>()); }

DeviceBuffer::DeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBuffer>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "Expected a byte length (number) for DeviceBuffer but received " +
                                        std::string(info.Length() < 1 ? "nothing" : "another type"));
  }
  const double bytes = info[0].As<Napi::Number>().DoubleValue();
  if (!(bytes >= 1 && bytes == static_cast<double>(static_cast<std::size_t>(bytes)))) {
    throw Napi::RangeError::New(env, "Expected an integer >= 1 for byteLength but received " + std::to_string(bytes));
  }
  try {
    ptr_ = cudaAlloc(static_cast<std::size_t>(bytes));
    bytes_ = static_cast<std::size_t>(bytes);
  } catch (const Error& e) {
    throw toJsError(env, e.kind(), e.what());
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) {
    try {
      cudaFreeBuffer(ptr_);
    } catch (...) {
      // Nothing sensible to do in a finalizer; the process is likely exiting.
    }
  }
}

namespace {
// The host array of DeviceBuffer.<method>: a typed array, a buffer that is still allocated, and
// no more bytes than the buffer holds.
Napi::TypedArray transferArray(const Napi::CallbackInfo& info, const char* method, const void* ptr, std::size_t bytes) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    throw Napi::TypeError::New(env, std::string("Expected a typed array for DeviceBuffer.") + method + " but received another type");
  }
  Napi::TypedArray a = info[0].As<Napi::TypedArray>();
  if (!ptr) throw Napi::Error::New(env, std::string("Expected a live DeviceBuffer for ") + method + " but received a freed DeviceBuffer");
  if (a.ByteLength() > bytes) {
    throw Napi::RangeError::New(env, "Expected at most " + std::to_string(bytes) + " bytes for DeviceBuffer." + method + " but received " +
                                         std::to_string(a.ByteLength()));
  }
  return a;
}

uint8_t* hostBytes(const Napi::TypedArray& a) { return static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset(); }
}  // namespace

Napi::Value DeviceBuffer::upload(const Napi::CallbackInfo& info) {
  Napi::TypedArray a = transferArray(info, "upload", ptr_, bytes_);
  try {
    cudaUpload(ptr_, hostBytes(a), a.ByteLength());
  } catch (const Error& e) {
    throw toJsError(info.Env(), e.kind(), e.what());
  }
  return info.This();
}

Napi::Value DeviceBuffer::download(const Napi::CallbackInfo& info) {
  Napi::TypedArray a = transferArray(info, "download", ptr_, bytes_);
  try {
    cudaDownload(hostBytes(a), ptr_, a.ByteLength());
  } catch (const Error& e) {
    throw toJsError(info.Env(), e.kind(), e.what());
  }
  return a;
}

Napi::Value DeviceBuffer::free(const Napi::CallbackInfo& info) {
  if (ptr_) {
    try {
      cudaFreeBuffer(ptr_);
    } catch (const Error& e) {
      ptr_ = nullptr;
      throw toJsError(info.Env(), e.kind(), e.what());
    }
    ptr_ = nullptr;
  }
  return info.Env().Undefined();
}

Napi::Value DeviceBuffer::getByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ptr_ ? bytes_ : 0));
}

}  // namespace rapo::binding

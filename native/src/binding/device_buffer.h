// DeviceBuffer: GPU memory owned from JavaScript, for "upload once, run many, read back".
#pragma once

#include <napi.h>

#include <cstddef>

namespace rapo::binding {

class DeviceBuffer : public Napi::ObjectWrap<DeviceBuffer> {
 public:
  static Napi::Function define(Napi::Env env);
  static bool is(Napi::Env env, const Napi::Value& v);
  static DeviceBuffer* unwrapChecked(const Napi::Value& v);

  explicit DeviceBuffer(const Napi::CallbackInfo& info);
  ~DeviceBuffer() override;

  void* data() const { return ptr_; }
  std::size_t byteLength() const { return bytes_; }

 private:
  Napi::Value upload(const Napi::CallbackInfo& info);
  Napi::Value download(const Napi::CallbackInfo& info);
  Napi::Value free(const Napi::CallbackInfo& info);
  Napi::Value getByteLength(const Napi::CallbackInfo& info);

  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace rapo::binding

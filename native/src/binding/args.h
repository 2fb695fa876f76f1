// Argument parsing for the Node-API surface: every check happens here, once, with one message
// shape ("Expected <what> for <argument> but received <what came>"), and produces the plain
// structs of rapo/rapo.h. The TypeScript wrapper in libs/kernels checks the same things with
// the same messages first; these checks keep direct calls to the raw addon from crashing.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "rapo/rapo.h"

namespace rapo::binding {

// JavaScript error thrown from a C++ check (kind picks TypeError or RangeError).
Napi::Error toJsError(Napi::Env env, ErrorKind kind, const std::string& message);

// Where the logits live for this call.
struct Placement {
  bool logitsOnDevice = false;
  bool outOnDevice = false;
};

// Keeps the JS objects a call reads or writes alive (async workers run after the call returns).
struct Keepalive {
  std::vector<Napi::ObjectReference> refs;
  void hold(const Napi::Value& v) {
    if (v.IsObject()) refs.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
};

struct MiCall {
  MiForwardInput in;
  MiForwardOutput out;
  Placement place;
  Napi::Object result;  // the output arrays, by name
};

struct BackwardCall {
  LogprobBackwardInput in;
  Placement place;
  Napi::Value result;  // dlogits (typed array or the DeviceBuffer given as out)
};

// Throws Napi::Error (TypeError/RangeError) on bad input. `device` says whether DeviceBuffers
// are accepted for logits (the CUDA backend).
MiCall parseMiForward(const Napi::CallbackInfo& info, bool device, Keepalive* keep);
BackwardCall parseLogprobBackward(const Napi::CallbackInfo& info, bool device, Keepalive* keep);

// "cpu" or "cuda" from the second argument.
bool parseBackendIsCuda(const Napi::Value& v);

}  // namespace rapo::binding

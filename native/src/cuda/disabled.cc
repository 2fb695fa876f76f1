// The CUDA entry points of a build without CUDA (RAPO_CUDA=OFF, or no toolkit found): they
// report that the addon was built without it, and how to build it with it.
#include "rapo/rapo.h"

namespace rapo {

namespace {
[[noreturn]] void notBuilt() {
  throw Error(ErrorKind::Runtime,
              "CUDA backend unavailable: this addon was built without CUDA (RAPO_CUDA=OFF or no nvcc found); "
              "install the CUDA toolkit and run `npm run build:native` (or RAPO_CUDA=ON npm run build:native)");
}
}  // namespace

CudaInfo cudaInfo() {
  CudaInfo info;
  info.reason = "built without CUDA (RAPO_CUDA=OFF or no nvcc found at build time)";
  return info;
}

void* cudaAlloc(std::size_t) { notBuilt(); }
void cudaFreeBuffer(void*) { notBuilt(); }
void cudaUpload(void*, const void*, std::size_t) { notBuilt(); }
void cudaDownload(void*, const void*, std::size_t) { notBuilt(); }
void miForwardCuda(const MiForwardInput&, const MiForwardOutput&, bool) { notBuilt(); }
void logprobBackwardCuda(const LogprobBackwardInput&, bool, bool) { notBuilt(); }
double timeMiForwardCuda(const MiForwardInput&, int) { notBuilt(); }
double timeLogprobBackwardCuda(const LogprobBackwardInput&, int) { notBuilt(); }
double timeDeviceCopyCuda(std::size_t, int) { notBuilt(); }

}  // namespace rapo

// Device discovery, device buffers, scratch and the copy-bandwidth ceiling. cudart is linked
// statically, so this loads on machines without a driver and reports why there is no device.
#include <cstring>
#include <string>

#include "common/errors.h"
#include "cuda/common.cuh"

namespace rapo {
namespace cuda {

void throwCudaError(cudaError_t err, const char* expr, const char* file, int line) {
  cudaGetLastError();  // clear it so the next call starts clean (sticky errors stay sticky)
  const char* base = std::strrchr(file, '/');
  throw Error(ErrorKind::Runtime, std::string("CUDA error ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
                                      ") in " + expr + " at " + (base ? base + 1 : file) + ":" + std::to_string(line));
}

std::mutex& cudaMutex() {
  static std::mutex m;
  return m;
}

namespace {

struct State {
  bool probed = false;
  CudaInfo info;
  cudaStream_t stream = nullptr;
  void* slots[kSlotCount] = {};
  std::size_t sizes[kSlotCount] = {};
};

State& state() {
  static State s;
  return s;
}

void probe() {
  State& st = state();
  if (st.probed) return;
  st.probed = true;
  CudaInfo& info = st.info;
  info.compiled = true;
  cudaRuntimeGetVersion(&info.runtimeVersion);
  cudaDriverGetVersion(&info.driverVersion);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    cudaGetLastError();
    info.reason = err != cudaSuccess ? std::string("no device: ") + cudaGetErrorString(err)
                                     : std::string("no device: no CUDA-capable GPU was found");
    return;
  }
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess || cudaSetDevice(0) != cudaSuccess) {
    cudaGetLastError();
    info.reason = "no device: device 0 could not be opened";
    return;
  }
  info.available = true;
  info.deviceName = prop.name;
  info.computeCapability = prop.major * 10 + prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  info.totalMemory = prop.totalGlobalMem;
}

}  // namespace

void requireDevice() {
  probe();
  if (!state().info.available) throw Error(ErrorKind::Runtime, "CUDA backend unavailable: " + state().info.reason);
}

cudaStream_t stream() {
  State& st = state();
  if (!st.stream) RAPO_CUDA_CHECK(cudaStreamCreateWithFlags(&st.stream, cudaStreamNonBlocking));
  return st.stream;
}

void* scratch(Slot slot, std::size_t bytes) {
  State& st = state();
  if (bytes == 0) bytes = 1;
  if (st.sizes[slot] < bytes) {
    if (st.slots[slot]) RAPO_CUDA_CHECK(cudaFree(st.slots[slot]));
    st.slots[slot] = nullptr;
    st.sizes[slot] = 0;
    RAPO_CUDA_CHECK(cudaMalloc(&st.slots[slot], bytes));
    st.sizes[slot] = bytes;
  }
  return st.slots[slot];
}

}  // namespace cuda

CudaInfo cudaInfo() {
  std::lock_guard<std::mutex> lock(cuda::cudaMutex());
  cuda::probe();
  return cuda::state().info;
}

void* cudaAlloc(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(cuda::cudaMutex());
  cuda::requireDevice();
  void* p = nullptr;
  RAPO_CUDA_CHECK(cudaMalloc(&p, bytes == 0 ? 1 : bytes));
  return p;
}

void cudaFreeBuffer(void* ptr) {
  std::lock_guard<std::mutex> lock(cuda::cudaMutex());
  if (ptr) RAPO_CUDA_CHECK(cudaFree(ptr));
}

void cudaUpload(void* dst, const void* src, std::size_t bytes) {
  std::lock_guard<std::mutex> lock(cuda::cudaMutex());
  cuda::requireDevice();
  RAPO_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void cudaDownload(void* dst, const void* src, std::size_t bytes) {
  std::lock_guard<std::mutex> lock(cuda::cudaMutex());
  cuda::requireDevice();
  RAPO_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

double timeDeviceCopyCuda(std::size_t bytes, int iterations) {
  std::lock_guard<std::mutex> lock(cuda::cudaMutex());
  cuda::requireDevice();
  if (iterations < 1) throwExpected(ErrorKind::Range, "an integer >= 1", "iterations", std::to_string(iterations));
  void* a = nullptr;
  void* b = nullptr;
  RAPO_CUDA_CHECK(cudaMalloc(&a, bytes));
  cudaError_t err = cudaMalloc(&b, bytes);
  if (err != cudaSuccess) {
    cudaFree(a);
    RAPO_CUDA_CHECK(err);
  }
  cudaEvent_t start, stop;
  float ms = 0;
  try {
    cudaStream_t s = cuda::stream();
    RAPO_CUDA_CHECK(cudaMemsetAsync(a, 0, bytes, s));
    RAPO_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));  // warm-up
    RAPO_CUDA_CHECK(cudaEventCreate(&start));
    RAPO_CUDA_CHECK(cudaEventCreate(&stop));
    RAPO_CUDA_CHECK(cudaEventRecord(start, s));
    for (int i = 0; i < iterations; ++i) RAPO_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
    RAPO_CUDA_CHECK(cudaEventRecord(stop, s));
    RAPO_CUDA_CHECK(cudaEventSynchronize(stop));
    RAPO_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  } catch (...) {
    cudaFree(a);
    cudaFree(b);
    throw;
  }
  cudaFree(a);
  cudaFree(b);
  return ms / 1000.0 / iterations;
}

}  // namespace rapo

// The BLAS as the CPU kernels call it: from inside the pool's tasks, so single-threaded
// (gemm.cc).
#pragma once

#include <cstdint>

namespace rapo::cpu {

// Whether the kernels should call the BLAS now (built with one, and setMatmulImpl has not chosen
// "blocked"). Before the first call it sets OpenBLAS to one thread, so its own threads never
// compete with the pool's.
bool blasForTasks();

// C = alpha * op(A) op(B) + beta * C, row-major with leading dimensions lda, ldb, ldc, on the
// calling thread: one cblas_sgemm when blasForTasks(), else a plain loop (the portable build and
// setMatmulImpl('blocked'); tests run both). For kernels that already run inside pool tasks.
void gemmOnThread(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace rapo::cpu

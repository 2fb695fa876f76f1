// The BLAS as the CPU kernels call it: from inside the pool's tasks, so single-threaded
// (gemm.cc).
#pragma once

namespace rapo::cpu {

// Whether the kernels should call the BLAS now (built with one, and setMatmulImpl has not chosen
// "blocked"). Before the first call it sets OpenBLAS to one thread, so its own threads never
// compete with the pool's.
bool blasForTasks();

}  // namespace rapo::cpu

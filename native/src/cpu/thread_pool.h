// A small persistent thread pool for row-parallel kernels. One parallel loop runs at a time
// (callers from several threads, e.g. async workers, are serialized); rows are handed out in
// small blocks from an atomic counter, so masked rows (which cost nothing) do not unbalance it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rapo::cpu {

class ThreadPool {
 public:
  // body(begin, end, worker) over [0, count) in blocks of `grain`; worker in [0, threads()).
  using Body = std::function<void(int64_t, int64_t, int)>;

  static ThreadPool& instance();
  int threads() const { return threads_; }
  void setThreads(int threads);  // 0: hardware concurrency
  void parallelFor(int64_t count, int64_t grain, const Body& body);

  ~ThreadPool();

 private:
  ThreadPool();
  void start(int threads);
  void stop();
  void workerLoop(int worker);
  void runShare(int worker);

  std::mutex callMutex_;  // one parallelFor at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  int threads_ = 1;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool quit_ = false;
  // Current job.
  const Body* body_ = nullptr;
  int64_t count_ = 0, grain_ = 1;
  std::atomic<int64_t> next_{0};
  std::exception_ptr error_;
};

}  // namespace rapo::cpu

#include "cpu/thread_pool.h"

#include <algorithm>

namespace rapo::cpu {

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() { start(0); }

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start(int threads) {
  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  threads_ = threads > 0 ? threads : hw;
  quit_ = false;
  // The calling thread is worker 0; the pool holds the others.
  for (int w = 1; w < threads_; ++w) workers_.emplace_back([this, w] { workerLoop(w); });
}

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::setThreads(int threads) {
  std::lock_guard<std::mutex> call(callMutex_);
  stop();
  start(threads);
}

void ThreadPool::runShare(int worker) {
  try {
    for (;;) {
      const int64_t begin = next_.fetch_add(grain_);
      if (begin >= count_) break;
      (*body_)(begin, std::min(count_, begin + grain_), worker);
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
    next_.store(count_);
  }
}

void ThreadPool::workerLoop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return quit_ || generation_ != seen; });
      if (quit_) return;
      seen = generation_;
    }
    runShare(worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::parallelFor(int64_t count, int64_t grain, const Body& body) {
  if (count <= 0) return;
  std::lock_guard<std::mutex> call(callMutex_);
  grain = std::max<int64_t>(1, grain);
  if (threads_ == 1 || count <= grain) {
    body(0, count, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    count_ = count;
    grain_ = grain;
    next_.store(0);
    error_ = nullptr;
    pending_ = threads_ - 1;
    ++generation_;
  }
  wake_.notify_all();
  runShare(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    error = error_;
    body_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace rapo::cpu

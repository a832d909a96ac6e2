// rmsmp/kernel/cpu/thread_pool.hpp — how many threads one CPU gemm call may use
// (cpu::Threads), and the small persistent pool behind it (cpu::detail::ThreadPool).
//
//   CpuBackend<> cpu(cpu::Threads{4});            up to 4 threads per call (the caller + 3 workers)
//   CpuBackend<> cpu(cpu::Threads::hardware());   one per hardware thread
//   CpuBackend<> cpu;                             1 thread: no pool, nothing is ever started
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rmsmp/error.hpp"

namespace rmsmp::cpu {

/// The threads one gemm call may use, the calling thread included. The default is 1, so a host
/// that runs many calls in parallel is never oversubscribed unless it asks for threads.
struct Threads {
  int count = 1;
  /// A call uses at most one thread per this many multiply-adds (M * padded K * N), so small
  /// calls stay on the calling thread: about where a second thread breaks even on AVX2
  /// (measured in docs/cpu-kernels.md, "Threads"); 0 removes the limit (every tile may go to
  /// its own thread).
  std::size_t min_work_per_thread = std::size_t{1} << 20;

  /// One thread per hardware thread (std::thread::hardware_concurrency(), 1 if unknown).
  static Threads hardware() {
    const unsigned n = std::thread::hardware_concurrency();
    return Threads{n == 0 ? 1 : static_cast<int>(n)};
  }
};

namespace detail {

/// True on the threads of every rmsmp ThreadPool, and on a caller while it runs its own share
/// of a pool job: a gemm started there runs on that thread alone.
inline bool& inside_pool_job() {
  thread_local bool inside = false;
  return inside;
}

/// size() - 1 worker threads, started once and kept until destruction. run(parts, task) runs
/// task(0) on the calling thread and task(1 .. parts-1) on workers, and returns when all are
/// done. One job at a time: a caller that finds the pool busy, or that is itself inside a pool
/// job, gets `false` and nothing runs (it is expected to do the work itself).
class ThreadPool {
 public:
  explicit ThreadPool(int size) {
    rmsmp::require(size >= 1, "cpu backend: the thread count must be at least 1, not " + std::to_string(size));
    workers_.reserve(static_cast<std::size_t>(size - 1));
    try {
      for (int i = 1; i < size; ++i) workers_.emplace_back([this, i] { work(i); });
    } catch (...) {  // std::system_error: stop the workers already started, then rethrow
      stop();
      throw;
    }
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /// Runs task(i) for i in [0, parts) (parts <= size()), or returns false without running
  /// anything. The first exception thrown by any part is rethrown here after all parts end.
  template <class Task>
  bool try_run(int parts, const Task& task) {
    if (parts < 1 || parts > size() || inside_pool_job()) return false;
    const std::unique_lock busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      const std::lock_guard lock(mutex_);
      job_ = Job{[](const void* t, int i) { (*static_cast<const Task*>(t))(i); }, &task, parts};
      pending_ = parts - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    std::exception_ptr error = run_part(job_, 0);  // job_ is only written under busy_, which we hold
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    if (!error) error = error_;
    lock.unlock();
    if (error) std::rethrow_exception(error);
    return true;
  }

 private:
  struct Job {
    void (*call)(const void* task, int part) = nullptr;
    const void* task = nullptr;
    int parts = 0;
  };

  void stop() {
    {
      const std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  static std::exception_ptr run_part(const Job& job, int part) {
    bool& inside = inside_pool_job();
    const bool was_inside = inside;
    inside = true;
    std::exception_ptr error;
    try {
      job.call(job.task, part);
    } catch (...) {
      error = std::current_exception();
    }
    inside = was_inside;
    return error;
  }

  void work(int index) {
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= job_.parts) continue;  // not needed for this job
      const Job job = job_;
      lock.unlock();
      const std::exception_ptr error = run_part(job, index);
      lock.lock();
      if (error && !error_) error_ = error;
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex busy_;   // held by the one caller whose job is running
  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_, done_;
  Job job_;
  int pending_ = 0;  // worker parts of the current job not finished yet
  std::uint64_t generation_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
  std::vector<std::thread> workers_;  // last: started after every other member exists
};

}  // namespace detail
}  // namespace rmsmp::cpu

#pragma once
// Where background refreshes run. Production uses a small thread pool; tests use the manual
// executor, whose work runs only when the test calls run_all(), so no test depends on timing.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tok {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void submit(std::function<void()> work) = 0;
};

class ManualExecutor final : public Executor {
 public:
  void submit(std::function<void()> work) override;
  // Runs everything queued, including work queued by the work itself. Returns how many ran.
  std::size_t run_all();
  std::size_t pending() const;

 private:
  mutable std::mutex mutex_;
  std::deque<std::function<void()>> queue_;
};

class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(std::size_t threads = 2);
  ~ThreadPool() override;  // finishes queued work, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  void submit(std::function<void()> work) override;

 private:
  void worker();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tok

// The real world (core/world.hpp): the one file that reads the system's clocks, sleeps, seeds a
// random engine from the system's entropy and reads the process environment. tests/integration/
// test_world.py fails when any other source does.
#include "core/world.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <random>
#include <thread>

extern char** environ;

namespace tok {

namespace {

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// Seeded once from the system's entropy, on the first draw; safe to share between threads (tok
// serve).
class SystemRandom final : public RandomSource {
 public:
  double uniform() override {
    std::lock_guard lock(mutex_);
    if (!seeded_) {
      engine_.seed(std::random_device{}());
      seeded_ = true;
    }
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
  }

 private:
  std::mutex mutex_;
  bool seeded_ = false;
  std::mt19937_64 engine_;
};

class RealWorld final : public World {
 public:
  const Clock& clock() const override { return clock_; }
  Deadline steady_now() const override { return std::chrono::steady_clock::now(); }
  void sleep(std::chrono::milliseconds wait) const override { std::this_thread::sleep_for(wait); }
  bool sleep_unless_readable(std::chrono::milliseconds wait, int fd) const override {
    const auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      struct pollfd p {};
      p.fd = fd;
      p.events = POLLIN;
      const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) {  // not a descriptor one can wait on: a plain sleep
        std::this_thread::sleep_until(until);
        return false;
      }
    }
  }
  RandomSource& random() const override {
    static SystemRandom random;  // constructed on the first draw only
    return random;
  }
  const char* env(const char* name) const override { return std::getenv(name); }
  char* const* environment() const override { return environ; }

 private:
  SystemClock clock_;
};

}  // namespace

const World& real_world() {
  // Built on first use and never destroyed: no exit handler for the cache hit to register (its
  // fast path ends in _Exit), and usable from any static's destructor.
  alignas(RealWorld) static unsigned char storage[sizeof(RealWorld)];
  static const World* const world = ::new (static_cast<void*>(storage)) RealWorld();
  return *world;
}

}  // namespace tok

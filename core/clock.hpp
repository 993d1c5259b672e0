#pragma once
// All engine time is UTC: std::chrono::system_clock, whose epoch is the Unix epoch (C++20).
// Nothing inside the engine sees local time; providers convert at their boundary. The real clocks
// are read by the real world only (core/world.hpp).
#include <atomic>
#include <chrono>

namespace tok {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;
// Deadlines for I/O are on the steady clock: a wall-clock jump must not stretch a timeout.
using Deadline = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The test clock: time moves only when the test says so. Atomic so that stress tests may read it
// from many threads while the test thread advances it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{std::chrono::hours(24 * 365 * 56)}) : now_(start) {}
  TimePoint now() const override { return now_.load(); }
  void set(TimePoint t) { now_.store(t); }
  void advance(Duration d) { now_.store(now_.load() + d); }

 private:
  std::atomic<TimePoint> now_;
};

}  // namespace tok

#pragma once
// Where time, sleeping, randomness and the environment come from (docs/design.md, "The world"):
// one object, injected. The real one (core/world.cpp) is the only code that reads a clock,
// sleeps, draws the engine's random numbers or reads the process environment; tests pass a fake
// world (tests/unit/fake_world.hpp) whose time moves only when the test (or a sleep) moves it.
//
// An interface only: the modules (tok-serve.so, tok-keyring.so) call it without linking core.
#include <chrono>

#include "core/clock.hpp"
#include "core/random.hpp"

namespace tok {

class World {
 public:
  virtual ~World() = default;
  // The wall clock (UTC): token expiries, stale points, kept failures.
  virtual const Clock& clock() const = 0;
  TimePoint now() const { return clock().now(); }
  // The steady clock: deadlines and how long something took. A wall-clock jump must not stretch
  // a timeout.
  virtual Deadline steady_now() const = 0;
  // Waits (a retry's backoff, a lock's poll). A fake world moves its clocks instead.
  virtual void sleep(std::chrono::milliseconds wait) const = 0;
  // Waits as sleep() does, but wakes early when descriptor `fd` becomes readable (a self-pipe a
  // signal handler writes to: tok write --keep stopping on SIGTERM). True when it woke so. A
  // world without descriptors (a fake one) only sleeps.
  virtual bool sleep_unless_readable(std::chrono::milliseconds wait, int fd) const {
    (void)fd;
    sleep(wait);
    return false;
  }
  // The engine's random draws (jitter, retry backoff: docs/fleet.md).
  virtual RandomSource& random() const = 0;
  // An environment variable: null when unset. The pointer stays valid while the world lives and
  // the variable is not changed.
  virtual const char* env(const char* name) const = 0;
  // The whole environment, as a child process inherits it (posix_spawn's envp).
  virtual char* const* environment() const = 0;
};

// The process's world: the system clocks, real sleeping, a random engine seeded from the system's
// entropy on its first draw (never on the cache-hit path), the process environment.
const World& real_world();

}  // namespace tok

#pragma once
// The fake world (core/world.hpp) every unit test runs on: a wall clock and a steady clock that
// move only when the test advances them or something sleeps (a sleep returns at once), draws the
// test queues, and an environment of its own: no test reads or changes the process's.
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "core/world.hpp"

namespace tok_test {

// Draws in order, then `otherwise`; counts them.
struct FakeRandom final : tok::RandomSource {
  std::deque<double> queued;
  double otherwise = 1.0;
  int draws = 0;
  double uniform() override {
    std::lock_guard lock(mutex);
    ++draws;
    if (queued.empty()) return otherwise;
    const double d = queued.front();
    queued.pop_front();
    return d;
  }
  std::mutex mutex;
};

class FakeWorld final : public tok::World {
 public:
  // The wall clock; sleeping moves it too.
  mutable tok::FakeClock wall;
  mutable FakeRandom random_source;
  // Every wait, in order.
  mutable std::vector<std::chrono::milliseconds> sleeps;

  FakeWorld() = default;
  explicit FakeWorld(std::map<std::string, std::string, std::less<>> environment) : vars_(std::move(environment)) {}

  // The stress tests' real threads wait on real condition variables (MemoryEntryStore's refresh
  // lock) until deadlines taken from this clock: there it follows the process's steady clock
  // (plus what was slept), so that a long run under a sanitizer never meets a deadline that
  // stood still.
  bool steady_follows_real = false;

  const tok::Clock& clock() const override { return wall; }
  tok::Deadline steady_now() const override {
    if (steady_follows_real) return std::chrono::steady_clock::now() + (steady_.load() - start_);
    return steady_.load();
  }
  void sleep(std::chrono::milliseconds wait) const override {
    {
      std::lock_guard lock(mutex_);
      sleeps.push_back(wait);
    }
    steady_.store(steady_.load() + wait);
    wall.advance(wait);
  }
  tok::RandomSource& random() const override { return random_source; }
  const char* env(const char* name) const override {
    std::lock_guard lock(mutex_);
    const auto it = vars_.find(name);
    return it == vars_.end() ? nullptr : it->second.c_str();
  }
  char* const* environment() const override {
    std::lock_guard lock(mutex_);
    lines_.clear();
    for (const auto& [k, v] : vars_) lines_.push_back(k + "=" + v);
    pointers_.clear();
    for (auto& line : lines_) pointers_.push_back(line.data());
    pointers_.push_back(nullptr);
    return pointers_.data();
  }

  // Sets (or, with nullopt, unsets) a variable of this world.
  void set_env(const std::string& name, std::optional<std::string> value) {
    std::lock_guard lock(mutex_);
    if (value) {
      vars_[name] = *value;
    } else {
      vars_.erase(name);
    }
  }
  // Both clocks move on by `d`.
  void advance(tok::Duration d) {
    wall.advance(d);
    steady_.store(steady_.load() + d);
  }
  std::chrono::milliseconds slept() const {
    std::lock_guard lock(mutex_);
    return std::accumulate(sleeps.begin(), sleeps.end(), std::chrono::milliseconds(0));
  }

 private:
  // Starts where the process's steady clock stood, so that a deadline taken from it means the
  // same to a real timed wait (a condition variable in MemoryEntryStore).
  const tok::Deadline start_ = std::chrono::steady_clock::now();
  mutable std::atomic<tok::Deadline> steady_{start_};
  std::map<std::string, std::string, std::less<>> vars_;
  mutable std::vector<std::string> lines_;
  mutable std::vector<char*> pointers_;
  mutable std::mutex mutex_;
};

// Sets (or, with nullopt, unsets) a variable of a fake world for the guard's life.
class EnvGuard {
 public:
  EnvGuard(FakeWorld& world, std::string name, std::optional<std::string> value)
      : world_(world), name_(std::move(name)) {
    if (const char* old = world_.env(name_.c_str())) old_ = old;
    world_.set_env(name_, std::move(value));
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;
  ~EnvGuard() { world_.set_env(name_, old_); }

 private:
  FakeWorld& world_;
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace tok_test

#pragma once
// The engine's random draws (the jitter of docs/fleet.md): a seam, so that tests
// give exact values and production spreads a fleet of hosts.
#include <mutex>
#include <random>

namespace tok {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // A draw from [0, 1].
  virtual double uniform() = 0;
};

// Seeded once from the system's entropy; safe to share between threads (tok serve).
class SystemRandom final : public RandomSource {
 public:
  SystemRandom() : engine_(std::random_device{}()) {}
  double uniform() override {
    std::lock_guard lock(mutex_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
  }

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

// The process's one SystemRandom.
RandomSource& system_random();

}  // namespace tok

#pragma once
// The engine's random draws (the jitter of docs/fleet.md): a seam, so that tests
// give exact values and production spreads a fleet of hosts. The real source is the real
// world's (core/world.hpp).

namespace tok {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // A draw from [0, 1].
  virtual double uniform() = 0;
};

}  // namespace tok

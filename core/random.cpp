#include "core/random.hpp"

namespace tok {

RandomSource& system_random() {
  static SystemRandom random;
  return random;
}

}  // namespace tok

#pragma once
#include <cstdint>
#include <string>

#include "core/clock.hpp"

namespace tok {

// RFC 3339 in UTC with a Z suffix, whole seconds: "2026-11-28T15:04:05Z".
std::string format_rfc3339(TimePoint t);

std::int64_t to_epoch_ms(TimePoint t);
TimePoint from_epoch_ms(std::int64_t ms);

}  // namespace tok

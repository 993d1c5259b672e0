#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.hpp"

namespace tok {

// RFC 3339 in UTC with a Z suffix, whole seconds: "2026-11-28T15:04:05Z".
std::string format_rfc3339(TimePoint t);

std::int64_t to_epoch_ms(TimePoint t);
TimePoint from_epoch_ms(std::int64_t ms);

// The instants tok accepts from outside (a cache entry, a server, a program): 1970 to 2200. The
// clock counts nanoseconds in 64 bits, so a year much past 2262 cannot even be represented:
// these check the number before converting it, and say nullopt outside the range.
std::optional<TimePoint> instant_from_epoch_seconds(std::int64_t seconds);
std::optional<TimePoint> instant_from_epoch_ms(std::int64_t ms);

}  // namespace tok

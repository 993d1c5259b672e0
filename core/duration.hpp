#pragma once
// Durations as users write them in profiles and flags: "40s", "5m", "1h30m", "250ms", "2d".
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace tok {

// Parses a duration; nullopt when the text is not one (the caller names the key in its error).
// A bare "0" is accepted as zero. Units: d, h, m, s, ms; each unit at most once, largest first.
std::optional<Duration> parse_duration(std::string_view text);

// Every duration a user gives lies between 1 ms and a year (docs/engine.md, "Bounds"); 0 only where it
// means "none" (expiry_buffer, stale_window, max_stale_window, retry_backoff, --min-valid).
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365);
enum class ZeroIs { an_error, none };

// Parses and bounds-checks, or throws Error(usage) naming `what` (for example "key
// 'retry_backoff'"). An empty value is not a duration.
Duration parse_duration_or_throw(std::string_view text, std::string_view what, ZeroIs zero = ZeroIs::an_error);

// The shortest form that parses back to the same value: 90000ms -> "1m30s".
std::string format_duration(Duration d);

}  // namespace tok

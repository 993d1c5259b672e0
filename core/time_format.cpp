#include "core/time_format.hpp"

#include <fmt/format.h>

namespace tok {

std::string format_rfc3339(TimePoint t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

std::int64_t to_epoch_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_epoch_ms(std::int64_t ms) {
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms))};
}

namespace {
constexpr std::int64_t kLatestEpochSeconds = 7'258'118'400;  // 2200-01-01T00:00:00Z
}  // namespace

std::optional<TimePoint> instant_from_epoch_seconds(std::int64_t seconds) {
  if (seconds < 0 || seconds > kLatestEpochSeconds) return std::nullopt;
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(seconds))};
}

std::optional<TimePoint> instant_from_epoch_ms(std::int64_t ms) {
  if (ms < 0 || ms > kLatestEpochSeconds * 1000) return std::nullopt;
  return from_epoch_ms(ms);
}

}  // namespace tok

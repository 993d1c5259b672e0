#include "core/duration.hpp"

#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "core/error.hpp"

namespace tok {

namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};

// Longest suffix first so that "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {{"ms", 1}, {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}};

int rank(std::string_view suffix) {
  // Larger units must come first: "1h30m" is fine, "30m1h" is a typo.
  if (suffix == "d") return 0;
  if (suffix == "h") return 1;
  if (suffix == "m") return 2;
  if (suffix == "s") return 3;
  return 4;  // ms
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  int last_rank = -1;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    std::int64_t number = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (number > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return std::nullopt;
      number = number * 10 + (text[i] - '0');
      ++i;
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i, u.suffix.size()) == u.suffix) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return std::nullopt;
    i += unit->suffix.size();
    const int r = rank(unit->suffix);
    if (r <= last_rank) return std::nullopt;
    last_rank = r;
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    if (number > kMax / unit->ms) return std::nullopt;
    if (total > kMax - number * unit->ms) return std::nullopt;
    total += number * unit->ms;
  }
  return Duration{total};
}

Duration parse_duration_or_throw(std::string_view text, std::string_view what, ZeroIs zero) {
  if (text.empty()) {
    throw Error(ErrorKind::usage, fmt::format("{}: the value is empty (write a duration like 40s, 5m, 1h30m or 250ms)", what));
  }
  const auto d = parse_duration(text);
  if (!d) {
    throw Error(ErrorKind::usage,
                fmt::format("{}: '{}' is not a duration (write it like 40s, 5m, 1h30m or 250ms)", what, text));
  }
  if (d->count() == 0 && zero == ZeroIs::an_error) {
    throw Error(ErrorKind::usage, fmt::format("{}: must be at least 1ms (0 would make every attempt fail)", what));
  }
  if (*d > kMaxDuration) {
    throw Error(ErrorKind::usage, fmt::format("{}: '{}' is more than a year (at most 365d)", what, text));
  }
  return *d;
}

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const Unit& u : {kUnits[1], kUnits[2], kUnits[3], kUnits[4], kUnits[0]}) {
    if (ms >= u.ms) {
      out += fmt::format("{}{}", ms / u.ms, u.suffix);
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace tok

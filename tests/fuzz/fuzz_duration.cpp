// Durations as users write them: parsing never overflows, and what parses formats back to itself.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/duration.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto d = tok::parse_duration(text)) {
    if (d->count() < 0 || tok::parse_duration(tok::format_duration(*d)) != d) __builtin_trap();
  }
  try {
    const auto d = tok::parse_duration_or_throw(text, "fuzz", tok::ZeroIs::none);
    if (d > tok::kMaxDuration || d.count() < 0) __builtin_trap();
  } catch (const tok::Error& e) {
    if (e.kind() != tok::ErrorKind::usage) __builtin_trap();
  }
  return 0;
}

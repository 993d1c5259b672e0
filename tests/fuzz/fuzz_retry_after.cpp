// Retry-After, seconds or an HTTP date, as a server sends it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "providers/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const tok::TimePoint now{std::chrono::seconds(1795000000)};
  if (const auto wait = tok::parse_retry_after(std::string_view(reinterpret_cast<const char*>(data), size), now)) {
    if (wait->count() < 0) __builtin_trap();
  }
  return 0;
}

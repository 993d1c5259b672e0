// The time formats programs print: az's local expiresOn and RFC 3339 Expiration.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "providers/token_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)tok::parse_local_time(text);
  (void)tok::parse_rfc3339(text);
  return 0;
}

// Token responses from servers and programs (az output included): never a crash; a token that is
// accepted is usable in a header (RFC 6750 b64token) and expires within a year.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "providers/token_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const tok::TimePoint now{std::chrono::seconds(1795000000)};
  for (const bool program : {false, true}) {
    try {
      const tok::Token t = tok::parse_token_response(body, now, tok::TokenFieldNames{program, std::nullopt});
      if (!tok::is_b64token(t.access_token) || !tok::is_b64token(t.token_type)) __builtin_trap();
      if (!t.expiry || *t.expiry <= now || *t.expiry > now + std::chrono::hours(24 * 367)) __builtin_trap();
    } catch (const tok::Error&) {
    }
  }
  return 0;
}

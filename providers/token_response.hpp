#pragma once
#include <string_view>

#include "core/clock.hpp"
#include "core/token.hpp"

namespace tok {

// Validates and reads a token response (providers.md "A response is validated"): a JSON object,
// a non-empty access_token, and a usable lifetime: expires_in (seconds) or expires_on (epoch
// seconds), each a number or a numeric string. Anything else throws Error(unavailable)
// "malformed response" quoting at most 200 redacted characters of the body.
Token parse_token_response(std::string_view body, TimePoint now);

}  // namespace tok

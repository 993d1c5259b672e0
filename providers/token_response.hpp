#pragma once
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/token.hpp"

namespace tok {

// Validates and reads a token response (providers.md "A response is validated"): a JSON object,
// a non-empty access_token, and a usable lifetime: expires_in (seconds) or expires_on (epoch
// seconds), each a number or a numeric string. Anything else throws Error(unavailable)
// "malformed response" quoting at most 200 redacted characters of the body.
Token parse_token_response(std::string_view body, TimePoint now);

struct HttpResponse;

// A token endpoint's answer that is not a token: an RFC 6749 5.2 error (the code and
// description quoted; exit 3, or 4 for temporarily_unavailable, 5xx and 429), a refusal (400,
// 401, 403: exit 3 with `client_advice`), a redirect (never followed: exit 4), anything else
// (exit 4). `what` names the request ("fetching a token from URL").
Error token_endpoint_error(const HttpResponse& response, const std::string& what, const std::string& client_advice);

}  // namespace tok

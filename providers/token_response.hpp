#pragma once
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/token.hpp"

namespace tok {

// Which field names an answer may use besides the OAuth ones (access_token, token_type,
// expires_in, expires_on).
struct TokenFieldNames {
  // Also the Azure CLI's (accessToken, tokenType, and expiresOn in local time when expires_on is
  // absent), credential_process-style Expiration (RFC 3339) and AWS credential_process JSON:
  // programs print these.
  bool program_output = false;
  // The profile's default_lifetime: the lifetime of an answer that carries none (some services
  // issue long-lived tokens without expires_in). Unset, such an answer is malformed.
  std::optional<Duration> default_lifetime = std::nullopt;
  // Whether an error quotes the answer (redacted, the token removed). False for a command's
  // stdout, which is where its secret is whatever its shape (docs/aws.md): the error then names
  // the field, its type or its length instead.
  bool quote = true;
};

// Validates and reads a token response (docs/engine.md, "A token response must carry"): a JSON object,
// a non-empty access_token made of RFC 6750 b64token characters, and a usable lifetime:
// expires_in (seconds) or expires_on (epoch seconds), each a number or a numeric string (first
// found wins, in that order). Anything else throws Error(unavailable) "malformed response"
// quoting at most 200 redacted characters of the body, never the token (nothing at all unless
// `quote`). A program may print AWS's credential_process JSON (aws_credential.hpp): the token is
// then an AWS credential, its expiry the Expiration; without one (long-term keys) it is
// malformed unless default_lifetime is set.
Token parse_token_response(std::string_view body, TimePoint now, TokenFieldNames names = {});

// The Azure CLI's expiresOn: "YYYY-MM-DD HH:MM:SS[.ffffff]" in the machine's local time,
// converted to UTC with the local zone's rules at that date (TZ, as mktime reads it), so a token
// whose life crosses a daylight-saving change gets its true expiry. A wall time that happens
// twice (the hour after clocks go back) is read as the earlier instant: a token is then renewed
// early, never used late. nullopt if the text is not in that form.
std::optional<TimePoint> parse_local_time(std::string_view text);

// RFC 3339 with Z or a numeric offset: "2026-11-29T10:00:00Z", "2026-11-29T11:00:00.5+01:00".
std::optional<TimePoint> parse_rfc3339(std::string_view text);

struct HttpResponse;

// An RFC 6749 5.2 error answer as data: the `error` member of a JSON object and its
// `error_description`. nullopt when the body is no JSON object with a string `error`.
struct OAuthErrorAnswer {
  std::string error;        // as sent: quoted (redacted) in messages, never decided on
  std::string description;  // empty when none
  // The code decisions read: `error` when it is one (1 to 128 of RFC 6749's NQSCHAR, printable
  // ASCII but '"' and '\\'), else empty.
  std::string code() const;
};
std::optional<OAuthErrorAnswer> read_oauth_error(std::string_view body);

// A token endpoint's answer that is not a token: an RFC 6749 5.2 error (the code and
// description quoted, the code kept as Error::oauth_error(); exit 3, or 4 for
// temporarily_unavailable, 5xx and 429), a refusal (400,
// 401, 403: exit 3 with `client_advice`), a redirect (never followed: exit 4), anything else
// (exit 4). `what` names the request ("fetching a token from URL"). `sent_secrets` are removed
// exactly from whatever is quoted, whatever the server echoes back.
Error token_endpoint_error(const HttpResponse& response, const std::string& what, const std::string& client_advice,
                           const std::vector<std::string>& sent_secrets);

}  // namespace tok

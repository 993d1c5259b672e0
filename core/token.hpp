#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace tok {

struct Token {
  std::string access_token;
  std::string token_type = "Bearer";
  std::optional<TimePoint> expiry;  // UTC; none means the token never expires
  // Secret parts that travel with the token and are committed with it in one write: the
  // fields of a structured credential (AWS's AccessKeyId, SecretAccessKey, SessionToken) or a
  // login's refresh token. Every value is a secret: never printed by status, --format json,
  // logs or errors; only the front end that asks for a field by name gets it. Names are
  // [A-Za-z0-9_]{1,64}; values printable ASCII, at most 16 KiB each, at most 16 fields.
  std::map<std::string, std::string> fields;

  friend bool operator==(const Token&, const Token&) = default;
};

// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". What may
// follow "Bearer " in a header; anything else (spaces, CR, LF, escape sequences) could forge
// header lines or terminal output, so a token or type outside it is never accepted or printed.
bool is_b64token(std::string_view text);

// Whether a Token::fields name and value are within the limits above.
bool is_field_name(std::string_view name);
bool is_field_value(std::string_view value);
constexpr std::size_t kMaxTokenFields = 16;

// The scheme of an Authorization header for a token type: "Bearer" whatever case the server
// wrote it in (RFC 6750 names it so; some servers say "bearer"), any other type as it is.
std::string authorization_scheme(std::string_view token_type);

// The field that holds a login's refresh token (docs/login.md). Rotating refresh tokens are good
// for one use: the engine sends one only under the entry's refresh lock, so no two refreshes,
// in any process, ever send the same one.
inline constexpr const char* kRefreshTokenField = "refresh_token";

// The field that holds a login's OpenID Connect ID token, kept with the access token it came
// with (docs/login.md, "ID tokens"). Its own expiry is the JWT's `exp`; a refresh answer without
// one keeps the previous one.
inline constexpr const char* kIdTokenField = "id_token";
// Set ("1") beside it when the ID token was kept across a refresh that brought none: only its
// expiry then calls for a refresh, not its stale point (each such refresh would bring none again).
inline constexpr const char* kIdTokenKeptField = "id_token_kept";

// How a refresh asks its token source.
enum class FetchMode {
  blocking,    // a caller waits: retry transient failures within the deadline
  background,  // the cached token is still good: one attempt; the engine's retry_backoff is the
               // retry, so repeated failures cost the service one request per backoff
};

// Small facts a provider learns while fetching and wants back next time (the token endpoint
// discovered from an issuer). Stored with the cache entry; never secrets.
using ProviderMemo = std::map<std::string, std::string>;

}  // namespace tok

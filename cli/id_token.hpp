#pragma once
// A login's OpenID Connect ID token (docs/login.md, "ID tokens"): kept in the entry's token
// fields with the access token it came with, its own expiry the JWT's `exp` (decoded, never
// verified: tok hands it on, the relying party verifies it). `tok get --id-token` and
// `tok kube-credential --id-token` serve it under the same rules as an access token: EXPIRED
// (`exp` - expiry_buffer - --min-valid before now) or STALE (its stale point, computed from `iat`
// and `exp` as an access token's from its fetch and expiry) means a blocking refresh with the
// refresh token, under the entry's single flight.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/policy.hpp"
#include "core/token.hpp"

namespace tok {

struct IdToken {
  std::string token;
  std::optional<TimePoint> expiry;     // `exp`; none when unreadable (then the access token's)
  std::optional<TimePoint> issued_at;  // `iat`
  bool kept = false;                   // kept across a refresh that brought none
};

// The entry token's ID token, if it carries one.
std::optional<IdToken> id_token_of(const Token& token);

// Whether an entry's ID token calls for a refresh at `now`: EXPIRED or (unless kept) STALE by
// its own times. False when there is none (a refresh would not bring one).
bool id_token_needs_refresh(const CacheEntry& entry, TimePoint now, const EngineSettings& settings, Duration min_valid);

// `options` with also_expired set to id_token_needs_refresh.
GetOptions id_token_options(GetOptions options, const EngineSettings& settings);

// What the engine gave, as an ID token to hand out: Error(usage) when the profile's provider
// gave none, Error(refused) when the one kept is past its expiry (the refresh brought none). One
// still valid but within expiry_buffer of its exp (kept, as a waiter takes a short token) is
// handed out, and `warn` says so.
IdToken require_id_token(const Token& token, TimePoint now, std::string_view profile, const EngineSettings& settings,
                         const std::function<void(const std::string&)>& warn);

}  // namespace tok

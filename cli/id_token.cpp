#include "cli/id_token.hpp"

#include <fmt/format.h>

#include "cli/claims.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"

namespace tok {

namespace {

std::optional<TimePoint> instant_claim(const TokenClaims& claims, const char* name) {
  const auto it = claims.claims.find(name);
  if (it == claims.claims.end() || !it->is_number_integer()) return std::nullopt;
  return instant_from_epoch_seconds(it->get<std::int64_t>());
}

}  // namespace

std::optional<IdToken> id_token_of(const Token& token) {
  const auto it = token.fields.find(kIdTokenField);
  // Checked when stored (providers/oauth.cpp); checked again before it is printed or sent.
  if (it == token.fields.end() || it->second.empty() || !is_b64token(it->second)) return std::nullopt;
  IdToken out;
  out.token = it->second;
  out.kept = token.fields.count(kIdTokenKeptField) != 0;
  const TokenClaims claims = decode_claims(out.token);
  if (claims.jwt) {
    out.expiry = instant_claim(claims, "exp");
    out.issued_at = instant_claim(claims, "iat");
  }
  // An ID token must carry exp (OpenID Connect Core 2); one without lives as its access token.
  if (!out.expiry) out.expiry = token.expiry;
  return out;
}

bool id_token_needs_refresh(const CacheEntry& entry, TimePoint now, const EngineSettings& settings,
                            Duration min_valid) {
  if (!entry.token) return false;
  const auto id = id_token_of(*entry.token);
  if (!id || !id->expiry) return false;
  if (*id->expiry - settings.expiry_buffer - min_valid < now) return true;
  if (id->kept || !id->issued_at) return false;
  // The access token's rule (docs/design.md, "Stale window"), from the ID token's own times and
  // without jitter: every process computes the same point.
  Token as_token;
  as_token.expiry = id->expiry;
  const auto stale_after = compute_stale_after(as_token, *id->issued_at, settings, 0.0);
  return stale_after && *stale_after < now;
}

GetOptions id_token_options(GetOptions options, const EngineSettings& settings) {
  const Duration min_valid = options.min_valid;
  options.also_expired = [settings, min_valid](const CacheEntry& entry, TimePoint now) {
    return id_token_needs_refresh(entry, now, settings, min_valid);
  };
  return options;
}

IdToken require_id_token(const Token& token, TimePoint now, std::string_view profile, const EngineSettings& settings,
                         const std::function<void(const std::string&)>& warn) {
  auto id = id_token_of(token);
  if (!id) {
    throw Error(ErrorKind::usage, fmt::format("profile '{}' has no ID token: its provider returned none", profile),
                fmt::format("ID tokens come with an OpenID Connect login: add openid to the profile's scopes and run "
                            "tok login -p {}",
                            profile));
  }
  if (id->expiry && *id->expiry <= now) {
    throw Error(ErrorKind::refused,
                fmt::format("the ID token of profile '{}' expired at {} and its refresh brought no new one", profile,
                            format_rfc3339(*id->expiry)),
                fmt::format("run tok login -p {}", profile));
  }
  if (id->expiry && *id->expiry - settings.expiry_buffer < now) {
    warn(fmt::format("the ID token expires in {}s and its refresh brought no new one: run tok login -p {}",
                     std::chrono::floor<std::chrono::seconds>(*id->expiry - now).count(), profile));
  }
  return *id;
}

}  // namespace tok

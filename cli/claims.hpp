#pragma once
// `tok status --claims`: what a JWT access token says about itself (header and the usual claims),
// decoded and never verified. The token is hostile input: its size, nesting and text are bounded
// and every string is made printable before anyone sees it. Pure, for the unit tests.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tok {

// What is shown, in this order; nothing else a token carries.
inline constexpr const char* kHeaderFields[] = {"alg", "typ", "kid"};
inline constexpr const char* kClaimFields[] = {"iss", "sub", "aud", "scp", "scope", "exp", "iat", "nbf"};

struct TokenClaims {
  bool jwt = false;
  std::string why_not;    // not a readable JWT: why ("an opaque token", "too large to decode", ...)
  nlohmann::json header;  // alg, typ, kid: as present, sanitised
  nlohmann::json claims;  // iss, sub, aud, scp, scope, exp, iat, nbf: as present, sanitised
};

TokenClaims decode_claims(std::string_view token);

}  // namespace tok

#pragma once
#include <map>
#include <optional>
#include <string>

#include "core/clock.hpp"

namespace tok {

struct Token {
  std::string access_token;
  std::string token_type = "Bearer";
  std::optional<TimePoint> expiry;  // UTC; none means the token never expires

  friend bool operator==(const Token&, const Token&) = default;
};

// Small facts a provider learns while fetching and wants back next time (the token endpoint
// discovered from an issuer). Stored with the cache entry; never secrets.
using ProviderMemo = std::map<std::string, std::string>;

}  // namespace tok

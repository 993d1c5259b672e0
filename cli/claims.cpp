#include "cli/claims.hpp"

#include <algorithm>

#include "providers/http.hpp"
#include "providers/jws.hpp"

namespace tok {

namespace {

// Access tokens are a few KiB; anything far larger is not worth decoding for a display.
constexpr std::size_t kMaxToken = 64 * 1024;
constexpr int kMaxDepth = 16;
constexpr std::size_t kMaxListItems = 32;

// The nesting depth of JSON text (brackets outside strings), so a payload of 40k '[' is refused
// before a parser walks it.
int nesting(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::optional<nlohmann::json> decode_object(std::string_view segment) {
  const auto text = base64url_decode(segment);
  if (!text || nesting(*text) > kMaxDepth) return std::nullopt;
  // Without exceptions: invalid JSON or text that is not UTF-8 comes back discarded.
  nlohmann::json value = nlohmann::json::parse(*text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

// A value as it may be shown: strings printable and capped, lists of them capped, whole numbers
// kept (exp, iat, nbf), anything else as its printable text.
nlohmann::json shown(const nlohmann::json& value) {
  if (value.is_string()) return printable(value.get<std::string>());
  if (value.is_number_integer() || value.is_number_unsigned() || value.is_boolean()) return value;
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) {
      if (out.size() == kMaxListItems) {
        out.push_back("...");
        break;
      }
      out.push_back(item.is_string() ? nlohmann::json(printable(item.get<std::string>())) : nlohmann::json(printable(item.dump())));
    }
    return out;
  }
  return printable(value.dump());
}

template <std::size_t N>
nlohmann::json pick(const nlohmann::json& object, const char* const (&keys)[N]) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : keys) {
    if (auto it = object.find(key); it != object.end()) out[key] = shown(*it);
  }
  return out;
}

}  // namespace

TokenClaims decode_claims(std::string_view token) {
  TokenClaims result;
  if (token.size() > kMaxToken) {
    result.why_not = "too large to decode";
    return result;
  }
  const auto dots = std::count(token.begin(), token.end(), '.');
  if (dots == 4) {
    result.why_not = "an encrypted JWT (JWE): its claims are for the service to read";
    return result;
  }
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  std::optional<nlohmann::json> header;
  std::optional<nlohmann::json> payload;
  if (dots == 2) {
    header = decode_object(token.substr(0, first));
    payload = decode_object(token.substr(first + 1, second - first - 1));
  }
  if (!header || !payload) {
    result.why_not = "an opaque token (not a JWT): only the service that issued it can read it";
    return result;
  }
  result.jwt = true;
  result.header = pick(*header, kHeaderFields);
  result.claims = pick(*payload, kClaimFields);
  return result;
}

}  // namespace tok

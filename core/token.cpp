#include "core/token.hpp"

#include <algorithm>
#include <cctype>

namespace tok {

bool is_b64token(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) break;
    ++i;
  }
  if (i == 0) return false;
  while (i < text.size() && text[i] == '=') ++i;
  return i == text.size();
}

bool is_field_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_field_value(std::string_view value) {
  if (value.size() > 16 * 1024) return false;
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string authorization_scheme(std::string_view token_type) {
  constexpr std::string_view kBearer = "bearer";
  if (token_type.size() == kBearer.size() &&
      std::equal(token_type.begin(), token_type.end(), kBearer.begin(),
                 [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
    return "Bearer";
  }
  return std::string(token_type);
}

}  // namespace tok

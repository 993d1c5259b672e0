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

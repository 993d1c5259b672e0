#include "core/cache_key.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace tok {

namespace {

// FNV-1a, 64 bits: a file name, not a security boundary (the directory is the boundary).
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Longer encoded names are cut (only names no profile can have: valid ones encode to at most 130
// characters), so that `.<key>.json.<pid>.<n>.tmp` stays within NAME_MAX.
constexpr std::size_t kMaxNameChars = 160;

bool kept(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '@' || (c == '.' && !first);
}

}  // namespace

std::string cache_key(std::string_view profile, const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string identity;
  for (const auto& [key, value] : settings) identity += fmt::format("{}={}\n", key, value);
  // The name written so that no two names share it: every character of a profile name is kept
  // but a leading '.' (a hidden file, which keys() skips); that one and any other byte become
  // %XX, and '%' is never kept, so the encoding reads back to one name only.
  std::string name;
  for (std::size_t i = 0; i < profile.size(); ++i) {
    const char c = profile[i];
    if (kept(c, i == 0)) {
      name += c;
    } else {
      name += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  if (name.size() > kMaxNameChars) {
    // Not a profile name (valid_profile_name): the hashed part tells such names apart.
    identity += fmt::format("profile={}\n", profile);
    name.resize(kMaxNameChars);
  }
  return fmt::format("{}-{:016x}", name, fnv1a(identity));
}

}  // namespace tok

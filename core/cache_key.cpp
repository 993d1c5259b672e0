#include "core/cache_key.hpp"

#include <cctype>
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

}  // namespace

std::string cache_key(std::string_view profile, const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string identity;
  for (const auto& [key, value] : settings) identity += fmt::format("{}={}\n", key, value);
  std::string safe_name;
  for (char c : profile.substr(0, 64)) {
    safe_name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  }
  if (!safe_name.empty() && safe_name[0] == '.') safe_name[0] = '_';
  return fmt::format("{}-{:016x}", safe_name, fnv1a(identity));
}

}  // namespace tok

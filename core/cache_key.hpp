#pragma once
// The cache-key scheme (docs/design.md, "Cache file and locks"): one entry per profile name and non-secret provider
// settings, so that changing a token URL, client id, scope or resource never returns the old
// token. Keys are file names: `<profile>-<16 hex digits>`, the profile name written exactly
// (a leading '.' and any byte outside letters, digits, '-', '_', '.' and '@' as %XX), so that two
// profiles never share an entry.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tok {

// `settings` in a fixed order (the provider's key list): the pairs that decide which token a
// profile gets. Never secrets.
std::string cache_key(std::string_view profile, const std::vector<std::pair<std::string, std::string>>& settings);

}  // namespace tok

#pragma once
// What --help says about the profile keys: each key's meaning and default, grouped as the
// profiles use them (the engine, each provider, the integrations). Built only when help is shown.
#include <string>
#include <string_view>
#include <vector>

namespace tok {

std::string profile_keys_help(const std::vector<std::string_view>& engine_keys,
                              const std::vector<std::string_view>& integration_keys);

// For the test that every key of the build is described.
bool has_key_help(std::string_view key);

}  // namespace tok

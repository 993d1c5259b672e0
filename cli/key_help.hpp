#pragma once
// What the help says about profile keys: each key's meaning and default, which keys each command
// reads, and the reference of `tok help keys [PROVIDER]`. Kept in this one place so that a table
// of keys can replace it. Built only when help is shown.
#include <optional>
#include <string>
#include <string_view>

namespace tok {

// The footer of `tok COMMAND --help`: the profile keys that command reads (none for completion,
// version, help), the global flags, the files and the exit codes.
std::string command_help_footer(std::string_view command);

// The footer of `tok --help`: where to read more, the global flags, the files, the exit codes.
std::string main_help_footer();

// `tok help keys [PROVIDER]`: every key grouped by who reads it, or only what a profile of that
// provider may hold (the engine's, its own and the integrations'). nullopt: no such provider.
std::optional<std::string> profile_keys_help(std::string_view provider = {});

// For the test that every key of the build is described.
bool has_key_help(std::string_view key);

}  // namespace tok

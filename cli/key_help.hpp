#pragma once
// What the help says about profile keys, written from the key tables (cli/config.hpp,
// key_catalog()): which keys each command reads, and the reference of `tok help keys [PROVIDER]`.
// Built only when help is shown. The forms taking a catalog are for tests.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config.hpp"

namespace tok {

// The footer of `tok COMMAND --help`: the profile keys that command reads (none for completion,
// version, help), the global flags, the files and the exit codes.
std::string command_help_footer(std::string_view command);
std::string command_help_footer(const KeyCatalog& catalog, std::string_view command);

// The footer of `tok --help`: where to read more, the global flags, the files, the exit codes.
std::string main_help_footer();

// `tok help keys [PROVIDER]`: every key grouped by who reads it, or only what a profile of that
// provider may hold (the engine's, its own and the integrations'). nullopt: no such provider.
std::optional<std::string> profile_keys_help(std::string_view provider = {});
std::optional<std::string> profile_keys_help(const KeyCatalog& catalog, std::string_view provider);

// The key flags of `catalog` (--provider included) that a completion script does not offer:
// bash and zsh spell a flag --name, fish `-l name`. A test holds it empty for completions/.
std::vector<std::string> key_flags_missing_from_completion(const KeyCatalog& catalog, std::string_view script,
                                                           std::string_view shell);

}  // namespace tok

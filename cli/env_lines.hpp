#pragma once
// The lines `tok env` prints (docs/integrations.md "CI steps and scripts"): a variable assignment each shell or CI
// system reads back exactly, whatever the value holds. Pure, so tests feed it hostile values.
#include <string>
#include <string_view>

namespace tok {

// A name a POSIX shell, fish, GitHub and GitLab all accept: [A-Za-z_][A-Za-z0-9_]*.
bool valid_env_name(std::string_view name);

// 'value' for sh, dash, bash and zsh: single quotes, each ' written '\''.
std::string sh_quote(std::string_view value);
// 'value' for fish: single quotes, with \ and ' escaped by a backslash.
std::string fish_quote(std::string_view value);

// `export NAME='value'` / `set -gx NAME 'value'`, with a newline.
std::string sh_env_line(std::string_view name, std::string_view value);
std::string fish_env_line(std::string_view name, std::string_view value);
// A variable that must not survive from the caller's environment (an AWS session token beside
// long-term keys): `unset NAME` for sh, `set -e NAME` for fish.
std::string sh_unset_line(std::string_view name);
std::string fish_unset_line(std::string_view name);
// `NAME=value` with a newline: GitHub's $GITHUB_ENV and GitLab's dotenv reports take the rest of
// the line as the value, unquoted, so the value must be one line (the caller checks).
std::string dotenv_line(std::string_view name, std::string_view value);

}  // namespace tok

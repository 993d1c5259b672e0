#pragma once
// tok exec --git / tok env --git: the token on git's very first request (docs/github.md). git asks
// a credential helper only after a 401, and a public repository never answers one, so the token
// goes in an `http.<url>.extraHeader` given to git through GIT_CONFIG_COUNT/KEY_n/VALUE_n (git >=
// 2.31): in the environment of one command, never in a file or on a command line.
#include <string>
#include <utility>
#include <vector>

#include "cli/config.hpp"

namespace tok {

// The variables that add, for every git_hosts entry of the profile (a github-app profile without
// any: its API's host), an empty extraHeader (git's reset of the list: one configured earlier, by
// actions/checkout say, must not send a second Authorization) and then
// `Authorization: Basic base64(git_username:token)`. They follow the `existing_count` entries the
// caller's environment holds. Error(usage) for a profile without git hosts, or an entry over
// plain http to a host that is not loopback.
std::vector<std::pair<std::string, std::string>> git_header_variables(const KeyValues& values, const std::string& token,
                                                                      const char* existing_count);

}  // namespace tok

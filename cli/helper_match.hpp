#pragma once
// Which profile answers a credential helper's request (integrations.md): the first profile, in
// file order, whose `git_hosts` or `docker_registries` matches the host the request is for.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config.hpp"
#include "cli/credential_input.hpp"

namespace tok {

inline constexpr std::string_view kDefaultGitUsername = "x-access-token";
inline constexpr std::string_view kDefaultDockerUsername = "oauth2accesstoken";

// A comma-separated key: entries trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view value);

// One `git_hosts` entry, `host[:port][/path-prefix]` (a leading `https://` is allowed), against
// the host and path git sent. Hosts compare without case and with their ports (none on one side
// and one on the other is no match). A path prefix matches whole segments (`org` matches
// `org/repo.git`, not `organisation/x`), a `.git` suffix aside; git sends a path only with
// credential.useHttpPath, so an entry with a prefix never matches a request without one.
// Throws Error(usage) for an entry that is not a host.
bool git_host_matches(std::string_view entry, std::string_view host, std::string_view path);

// The name of the first profile whose git_hosts matches, or nullopt. A malformed entry is an
// Error(usage) naming the file, line and key.
std::optional<std::string> find_git_profile(const IniFile& config, std::string_view host, std::string_view path);

// The same for docker_registries: host and port must be equal.
std::optional<std::string> find_docker_profile(const IniFile& config, const RegistryAddress& address);

// Every docker_registries entry (as written) with its profile's docker_username, in file order.
struct RegistryUser {
  std::string registry;
  std::string username;
};
std::vector<RegistryUser> docker_registry_users(const IniFile& config);

}  // namespace tok

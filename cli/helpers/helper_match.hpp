#pragma once
// Which profile answers a credential helper's request (docs/integrations.md): the first profile, in
// file order, whose `git_hosts` or `docker_registries` matches the host the request is for.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config.hpp"
#include "cli/helpers/helper_url.hpp"

namespace tok {

// One `git_hosts` entry, `[https:// or http://]host[:port][/path-prefix]` (cli/helpers/helper_url.hpp),
// against the protocol, host and path git sent. Hosts compare without case and with their ports
// (none on one side and one on the other is no match); `http` only for an `http://` entry or a
// loopback host. A path prefix matches whole segments after '.' and empty segments are dropped
// (`org` matches `org/repo.git`, not `organisation/x` and never `org/../evil`), a `.git` suffix
// aside; git sends a path only with credential.useHttpPath, so an entry with a prefix never
// matches a request without one. Throws Error(usage) for an entry that is not a host.
bool git_host_matches(std::string_view entry, std::string_view protocol, std::string_view host, std::string_view path);

// The name of the first profile whose git_hosts matches, or nullopt. A malformed entry matches
// nothing here (it is an error for its own profile only: resolve_profile checks it).
std::optional<std::string> find_git_profile(const IniFile& config, std::string_view protocol, std::string_view host,
                                            std::string_view path);

// The same for docker_registries: scheme (as for git), host and port.
std::optional<std::string> find_docker_profile(const IniFile& config, const RegistryUrl& url);

// Every docker_registries entry (as written) with its profile's docker_username, in file order.
struct RegistryUser {
  std::string registry;
  std::string username;
};
std::vector<RegistryUser> docker_registry_users(const IniFile& config);

}  // namespace tok

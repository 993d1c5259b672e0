#include "cli/helpers/helper_match.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "providers/github_app.hpp"

namespace tok {

namespace {

std::string_view without_git_suffix(std::string_view s) {
  if (s.size() > 4 && s.substr(s.size() - 4) == ".git") s.remove_suffix(4);
  return s;
}

// A github-app profile without git_hosts answers for its API's host (docs/github.md).
std::string default_git_hosts(const KeyValues& values) {
  const auto provider = values.find("provider");
  if (provider == values.end() || provider->second != "github-app") return {};
  const auto api = values.find("api_url");
  return github_git_host(api == values.end() ? kGithubApiUrl : std::string_view(api->second));
}

// Runs `match` over each entry of `key` in every profile, in file order. An entry that is not
// one (match throws Error(usage)) matches nothing: one profile's typo must not stop the others.
template <typename Match>
std::optional<std::string> first_profile(const IniFile& config, std::string_view key, Match match) {
  for (const auto& section : config.sections) {
    const auto it = section.values.find(key);
    std::string entries;
    if (it != section.values.end()) {
      entries = it->second;
    } else if (key == "git_hosts") {
      entries = default_git_hosts(section.values);
    }
    for (const std::string& entry : split_list(entries)) {
      try {
        if (match(entry)) return section.name;
      } catch (const Error&) {
      }
    }
  }
  return std::nullopt;
}

}  // namespace

bool git_host_matches(std::string_view entry, std::string_view protocol, std::string_view host, std::string_view path) {
  const HelperEntry e = read_helper_entry(entry);
  const auto address = read_host_port(host);
  if (!address || *address != e.address || !scheme_allowed(e, protocol, *address)) return false;
  if (e.path.empty()) return true;
  const auto have = path_segments(path);
  if (!have || have->size() < e.path.size()) return false;
  for (std::size_t i = 0; i < e.path.size(); ++i) {
    // A prefix naming the repository itself matches it with or without `.git`.
    const bool last = i + 1 == e.path.size() && i + 1 == have->size();
    const std::string_view want = last ? without_git_suffix(e.path[i]) : std::string_view(e.path[i]);
    const std::string_view got = last ? without_git_suffix((*have)[i]) : std::string_view((*have)[i]);
    if (want != got) return false;
  }
  return true;
}

std::optional<std::string> find_git_profile(const IniFile& config, std::string_view protocol, std::string_view host,
                                            std::string_view path) {
  if (host.empty()) return std::nullopt;
  return first_profile(config, "git_hosts",
                       [&](const std::string& entry) { return git_host_matches(entry, protocol, host, path); });
}

std::optional<std::string> find_docker_profile(const IniFile& config, const RegistryUrl& url) {
  return first_profile(config, "docker_registries", [&](const std::string& entry) {
    const HelperEntry e = read_helper_entry(entry);
    return e.address == url.address && scheme_allowed(e, url.scheme, url.address);
  });
}

std::vector<RegistryUser> docker_registry_users(const IniFile& config) {
  std::vector<RegistryUser> out;
  for (const auto& section : config.sections) {
    const auto it = section.values.find("docker_registries");
    if (it == section.values.end()) continue;
    const std::string username = value_or_default(section.values, "docker_username");
    for (const std::string& entry : split_list(it->second)) out.push_back({entry, username});
  }
  return out;
}

}  // namespace tok

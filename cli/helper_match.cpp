#include "cli/helper_match.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace tok {

namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

std::string_view without_git_suffix(std::string_view s) {
  if (s.size() > 4 && s.substr(s.size() - 4) == ".git") s.remove_suffix(4);
  return s;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == ':' || c == '[' || c == ']';
}

// Runs `match` over each entry of `key` in every profile, in file order; a malformed entry
// (match throws Error(usage)) is reported with its file, line and key.
template <typename Match>
std::optional<std::string> first_profile(const IniFile& config, std::string_view key, Match match) {
  for (const auto& section : config.sections) {
    const auto it = section.values.find(key);
    if (it == section.values.end()) continue;
    for (const std::string& entry : split_list(it->second)) {
      try {
        if (match(entry)) return section.name;
      } catch (const Error& e) {
        throw Error(ErrorKind::usage, fmt::format("config {} line {}: profile '{}': key '{}': {}", config.path,
                                                  section.lines.at(std::string(key)), section.name, key, e.what()));
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    const std::size_t comma = std::min(value.find(',', pos), value.size());
    std::string_view item = value.substr(pos, comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    pos = comma + 1;
  }
  return out;
}

bool git_host_matches(std::string_view entry, std::string_view host, std::string_view path) {
  if (const auto scheme = entry.find("://"); scheme != std::string_view::npos) entry.remove_prefix(scheme + 3);
  const auto slash = entry.find('/');
  const std::string_view entry_host = entry.substr(0, slash);
  const std::string_view prefix = slash == std::string_view::npos ? std::string_view{} : trim_slashes(entry.substr(slash));
  if (entry_host.empty()) throw Error(ErrorKind::usage, fmt::format("'{}' has no host", entry));
  for (const char c : entry_host) {
    if (!is_host_char(c)) throw Error(ErrorKind::usage, fmt::format("'{}' is not a host name", entry_host));
  }
  if (lowercase(entry_host) != lowercase(host)) return false;
  if (prefix.empty()) return true;
  const std::string_view want = without_git_suffix(prefix);
  const std::string_view have = without_git_suffix(trim_slashes(path));
  return have == want || (have.size() > want.size() && have.substr(0, want.size()) == want && have[want.size()] == '/');
}

std::optional<std::string> find_git_profile(const IniFile& config, std::string_view host, std::string_view path) {
  if (host.empty()) return std::nullopt;
  return first_profile(config, "git_hosts", [&](const std::string& entry) { return git_host_matches(entry, host, path); });
}

std::optional<std::string> find_docker_profile(const IniFile& config, const RegistryAddress& address) {
  return first_profile(config, "docker_registries", [&](const std::string& entry) {
    const auto registry = parse_registry_address(entry);
    if (!registry) throw Error(ErrorKind::usage, fmt::format("'{}' is not a registry host", entry));
    return *registry == address;
  });
}

std::vector<RegistryUser> docker_registry_users(const IniFile& config) {
  std::vector<RegistryUser> out;
  for (const auto& section : config.sections) {
    const auto it = section.values.find("docker_registries");
    if (it == section.values.end()) continue;
    const auto user = section.values.find("docker_username");
    const std::string username = user != section.values.end() ? user->second : std::string(kDefaultDockerUsername);
    for (const std::string& entry : split_list(it->second)) out.push_back({entry, username});
  }
  return out;
}

}  // namespace tok

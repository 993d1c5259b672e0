#include "cli/helpers/git_header.hpp"

#include <fmt/format.h>

#include "cli/helpers/helper_url.hpp"
#include "core/error.hpp"
#include "providers/base64.hpp"
#include "providers/github_app.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

// The caller's GIT_CONFIG_COUNT: absent or empty is 0; anything else git would refuse too.
std::size_t existing_entries(const char* count) {
  if (count == nullptr || *count == '\0') return 0;
  const std::string_view text(count);
  if (text.size() > 6 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    throw Error(ErrorKind::usage, fmt::format("--git: $GIT_CONFIG_COUNT is '{}', not a count", printable(text)));
  }
  return std::stoul(std::string(text));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> git_header_variables(const KeyValues& values, const std::string& token,
                                                                      const char* existing_count) {
  std::string hosts = value_or_default(values, "git_hosts");
  if (hosts.empty()) {
    if (const auto provider = values.find("provider"); provider != values.end() && provider->second == "github-app") {
      const auto api = values.find("api_url");
      hosts = github_git_host(api == values.end() ? kGithubApiUrl : std::string_view(api->second));
    }
  }
  const auto entries = split_list(hosts);
  if (entries.empty()) {
    throw KeyError("git_hosts", "--git needs the hosts to send the token to (git_hosts = github.com, ...)");
  }
  const std::string header =
      "Authorization: Basic " + base64_encode(value_or_default(values, "git_username") + ":" + token);
  std::size_t n = existing_entries(existing_count);
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& text : entries) {
    const HelperEntry entry = read_helper_entry(text);  // checked when the profile was resolved
    if (entry.scheme == "http" && !is_loopback(entry.address)) {
      throw KeyError("git_hosts", fmt::format("'{}': --git sends the token over plain http only to this machine "
                                              "(localhost, 127.0.0.1, [::1])",
                                              printable(text)));
    }
    std::string url = entry.scheme + "://" + entry.address.host;
    if (!entry.address.port.empty()) url += ":" + entry.address.port;
    url += "/";
    for (const std::string& segment : entry.path) url += segment + "/";
    const std::string key = "http." + url + ".extraHeader";
    for (const std::string& value : {std::string(), header}) {
      out.emplace_back(fmt::format("GIT_CONFIG_KEY_{}", n), key);
      out.emplace_back(fmt::format("GIT_CONFIG_VALUE_{}", n), value);
      ++n;
    }
  }
  out.emplace_back("GIT_CONFIG_COUNT", std::to_string(n));
  return out;
}

}  // namespace tok

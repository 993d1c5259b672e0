// Which profile answers a helper: a `git_hosts` entry (from the config) against the protocol,
// host and path git sent (outside input). Input: ENTRY \0 PROTOCOL \0 HOST \0 PATH. Matching never
// crashes; it ignores the case of hosts and an `https://` in front of an entry without a scheme;
// plain http matches only an `http://` entry or a loopback host; a path with a '..' segment never
// matches a path prefix; an entry of the very host with no path prefix matches it over https (path
// prefixes compare with case, as git paths do); a list splits into trimmed, non-empty items
// without commas.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/helpers/helper_match.hpp"
#include "cli/helpers/helper_url.hpp"
#include "core/error.hpp"

namespace {

// S in upper case up to END (a path prefix keeps its case: paths compare exactly).
std::string upper(std::string_view s, std::size_t end = std::string_view::npos) {
  std::string out(s);
  for (std::size_t i = 0; i < out.size() && i < end; ++i) {
    if (out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 'a' + 'A');
  }
  return out;
}

// Where the host of an entry ends: at the first '/' after an optional scheme.
std::size_t host_end(std::string_view entry) {
  const auto scheme = entry.find("://");
  return entry.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
}

std::string_view next_part(std::string_view& rest) {
  const auto nul = rest.find('\0');
  const std::string_view part = rest.substr(0, nul);
  rest = nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view entry = next_part(rest);
  const std::string_view protocol = next_part(rest);
  const std::string_view host = next_part(rest);
  const std::string_view path = rest;

  for (const std::string& item : tok::split_list(entry)) {
    if (item.empty() || item.find(',') != std::string::npos || item.front() == ' ' || item.front() == '\t' ||
        item.back() == ' ' || item.back() == '\t') {
      __builtin_trap();
    }
  }
  bool matched = false;
  tok::HelperEntry e;
  try {
    matched = tok::git_host_matches(entry, protocol, host, path);
    e = tok::read_helper_entry(entry);
  } catch (const tok::Error& err) {
    if (err.kind() != tok::ErrorKind::usage) __builtin_trap();
    return 0;
  }
  if (matched) {
    const auto address = tok::read_host_port(host);
    if (!address || *address != e.address) __builtin_trap();
    if (protocol != "https" && protocol != "HTTPS" && protocol != "Https" && e.scheme != "http" &&
        !tok::is_loopback(*address)) {
      // Only https in some spelling may reach a remote host through an https entry.
      std::string p(protocol);
      for (char& c : p) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      if (p != "https") __builtin_trap();
    }
    if (!e.path.empty() && !tok::path_segments(path)) __builtin_trap();
  }
  if (entry.find("://") == std::string_view::npos) {
    if (tok::git_host_matches("https://" + std::string(entry), protocol, host, path) != matched) __builtin_trap();
  }
  if (tok::git_host_matches(upper(entry, host_end(entry)), protocol, upper(host), path) != matched) __builtin_trap();
  // The entry's own host (no scheme, no path prefix) is a host that matches it over https.
  if (entry.find('/') == std::string_view::npos && !tok::git_host_matches(entry, "https", entry, path)) __builtin_trap();
  return 0;
}

// Which profile answers a helper: a `git_hosts` entry (from the config) against the host and path
// git sent (outside input). Input: ENTRY \0 HOST \0 PATH. Matching never crashes, ignores the
// case of hosts and an `https://` in the entry, and an entry of the very host with no path prefix
// always matches (path prefixes compare with case, as git paths do); a list splits into trimmed, non-empty items without commas.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/helper_match.hpp"
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
  const std::string_view host = next_part(rest);
  const std::string_view path = rest;

  for (const std::string& item : tok::split_list(entry)) {
    if (item.empty() || item.find(',') != std::string::npos || item.front() == ' ' || item.front() == '\t' ||
        item.back() == ' ' || item.back() == '\t') {
      __builtin_trap();
    }
  }
  bool matched = false;
  try {
    matched = tok::git_host_matches(entry, host, path);
  } catch (const tok::Error& e) {
    if (e.kind() != tok::ErrorKind::usage) __builtin_trap();
    return 0;
  }
  if (entry.find("://") == std::string_view::npos) {
    if (tok::git_host_matches("https://" + std::string(entry), host, path) != matched) __builtin_trap();
  }
  if (tok::git_host_matches(upper(entry, host_end(entry)), upper(host), path) != matched) __builtin_trap();
  // The entry's own host (no scheme, no path prefix) is a host that matches it.
  if (entry.find('/') == std::string_view::npos && !tok::git_host_matches(entry, entry, path)) __builtin_trap();
  return 0;
}

// The helpers' one URL reader (cli/helpers/helper_url.hpp) on hostile text, read three ways: as git's
// `url=`, as Docker's server URL and as a config entry. Never a crash; errors are Error(usage);
// git's host never reaches past the first '/', '?' or '#' after the scheme and comes after the
// first '@' only; Docker's scheme is only ever the one at the very start; an entry keeps no '..'
// and serves http only where it says so or the host is loopback.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/helpers/helper_url.hpp"
#include "core/error.hpp"

namespace {

bool clean(const std::string& s) {
  for (const unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void check_git(std::string_view input) {
  tok::GitUrl u;
  try {
    u = tok::read_git_url(input);
  } catch (const tok::Error& e) {
    if (e.kind() != tok::ErrorKind::usage) __builtin_trap();
    return;
  }
  for (const std::string* part : {&u.protocol, &u.host, &u.path, &u.username, &u.password}) {
    if (!clean(*part)) __builtin_trap();
  }
  const auto scheme_end = input.find("://");
  if (scheme_end == std::string_view::npos || u.protocol != input.substr(0, scheme_end)) __builtin_trap();
  if (!u.path.empty() && u.path.front() == '/') __builtin_trap();
  if (input.find('%') != std::string_view::npos) return;  // below: the undecoded text
  const std::string_view rest = input.substr(scheme_end + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  // The host is the end of the authority, after the first '@' when there is one.
  const auto at = authority.find('@');
  const std::string_view expected = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (u.host != expected) __builtin_trap();
  if (at == std::string_view::npos && !(u.username.empty() && u.password.empty())) __builtin_trap();
}

void check_registry(std::string_view input) {
  const auto r = tok::read_registry_url(input);
  if (!r) return;
  if (r->scheme != "https" && r->scheme != "http") __builtin_trap();
  if (r->address.host.empty() || r->address.host != lower(r->address.host)) __builtin_trap();
  std::string_view trimmed = input;
  while (!trimmed.empty() &&
         (trimmed.front() == ' ' || trimmed.front() == '\t' || trimmed.front() == '\n' || trimmed.front() == '\r')) {
    trimmed.remove_prefix(1);
  }
  const std::string head = lower(trimmed.substr(0, 8));
  const bool has_scheme = head.rfind("https://", 0) == 0 || head.rfind("http://", 0) == 0;
  if (!has_scheme && r->scheme != "https") __builtin_trap();
  // The host is the text right after the scheme (or at the start), never found further on.
  const std::string after = lower(has_scheme ? trimmed.substr(trimmed.find("://") + 3) : trimmed);
  if (after.rfind(r->address.host, 0) != 0) __builtin_trap();
  // Written back, it reads the same.
  const std::string again =
      r->scheme + "://" + r->address.host + (r->address.port.empty() ? "" : ":" + r->address.port);
  const auto second = tok::read_registry_url(again);
  if (!second || second->scheme != r->scheme || second->address != r->address) __builtin_trap();
}

void check_entry(std::string_view input) {
  tok::HelperEntry e;
  try {
    e = tok::read_helper_entry(input);
  } catch (const tok::Error& err) {
    if (err.kind() != tok::ErrorKind::usage) __builtin_trap();
    return;
  }
  for (const std::string& segment : e.path) {
    if (segment.empty() || segment == "." || segment == ".." || segment.find('/') != std::string::npos)
      __builtin_trap();
  }
  if (tok::scheme_allowed(e, "http", e.address) && e.scheme != "http" && !tok::is_loopback(e.address)) __builtin_trap();
  if (!tok::scheme_allowed(e, "https", e.address)) __builtin_trap();
  const auto segments = tok::path_segments(input);
  if (segments) {
    for (const std::string& s : *segments) {
      if (s == ".." || s == "." || s.empty()) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_git(input);
  check_registry(input);
  check_entry(input);
  return 0;
}

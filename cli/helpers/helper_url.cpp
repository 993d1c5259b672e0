#include "cli/helpers/helper_url.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

[[noreturn]] void malformed(std::string_view why) {
  throw Error(ErrorKind::usage, fmt::format("malformed input: {}", why));
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// git's url_decode_mem (git's url.c): the stretch before a part's first ':' is copied as it is
// (git takes it for a scheme), the rest is percent-decoded; `%00` stays as written.
std::string git_decode(std::string_view s, std::string_view part) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  if (const auto colon = s.find(':'); colon != std::string_view::npos && colon > 0) {
    out.append(s.substr(0, colon));
    i = colon;
  }
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      const int value = hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]);
      if (value != 0) {
        c = static_cast<char>(value);
        i += 2;
      }
    }
    out += c;
  }
  for (const char c : out) {
    if (is_control(static_cast<unsigned char>(c))) {
      malformed(fmt::format("the url's {} holds a control character", part));
    }
  }
  return out;
}

// The length of a scheme and its "://" at the start of `s` (RFC 3986: a letter, then letters,
// digits, '+', '-', '.'), or 0.
std::size_t leading_scheme(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return 0;
  std::size_t i = 1;
  while (i < s.size() && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) ++i;
  return s.substr(i, 3) == "://" ? i + 3 : 0;
}

}  // namespace

std::optional<HostPort> read_host_port(std::string_view authority) {
  HostPort a;
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close < 3) return std::nullopt;  // "[::]" is the shortest
    for (const char c : host.substr(1, close - 1)) {
      if (!is_hex(c) && c != ':' && c != '.') return std::nullopt;
    }
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') return std::nullopt;
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
    host = host.substr(0, close + 1);
  } else {
    if (const auto colon = host.find(':'); colon != std::string_view::npos) {
      has_port = true;
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (host.empty()) return std::nullopt;
    for (const char c : host) {
      if (!is_alnum(c) && c != '.' && c != '-' && c != '_') return std::nullopt;
    }
  }
  if (has_port && (port.empty() || port.size() > 5)) return std::nullopt;
  long port_value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    port_value = port_value * 10 + (c - '0');
  }
  if (port_value > 65535) return std::nullopt;
  a.host = lowercase(host);
  a.port = std::string(port);
  return a;
}

bool is_loopback(const HostPort& address) { return is_loopback_host(address.host); }

GitUrl read_git_url(std::string_view url) {
  GitUrl r;
  const auto proto_end = url.find("://");
  if (proto_end == std::string_view::npos || proto_end == 0) malformed("the url has no scheme");
  const std::string_view rest = url.substr(proto_end + 3);
  // Where the host ends: the first '/', '?' or '#'. The first '@' starts the host only when it
  // comes before that end; the first ':' splits user from password only when it comes before '@'.
  const std::size_t host_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::size_t at = rest.find('@');
  const std::size_t colon = rest.find(':');
  std::size_t host_start = 0;
  if (at != std::string_view::npos && at < host_end) {
    if (colon == std::string_view::npos || at <= colon) {
      r.username = git_decode(rest.substr(0, at), "user name");
    } else {
      r.username = git_decode(rest.substr(0, colon), "user name");
      r.password = git_decode(rest.substr(colon + 1, at - colon - 1), "password");
    }
    host_start = at + 1;
  }
  r.protocol = std::string(url.substr(0, proto_end));  // git copies the scheme as it is
  for (const char c : r.protocol) {
    if (is_control(static_cast<unsigned char>(c))) malformed("the url's scheme holds a control character");
  }
  r.host = git_decode(rest.substr(host_start, host_end - host_start), "host");
  std::string_view path = rest.substr(host_end);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty()) {
    r.path = git_decode(path, "path");
    while (r.path.size() > 1 && r.path.back() == '/') r.path.pop_back();
  }
  return r;
}

std::optional<RegistryUrl> read_registry_url(std::string_view url) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!url.empty() && blank(url.front())) url.remove_prefix(1);
  while (!url.empty() && blank(url.back())) url.remove_suffix(1);
  RegistryUrl r;
  r.scheme = "https";
  if (const std::size_t n = leading_scheme(url); n != 0) {
    r.scheme = lowercase(url.substr(0, n - 3));
    if (r.scheme != "https" && r.scheme != "http") return std::nullopt;
    url.remove_prefix(n);
  }
  auto address = read_host_port(url.substr(0, url.find('/')));
  if (!address) return std::nullopt;
  r.address = std::move(*address);
  return r;
}

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

std::optional<std::vector<std::string>> path_segments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t slash = std::min(path.find('/', pos), path.size());
    const std::string_view segment = path.substr(pos, slash - pos);
    if (segment == "..") return std::nullopt;
    if (!segment.empty() && segment != ".") out.emplace_back(segment);
    pos = slash + 1;
  }
  return out;
}

HelperEntry read_helper_entry(std::string_view entry) {
  HelperEntry e;
  e.scheme = "https";
  if (const std::size_t n = leading_scheme(entry); n != 0) {
    e.scheme = lowercase(entry.substr(0, n - 3));
    if (e.scheme != "https" && e.scheme != "http") {
      throw Error(ErrorKind::usage, "a scheme other than https:// or http://");
    }
    entry.remove_prefix(n);
  } else if (entry.find("://") != std::string_view::npos) {
    throw Error(ErrorKind::usage, "'://' that does not follow a scheme at the start");
  }
  const std::size_t slash = entry.find('/');
  const auto address = read_host_port(entry.substr(0, slash));
  if (!address)
    throw Error(ErrorKind::usage, "not a host name (letters, digits, '.', '-', '_', and an optional :port)");
  e.address = *address;
  if (slash != std::string_view::npos) {
    auto segments = path_segments(entry.substr(slash + 1));
    if (!segments) throw Error(ErrorKind::usage, "a path with a '..' segment");
    for (const std::string& s : *segments) {
      for (const char c : s) {
        if (is_control(static_cast<unsigned char>(c)) || c == '?' || c == '#' || c == '%' || c == ' ') {
          throw Error(ErrorKind::usage, "a path with a space, control character, '%', '?' or '#'");
        }
      }
    }
    e.path = std::move(*segments);
  }
  return e;
}

bool scheme_allowed(const HelperEntry& entry, std::string_view scheme, const HostPort& address) {
  const std::string s = lowercase(scheme);
  if (s == "https") return true;
  if (s == "http") return entry.scheme == "http" || is_loopback(address);
  return false;
}

}  // namespace tok

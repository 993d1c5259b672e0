#include "cli/credential_input.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace tok {

namespace {

[[noreturn]] void malformed(std::string_view why) {
  throw Error(ErrorKind::usage, fmt::format("malformed input: {}", why));
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding as git does for the parts of a `url=` attribute. A decoded control character
// (`%0a`, `%00`) would let a URL forge protocol lines: refused, as git refuses it.
std::string url_decode(std::string_view s, std::string_view part) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      c = static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    }
    if (is_control(static_cast<unsigned char>(c))) malformed(fmt::format("the url's {} holds a control character", part));
    out += c;
  }
  return out;
}

void strip_trailing_slashes(std::string& path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
}

// git's credential_from_url: scheme://[user[:password]@]host[:port][/path].
void fill_from_url(GitCredentialRequest& r, std::string_view url) {
  r = GitCredentialRequest{};
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) malformed("the url has no scheme");
  r.protocol = std::string(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    r.path = url_decode(rest.substr(slash + 1), "path");
    strip_trailing_slashes(r.path);
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    r.username = url_decode(userinfo.substr(0, colon), "user name");
    if (colon != std::string_view::npos) r.password = url_decode(userinfo.substr(colon + 1), "password");
    authority = authority.substr(at + 1);
  }
  r.host = url_decode(authority, "host");
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

bool git_request_complete(std::string_view input) {
  return (!input.empty() && input.front() == '\n') || input.find("\n\n") != std::string_view::npos;
}

GitCredentialRequest parse_git_credential(std::string_view input) {
  GitCredentialRequest r;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < input.size()) {
    const std::size_t nl = input.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? input.size() : nl;
    const std::string_view line = input.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) break;  // the blank line that ends a request
    if (line.size() > kGitLineMax) malformed(fmt::format("line {} is longer than 64 KiB", line_no));
    if (line.find('\0') != std::string_view::npos) malformed(fmt::format("line {} holds a NUL byte", line_no));
    if (line.find('\r') != std::string_view::npos) malformed(fmt::format("line {} holds a carriage return", line_no));
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) malformed(fmt::format("line {} is not key=value", line_no));
    if (eq == 0) malformed(fmt::format("line {} has an empty key", line_no));
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    if (key == "protocol") {
      r.protocol = value;
    } else if (key == "host") {
      r.host = value;
    } else if (key == "path") {
      r.path = value;
      strip_trailing_slashes(r.path);
    } else if (key == "username") {
      r.username = value;
    } else if (key == "password") {
      r.password = value;
    } else if (key == "url") {
      fill_from_url(r, value);
    }
  }
  while (!r.path.empty() && r.path.front() == '/') r.path.erase(0, 1);
  return r;
}

std::optional<RegistryAddress> parse_registry_address(std::string_view url) {
  while (!url.empty() && (url.front() == ' ' || url.front() == '\t' || url.front() == '\n' || url.front() == '\r')) {
    url.remove_prefix(1);
  }
  while (!url.empty() && (url.back() == ' ' || url.back() == '\t' || url.back() == '\n' || url.back() == '\r')) {
    url.remove_suffix(1);
  }
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  const std::string_view authority = url.substr(0, url.find('/'));
  // Host names are ASCII letters, digits, '.', '-' and '_' (internationalised ones come as
  // punycode); ':' and brackets for ports and IPv6 literals. Anything else is not an address.
  for (const char c : authority) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok) return std::nullopt;
  }
  RegistryAddress a;
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {  // [::1]:5000
    const auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') return std::nullopt;
    if (!after.empty()) a.port = std::string(after.substr(1));
    host = host.substr(0, close + 1);
  } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
    a.port = std::string(host.substr(colon + 1));
    host = host.substr(0, colon);
  }
  if (host.empty() || host == "[]") return std::nullopt;
  if (a.port.empty() && !authority.empty() && authority.back() == ':') return std::nullopt;
  for (const char c : a.port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (a.port.size() > 5) return std::nullopt;
  a.host = lowercase(host);
  return a;
}

DockerStoreRequest parse_docker_store(std::string_view input) {
  const auto doc = nlohmann::json::parse(input.begin(), input.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) malformed("not JSON");
  if (!doc.is_object()) malformed("not a JSON object");
  const auto field = [&](const char* name) -> std::string {
    const auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return {};
    if (!it->is_string()) malformed(fmt::format("{} is not a string", name));
    return it->get<std::string>();
  };
  DockerStoreRequest r;
  r.server_url = field("ServerURL");
  r.username = field("Username");
  (void)field("Secret");  // checked, never kept: tok stores nothing
  if (r.server_url.empty()) throw Error(ErrorKind::usage, "no credentials server URL");
  if (r.username.empty()) throw Error(ErrorKind::usage, "no credentials username");
  return r;
}

namespace {

// Text from the environment shown in an error: short, one line, no control characters.
std::string shown(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 80)) out += is_control(static_cast<unsigned char>(c)) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out;
}

}  // namespace

std::string exec_credential_api_version(const char* exec_info) {
  if (exec_info == nullptr) return std::string(kExecCredentialV1);
  const std::string_view text(exec_info);
  const auto bad = [](std::string_view why) {
    return Error(ErrorKind::usage, fmt::format("$KUBERNETES_EXEC_INFO: {}", why),
                 "kubectl sets it; check the apiVersion of the kubeconfig's exec stanza");
  };
  if (text.size() > kDockerInputMax) throw bad("longer than 64 KiB");
  const auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) throw bad("not a JSON object");
  if (const auto kind = doc.find("kind"); kind != doc.end() && (!kind->is_string() || *kind != "ExecCredential")) {
    throw bad("kind is not ExecCredential");
  }
  const auto version = doc.find("apiVersion");
  if (version == doc.end() || !version->is_string()) throw bad("no apiVersion");
  const auto& v = version->get_ref<const std::string&>();
  if (v != kExecCredentialV1 && v != kExecCredentialV1beta1) {
    throw bad(fmt::format("apiVersion '{}' is not {} or {}", shown(v), kExecCredentialV1, kExecCredentialV1beta1));
  }
  return v;
}

namespace {

// Reads until EOF, `limit` bytes, or (when `until_request_end`) a whole git request.
std::string read_fd0(std::size_t limit, bool until_request_end) {
  std::string buf;
  char chunk[16384];
  for (;;) {
    if (until_request_end && git_request_complete(buf)) return buf;
    const ssize_t n = ::read(0, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::internal, fmt::format("cannot read standard input: {}", std::strerror(errno)));
    }
    if (n == 0) return buf;
    if (buf.size() + static_cast<std::size_t>(n) > limit) {
      malformed(fmt::format("more than {} KiB on standard input", limit / 1024));
    }
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace

std::string read_stdin(std::size_t limit) { return read_fd0(limit, false); }

std::string read_git_request_from_stdin() { return read_fd0(kGitInputMax, true); }

}  // namespace tok

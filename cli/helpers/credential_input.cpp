#include "cli/helpers/credential_input.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/helpers/helper_url.hpp"
#include "core/time_format.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

[[noreturn]] void malformed(std::string_view why) {
  throw Error(ErrorKind::usage, fmt::format("malformed input: {}", why));
}

void strip_trailing_slashes(std::string& path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
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
      // As git does: the url replaces every attribute read so far.
      GitUrl url = read_git_url(value);
      r = GitCredentialRequest{std::move(url.protocol), std::move(url.host), std::move(url.path),
                               std::move(url.username), std::move(url.password)};
    }
  }
  while (!r.path.empty() && r.path.front() == '/') r.path.erase(0, 1);
  return r;
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

ExecInfo read_exec_info(const char* exec_info) {
  ExecInfo info;
  info.api_version = kExecCredentialV1;
  if (exec_info == nullptr) return info;
  const std::string_view text(exec_info);
  const auto bad = [](std::string_view why) {
    return Error(ErrorKind::usage, fmt::format("$KUBERNETES_EXEC_INFO: {}", why),
                 "kubectl sets it; check the apiVersion of the kubeconfig's exec stanza");
  };
  if (text.size() > kExecInfoMax) throw bad("longer than 128 KiB");
  // Only apiVersion and spec.interactive are kept: the rest (with provideClusterInfo, the
  // cluster's whole CA bundle) is checked to be JSON and dropped as it is read.
  const nlohmann::json::parser_callback_t keep = [](int depth, nlohmann::json::parse_event_t event,
                                                    nlohmann::json& parsed) {
    if (event != nlohmann::json::parse_event_t::key) return true;
    if (depth == 1) return parsed == "apiVersion" || parsed == "spec";
    if (depth == 2) return parsed == "interactive";
    return false;
  };
  const auto doc = nlohmann::json::parse(text.begin(), text.end(), keep, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) throw bad("not a JSON object");
  const auto version = doc.find("apiVersion");
  if (version == doc.end() || !version->is_string()) throw bad("no apiVersion");
  const auto& v = version->get_ref<const std::string&>();
  if (v != kExecCredentialV1 && v != kExecCredentialV1beta1) {
    throw bad(fmt::format("apiVersion '{}' is not {} or {}", printable(v), kExecCredentialV1, kExecCredentialV1beta1));
  }
  info.api_version = v;
  if (const auto spec = doc.find("spec"); spec != doc.end() && spec->is_object()) {
    if (const auto interactive = spec->find("interactive"); interactive != spec->end()) {
      if (!interactive->is_boolean()) throw bad("spec.interactive is not true or false");
      info.interactive = interactive->get<bool>();
    }
  }
  return info;
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

std::string git_answer(std::string_view username, std::string_view token, std::optional<TimePoint> expiry) {
  // git reads the answer line by line, a value to the end of its line (a C string): a line break
  // in a value would be a line of its own (git's own writer, credential_write_item, dies on one),
  // a NUL would cut it, and git strips a CR before the line's end. Refused, never sent.
  constexpr std::string_view kSplitters("\n\r\0", 3);
  if (username.find_first_of(kSplitters) != std::string_view::npos) {
    throw Error(ErrorKind::usage,
                "git-credential: the user name holds a line break or a NUL, which git would read as a line of its own",
                "check git_username");
  }
  if (token.find_first_of(kSplitters) != std::string_view::npos) {
    throw Error(ErrorKind::unavailable,
                "git-credential: the token holds a line break or a NUL: refusing to hand it to git");
  }
  std::string out = fmt::format("username={}\npassword={}\n", username, token);
  if (expiry) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(expiry->time_since_epoch());
    out += fmt::format("password_expiry_utc={}\n", seconds.count());
  }
  return out;
}

std::string docker_answer(std::string_view server_url, std::string_view username, std::string_view token) {
  nlohmann::ordered_json out;
  out["ServerURL"] = server_url;
  out["Username"] = username;
  out["Secret"] = token;
  return out.dump() + "\n";
}

std::string exec_credential(std::string_view api_version, std::string_view token, std::optional<TimePoint> reuse_until) {
  nlohmann::ordered_json status;
  status["token"] = token;
  if (reuse_until) status["expirationTimestamp"] = format_rfc3339(*reuse_until);
  nlohmann::ordered_json out;
  out["apiVersion"] = api_version;
  out["kind"] = "ExecCredential";
  out["status"] = std::move(status);
  return out.dump() + "\n";
}

}  // namespace tok

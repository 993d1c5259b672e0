// What tok login's loopback listener reads from a request (RFC 6749 4.1.2): never a crash; a code
// is taken only from /callback with exactly our state, given once, and is 1 to 4096 bytes; an
// error ends the login with one printable line. Input: a first line PATH, then `p NAME=VALUE`
// lines (the decoded query, names may repeat).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands/login_callback.hpp"
#include "providers/http.hpp"

namespace {

constexpr std::string_view kState = "0123456789abcdef0123456789abcdef";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  tok::ServerRequest request;
  request.method = "GET";
  request.path = lines.empty() ? "/callback" : std::string(lines[0]);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.size() < 2 || line[0] != 'p' || line[1] != ' ') continue;
    const std::string_view body = line.substr(2);
    const auto eq = body.find('=');
    request.params.emplace(std::string(body.substr(0, eq)),
                           eq == std::string_view::npos ? std::string{} : std::string(body.substr(eq + 1)));
  }
  const tok::LoginCallback r = tok::read_login_callback(request, kState);
  using Kind = tok::LoginCallback::Kind;
  if ((r.kind == Kind::not_found) != (request.path != "/callback")) __builtin_trap();
  if (r.kind == Kind::code || r.kind == Kind::failed || r.kind == Kind::no_code) {
    // Ours: exactly one state, and it is ours.
    if (request.params.count("state") != 1 || request.params.find("state")->second != kState) __builtin_trap();
  }
  if (r.kind == Kind::code) {
    if (r.code.empty() || r.code.size() > 4096 || request.params.count("code") != 1) __builtin_trap();
    if (r.code != request.params.find("code")->second || request.params.count("error") != 0) __builtin_trap();
  } else if (!r.code.empty()) {
    __builtin_trap();
  }
  if (r.kind == Kind::failed) {
    if (r.problem.empty() || r.problem.size() > 600) __builtin_trap();
    if (std::any_of(r.problem.begin(), r.problem.end(), [](char c) { return c == '\n' || c == '\r' || c == '\x1b'; })) {
      __builtin_trap();
    }
  }
  // Whatever else: a different state never ends the login.
  if (request.param("state") != std::string(kState) && (r.kind == Kind::code || r.kind == Kind::failed)) {
    __builtin_trap();
  }
  return 0;
}

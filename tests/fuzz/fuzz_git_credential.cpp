// git's credential-helper input (`key=value` lines, `url=` among them), as `tok git-credential`
// reads it: an answer or an Error(usage) whose message quotes none of the input; no field holds
// a line break or a NUL (it would forge a protocol line in the answer); the path has no leading
// or trailing slash; what follows the blank line that ends a request changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/helpers/credential_input.hpp"
#include "core/error.hpp"

namespace {

bool clean(const std::string& s) { return s.find_first_of(std::string_view("\n\r\0", 3)) == std::string::npos; }

// The message with its digits (line numbers) removed is one of the parser's own sentences.
bool known_message(std::string_view what) {
  std::string m;
  for (const char c : what) {
    if (c < '0' || c > '9') m += c;
  }
  static const char* const kKnown[] = {
      "malformed input: line  is longer than  KiB",
      "malformed input: line  holds a NUL byte",
      "malformed input: line  holds a carriage return",
      "malformed input: line  is not key=value",
      "malformed input: line  has an empty key",
      "malformed input: the url has no scheme",
      "malformed input: the url's path holds a control character",
      "malformed input: the url's user name holds a control character",
      "malformed input: the url's password holds a control character",
      "malformed input: the url's host holds a control character",
      "malformed input: the url's scheme holds a control character",
  };
  for (const char* k : kKnown) {
    if (m == k) return true;
  }
  return false;
}

bool same(const tok::GitCredentialRequest& a, const tok::GitCredentialRequest& b) {
  return a.protocol == b.protocol && a.host == b.host && a.path == b.path && a.username == b.username &&
         a.password == b.password;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  tok::GitCredentialRequest r;
  try {
    r = tok::parse_git_credential(input);
  } catch (const tok::Error& e) {
    if (e.kind() != tok::ErrorKind::usage || !known_message(e.what())) __builtin_trap();
    return 0;
  }
  for (const std::string* field : {&r.protocol, &r.host, &r.path, &r.username, &r.password}) {
    if (!clean(*field)) __builtin_trap();
  }
  if (!r.path.empty() && (r.path.front() == '/' || r.path.back() == '/')) __builtin_trap();
  if (tok::git_request_complete(input)) {
    const std::string longer = std::string(input) + std::string("host=after.example\nnot a line\r\0\n", 32);
    if (!same(tok::parse_git_credential(longer), r)) __builtin_trap();
  }
  return 0;
}

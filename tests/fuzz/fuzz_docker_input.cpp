// Docker's credential-helper input: the server URL of `get`/`erase` and the JSON of `store`.
// An address (cli/helpers/helper_url.hpp) is a lowercase host of host characters and an optional port of
// at most 5 digits, and reads back the same when written again, with a scheme, a path or
// surrounding blanks. A
// store request is an answer with both fields, or an Error(usage) that quotes none of the input
// (it holds a password).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/helpers/credential_input.hpp"
#include "cli/helpers/helper_url.hpp"
#include "core/error.hpp"

namespace {

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':' ||
         c == '[' || c == ']';
}

void check_address(std::string_view url) {
  const auto r = tok::read_registry_url(url);
  if (!r) return;
  const tok::HostPort& a = r->address;
  if (a.host.empty() || a.port.size() > 5) __builtin_trap();
  for (const char c : a.host) {
    if (!host_char(c)) __builtin_trap();
  }
  for (const char c : a.port) {
    if (c < '0' || c > '9') __builtin_trap();
  }
  const std::string written = a.host + (a.port.empty() ? "" : ":" + a.port);
  for (const std::string& again : {written, "https://" + written + "/v2/", " \t" + written + "\r\n"}) {
    const auto back = tok::read_registry_url(again);
    if (!back || back->address != a) __builtin_trap();
  }
}

void check_store(std::string_view input) {
  try {
    const auto r = tok::parse_docker_store(input);
    if (r.server_url.empty() || r.username.empty()) __builtin_trap();
  } catch (const tok::Error& e) {
    const std::string_view m = e.what();
    if (e.kind() != tok::ErrorKind::usage) __builtin_trap();
    if (m != "malformed input: not JSON" && m != "malformed input: not a JSON object" &&
        m != "malformed input: ServerURL is not a string" && m != "malformed input: Username is not a string" &&
        m != "malformed input: Secret is not a string" && m != "no credentials server URL" &&
        m != "no credentials username") {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_address(input);
  check_store(input);
  return 0;
}

// $KUBERNETES_EXEC_INFO as kubectl (or anyone who can set the environment) passes it: the answer
// is one of the two ExecCredential versions tok speaks, or an Error(usage) of one line without
// control characters (it is printed to a terminal), quoting at most 80 bytes of what it was given.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/credential_input.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);  // an environment string ends at a NUL
  try {
    const std::string v = tok::exec_credential_api_version(text.c_str());
    if (v != tok::kExecCredentialV1 && v != tok::kExecCredentialV1beta1) __builtin_trap();
  } catch (const tok::Error& e) {
    if (e.kind() != tok::ErrorKind::usage) __builtin_trap();
    const std::string_view m = e.what();
    if (m.size() > 250) __builtin_trap();
    for (const unsigned char c : m) {
      if (c < 0x20 || c == 0x7f) __builtin_trap();
    }
  }
  return 0;
}

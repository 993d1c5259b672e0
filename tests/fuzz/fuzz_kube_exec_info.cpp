// $KUBERNETES_EXEC_INFO as kubectl (or anyone who can set the environment) passes it: the answer
// is one of the two ExecCredential versions tok speaks, or an Error(usage) of one line without
// control characters (it is printed to a terminal), quoting at most 200 bytes of what it was given
// (tok's printable()); spec.interactive, when read, came from a JSON boolean.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/helpers/credential_input.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);  // an environment string ends at a NUL
  try {
    const tok::ExecInfo info = tok::read_exec_info(text.c_str());
    const std::string& v = info.api_version;
    if (v != tok::kExecCredentialV1 && v != tok::kExecCredentialV1beta1) __builtin_trap();
    if (info.interactive && text.find("interactive") == std::string::npos) __builtin_trap();
  } catch (const tok::Error& e) {
    if (e.kind() != tok::ErrorKind::usage) __builtin_trap();
    const std::string_view m = e.what();
    if (m.size() > 400) __builtin_trap();
    for (const unsigned char c : m) {
      if (c < 0x20 || c == 0x7f) __builtin_trap();
    }
  }
  return 0;
}

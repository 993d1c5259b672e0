// provider = command's `command` key: shell-like words without a shell.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "providers/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    for (const auto& word : tok::split_command(std::string_view(reinterpret_cast<const char*>(data), size))) {
      (void)word;
    }
  } catch (const tok::Error& e) {
    if (e.kind() != tok::ErrorKind::usage) __builtin_trap();
  }
  return 0;
}

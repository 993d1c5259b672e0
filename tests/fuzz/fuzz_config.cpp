// The INI config file: parse errors are Error(usage); nothing else may happen.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/config.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const tok::IniFile file = tok::parse_ini(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    for (const auto& section : file.sections) {
      if (section.name.empty()) __builtin_trap();
      for (const auto& [key, value] : section.values) {
        if (key.empty() || key.find('\n') != std::string::npos || value.find('\n') != std::string::npos) __builtin_trap();
      }
    }
  } catch (const tok::Error& e) {
    if (e.kind() != tok::ErrorKind::usage) __builtin_trap();
  }
  return 0;
}

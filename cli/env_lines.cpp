#include "cli/env_lines.hpp"

namespace tok {

bool valid_env_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(letter || (digit && i > 0))) return false;
  }
  return true;
}

std::string sh_quote(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'') {
      out += "'\\''";  // close the quote, an escaped quote, reopen
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string fish_quote(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string sh_env_line(std::string_view name, std::string_view value) {
  return "export " + std::string(name) + "=" + sh_quote(value) + "\n";
}

std::string fish_env_line(std::string_view name, std::string_view value) {
  return "set -gx " + std::string(name) + " " + fish_quote(value) + "\n";
}

std::string sh_unset_line(std::string_view name) { return "unset " + std::string(name) + "\n"; }

std::string fish_unset_line(std::string_view name) { return "set -e " + std::string(name) + "\n"; }

std::string dotenv_line(std::string_view name, std::string_view value) {
  return std::string(name) + "=" + std::string(value) + "\n";
}

}  // namespace tok

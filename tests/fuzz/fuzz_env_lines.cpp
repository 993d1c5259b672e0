// What `tok env` prints around a token (a server's bytes): sh and fish read back exactly the value
// that was quoted, and nothing after the closing quote; a dotenv line is the name, '=', the value
// and one newline. Decoders below follow POSIX 2.2.2-2.2.3 (a single-quoted string ends at the
// next ', a backslash outside quotes escapes one character) and fish's quotes (\\ and \' only).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/env_lines.hpp"

namespace {

// One sh word made of '...' and \x pieces; nullopt if anything else is in it.
std::optional<std::string> sh_word(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\'') {
      const auto close = s.find('\'', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      out.append(s.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] != '\n') {
      out += s[i + 1];
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::string> fish_word(std::string_view s) {
  if (s.size() < 2 || s.front() != '\'' || s.back() != '\'') return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '\'') return std::nullopt;  // an unescaped quote ends the word early
    if (s[i] == '\\' && i + 2 < s.size() && (s[i + 1] == '\\' || s[i + 1] == '\'')) ++i;
    out += s[i];
  }
  // A backslash escaping the closing quote would have been read as an escape above.
  std::size_t backslashes = 0;
  for (std::size_t i = s.size() - 1; i > 0 && s[i - 1] == '\\'; --i) ++backslashes;
  if (backslashes % 2 != 0) return std::nullopt;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  if (sh_word(tok::sh_quote(value)) != std::string(value)) __builtin_trap();
  if (fish_word(tok::fish_quote(value)) != std::string(value)) __builtin_trap();

  const std::string sh = tok::sh_env_line("TOK_TOKEN", value);
  if (sh.rfind("export TOK_TOKEN=", 0) != 0 || sh.back() != '\n') __builtin_trap();
  if (sh_word(std::string_view(sh).substr(17, sh.size() - 18)) != std::string(value)) __builtin_trap();
  const std::string fish = tok::fish_env_line("TOK_TOKEN", value);
  if (fish.rfind("set -gx TOK_TOKEN ", 0) != 0 || fish.back() != '\n') __builtin_trap();
  if (fish_word(std::string_view(fish).substr(18, fish.size() - 19)) != std::string(value)) __builtin_trap();
  if (value.find('\n') == std::string_view::npos && tok::dotenv_line("V", value) != "V=" + std::string(value) + "\n") {
    __builtin_trap();
  }

  // A name: [A-Za-z_][A-Za-z0-9_]*, nothing else.
  bool want = !value.empty() && !(value[0] >= '0' && value[0] <= '9');
  for (const char c : value) {
    want = want && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (tok::valid_env_name(value) != want) __builtin_trap();
  return 0;
}

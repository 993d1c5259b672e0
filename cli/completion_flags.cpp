#include "cli/completion_flags.hpp"

#include <stdexcept>

namespace tok {

namespace {

bool is_lower_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// Each row as the scripts can spell it: its names go into them unquoted, its help quoted.
void check_row(const GlobalFlag& flag) {
  const std::string_view name = flag.long_name;
  const auto fail = [&](std::string_view why) {
    throw std::invalid_argument("global flag '" + std::string(name) + "': " + std::string(why));
  };
  if (name.size() < 3 || name.size() > 64 || name.substr(0, 2) != "--" || name[2] == '-') {
    fail("a long name is --name");
  }
  for (const char c : name) {
    if (!is_lower_word_char(c)) fail("a long name is lower-case letters, digits and '-'");
  }
  const std::string_view s = flag.short_name;
  if (!s.empty() && !(s.size() == 2 && s[0] == '-' &&
                      ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z') || (s[1] >= '0' && s[1] <= '9')))) {
    fail("a short name is - and one letter or digit");
  }
  if ((flag.value == nullptr) == (flag.set == nullptr)) fail("it takes a value or is a switch, exactly one");
  if ((flag.set != nullptr) != (flag.completes == GlobalFlagValue::none)) {
    fail("a switch completes no value, and a flag that takes one says what it names");
  }
  const std::string_view help = flag.help == nullptr ? std::string_view() : std::string_view(flag.help);
  if (help.empty() || help.size() > 200) fail("its help is one line of 1 to 200 bytes");
  for (const char c : help) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) fail("its help holds a control character");
  }
}

std::string_view value_word(GlobalFlagValue kind) {
  switch (kind) {
    case GlobalFlagValue::profile: return "profile";
    case GlobalFlagValue::file: return "file";
    case GlobalFlagValue::directory: return "directory";
    case GlobalFlagValue::text: return "text";
    case GlobalFlagValue::none: break;
  }
  return "";
}

// bash: the names in variables _tok reads (no help: bash shows none).
std::string bash_lines(std::span<const GlobalFlag> flags) {
  std::string all;
  std::string out =
      "# The global flags, written by the build from tok's table of them: every one, and those that\n"
      "# take a value by what the value names (these lists start and end with a space).\n";
  for (const GlobalFlag& flag : flags) {
    if (!all.empty()) all += ' ';
    if (!flag.short_name.empty()) all += std::string(flag.short_name) + ' ';
    all += flag.long_name;
  }
  out += "local global_flags=\"" + all + "\"\n";
  out += "local";
  for (const GlobalFlagValue kind :
       {GlobalFlagValue::profile, GlobalFlagValue::file, GlobalFlagValue::directory, GlobalFlagValue::text}) {
    out += " global_" + std::string(value_word(kind)) + "=\" ";
    for (const GlobalFlag& flag : flags) {
      if (flag.completes != kind) continue;
      if (!flag.short_name.empty()) out += std::string(flag.short_name) + ' ';
      out += std::string(flag.long_name) + ' ';
    }
    out += '"';
  }
  return out + "\n";
}

// zsh: a single-quoted word ('\'' for a quote), for _arguments, whose [explanation] needs \ and ]
// escaped.
std::string zsh_spec(std::string_view exclusions, std::string_view name, const GlobalFlag& flag) {
  std::string explanation;
  for (const char c : std::string_view(flag.help)) {
    if (c == '\\' || c == ']' || c == ':') explanation += '\\';
    explanation += c;
  }
  std::string spec = std::string(exclusions) + std::string(name);
  if (flag.value != nullptr) spec += name.substr(0, 2) == "--" ? "=" : "+";
  spec += "[" + explanation + "]";
  switch (flag.completes) {
    case GlobalFlagValue::profile: spec += ":profile:_tok_profiles"; break;
    case GlobalFlagValue::file: spec += ":file:_files"; break;
    case GlobalFlagValue::directory: spec += ":directory:_directories"; break;
    case GlobalFlagValue::text: spec += ":value: "; break;
    case GlobalFlagValue::none: break;
  }
  std::string quoted = "'";
  for (const char c : spec) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// zsh: a function that sets the caller's $global (the _arguments specs) and $global_values (the
// flags that take a value).
std::string zsh_lines(std::span<const GlobalFlag> flags) {
  std::string out =
      "# The global flags, written by the build from tok's table of them: their _arguments specs in\n"
      "# $global, and the flags that take a value in $global_values (both the caller's).\n"
      "(( $+functions[_tok_global_flags] )) ||\n"
      "_tok_global_flags() {\n"
      "  global=(\n";
  std::string values;
  for (const GlobalFlag& flag : flags) {
    const std::string exclusions =
        flag.short_name.empty() ? "" : "(" + std::string(flag.short_name) + " " + std::string(flag.long_name) + ")";
    if (!flag.short_name.empty()) out += "    " + zsh_spec(exclusions, flag.short_name, flag) + "\n";
    out += "    " + zsh_spec(exclusions, flag.long_name, flag) + "\n";
    if (flag.value != nullptr) {
      if (!flag.short_name.empty()) values += " " + std::string(flag.short_name);
      values += " " + std::string(flag.long_name);
    }
  }
  out += "  )\n";
  out += "  global_values=(" + (values.empty() ? std::string() : values.substr(1)) + ")\n";
  return out + "}\n";
}

// fish: one `complete` line a flag, its help single-quoted (\' and \\ the only escapes there).
std::string fish_lines(std::span<const GlobalFlag> flags) {
  std::string out = "# The global flags, written by the build from tok's table of them; before or after the command.\n";
  for (const GlobalFlag& flag : flags) {
    out += "complete -c tok";
    if (!flag.short_name.empty()) out += " -s " + std::string(flag.short_name.substr(1));
    out += " -l " + std::string(flag.long_name.substr(2));
    switch (flag.completes) {
      case GlobalFlagValue::profile: out += " -x -a '(__tok_profiles)'"; break;
      case GlobalFlagValue::file: out += " -r -F"; break;
      case GlobalFlagValue::directory: out += " -x -a '(__fish_complete_directories)'"; break;
      case GlobalFlagValue::text: out += " -x"; break;
      case GlobalFlagValue::none: break;
    }
    out += " -d '";
    for (const char c : std::string_view(flag.help)) {
      if (c == '\\' || c == '\'') out += '\\';
      out += c;
    }
    out += "'\n";
  }
  return out;
}

}  // namespace

std::string global_flags_completion(std::span<const GlobalFlag> flags, std::string_view shell) {
  for (const GlobalFlag& flag : flags) check_row(flag);
  if (shell == "bash") return bash_lines(flags);
  if (shell == "zsh") return zsh_lines(flags);
  if (shell == "fish") return fish_lines(flags);
  throw std::invalid_argument("no completion script for the shell '" + std::string(shell) + "'");
}

std::string fill_completion_template(std::string_view text, std::span<const GlobalFlag> flags, std::string_view shell) {
  const std::string lines = global_flags_completion(flags, shell);
  std::string out;
  bool filled = false;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    const std::size_t indent = line.find_first_not_of(" \t");
    if (indent == std::string_view::npos || line.substr(indent) != kGlobalFlagsMarker) {
      out += line;
      if (end != std::string_view::npos) out += '\n';
      continue;
    }
    if (filled) throw std::invalid_argument("the completion template holds the global flags' marker twice");
    filled = true;
    std::size_t from = 0;
    while (from < lines.size()) {
      const std::size_t stop = lines.find('\n', from);
      out += line.substr(0, indent);
      out += lines.substr(from, stop - from);
      out += '\n';
      from = stop + 1;
    }
  }
  if (!filled) throw std::invalid_argument("the completion template lacks the global flags' marker");
  return out;
}

}  // namespace tok

#pragma once
// The global flags' part of the completion scripts, written from a table of global flags. The
// build fills completions/*.in with kGlobalFlags (completions/generate.cpp), so `tok completion
// SHELL` and the installed files offer every row of it, with its help text, and complete its
// value as the row says (docs/design.md, "For a newcomer: adding things", a global flag).
#include <span>
#include <string>
#include <string_view>

#include "cli/arguments.hpp"

namespace tok {

// The line of a completion template that the global flags replace (alone on its line, indented
// as the lines that replace it).
inline constexpr std::string_view kGlobalFlagsMarker = "@TOK_GLOBAL_FLAGS@";

// The lines for `shell` (bash, zsh or fish), unindented. Throws std::invalid_argument for another
// shell or a row no script can spell as it is: names other than -x and --lower-case-words, a
// value kind that contradicts value/set, a help text that is empty, over 200 bytes or holds a
// control character.
std::string global_flags_completion(std::span<const GlobalFlag> flags, std::string_view shell);

// `text` (a template of completions/) with its one marker line replaced by those lines. Throws
// std::invalid_argument when the marker is missing or there twice.
std::string fill_completion_template(std::string_view text, std::span<const GlobalFlag> flags, std::string_view shell);

}  // namespace tok

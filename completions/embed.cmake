# Writes a C++ header holding the completion scripts, so `tok completion SHELL` prints exactly
# the files the build wrote from the templates in this folder, the ones installed (one copy of
# each). Run by the build:
#   cmake -DOUT=header -DBASH=tok.bash -DZSH=_tok -DFISH=tok.fish -P embed.cmake
set(text "// Generated from the completion scripts by completions/embed.cmake: do not edit.\n#pragma once\n#include <string_view>\n\nnamespace tok::completion_scripts {\n")
foreach(shell BASH ZSH FISH)
  file(READ "${${shell}}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(TOLOWER "${shell}" name)
  string(APPEND text "inline constexpr char ${name}_data[] = {${bytes}};\n"
                     "inline constexpr std::string_view ${name}{${name}_data, sizeof ${name}_data};\n")
endforeach()
string(APPEND text "}  // namespace tok::completion_scripts\n")
file(WRITE "${OUT}.tmp" "${text}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")

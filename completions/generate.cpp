// Writes a completion script from its template in this folder, the global flags filled in from
// tok's table of them (kGlobalFlags, cli/arguments.hpp), so the scripts cannot miss a row of it.
// Run by the build:  tok_completion_generator bash|zsh|fish TEMPLATE OUTPUT
#include <cstdio>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>

#include "cli/arguments.hpp"
#include "cli/completion_flags.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s bash|zsh|fish TEMPLATE OUTPUT\n", argv[0]);
    return 2;
  }
  const std::string shell = argv[1], input = argv[2], output = argv[3];
  try {
    std::ifstream in(input, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + input);
    std::string text;
    // A template is a few dozen KiB; a much larger file is not one.
    constexpr std::size_t kMaxTemplate = 1 << 20;
    text.resize(kMaxTemplate + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxTemplate) throw std::runtime_error(input + " is over 1 MiB");
    const std::string script = tok::fill_completion_template(text, tok::kGlobalFlags, shell);
    const std::string partial = output + ".tmp";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      out << script;
      out.close();
      if (!out) throw std::runtime_error("cannot write " + partial);
    }
    if (std::rename(partial.c_str(), output.c_str()) != 0) throw std::runtime_error("cannot write " + output);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s: %s\n", argv[0], input.c_str(), e.what());
    return 1;
  }
  return 0;
}

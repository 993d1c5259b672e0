#pragma once
// The parts of tok that a cache hit never runs live in modules beside the program (tok-curl.so:
// libcurl; tok-serve.so: the HTTP server library), loaded on first use, so that a cache hit pays
// for loading neither (docs/engine.md, "Cache hits are cheap": linking libcurl alone costs ~3 ms per process start).
#include <string>
#include <string_view>
#include <vector>

namespace tok {

struct ModuleSymbol {
  void* address = nullptr;            // the symbol, or null when it could not be loaded
  std::string path;                   // the module it came from
  std::string problem;                // why not, when null
  std::vector<std::string> searched;  // every place looked at, in order
};

// Looks for `file` next to the program, then in the install's lib/tok, and resolves `symbol`.
// A module stays loaded until the process ends.
ModuleSymbol load_module_symbol(std::string_view file, const char* symbol);

// Calls the module's factory (`extern "C" T* factory()`) and returns what it made; throws
// Error naming `what`, the reason and every path searched when the module cannot be loaded.
void* create_from_module(std::string_view file, const char* factory, std::string_view what);

}  // namespace tok

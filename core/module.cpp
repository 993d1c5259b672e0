#include "core/module.hpp"

#include <dlfcn.h>

#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"

#ifndef TOK_MODULE_DIR_FROM_BIN
#define TOK_MODULE_DIR_FROM_BIN "../lib/tok"
#endif

namespace tok {

ModuleSymbol load_module_symbol(std::string_view file, const char* symbol) {
  ModuleSymbol out;
  std::error_code ec;
  // The real program, also when it runs as a symlink (docker-credential-tok).
  const auto exe_dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  for (const auto& dir : {exe_dir, (exe_dir / TOK_MODULE_DIR_FROM_BIN).lexically_normal()}) {
    const std::filesystem::path path = dir / file;
    out.searched.push_back(path.string());
    if (!std::filesystem::exists(path, ec)) continue;
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      out.problem = why != nullptr ? why : fmt::format("cannot load {}", path.string());
      continue;
    }
    out.address = ::dlsym(handle, symbol);
    if (out.address == nullptr) {
      out.problem = fmt::format("{} has no {}", path.string(), symbol);
      continue;
    }
    out.path = path.string();
    out.problem.clear();
    return out;
  }
  if (out.problem.empty()) out.problem = fmt::format("{} not found", file);
  return out;
}

void* create_from_module(std::string_view file, const char* factory, std::string_view what) {
  const ModuleSymbol module = load_module_symbol(file, factory);
  void* made = module.address != nullptr ? reinterpret_cast<void* (*)()>(module.address)() : nullptr;
  if (made == nullptr) {
    // Not a bug of tok's but a broken install: exit 4, documented (the means to get a token are
    // unavailable), with every place looked at.
    throw Error(ErrorKind::unavailable,
                fmt::format("cannot load {}: {} (searched {})", what,
                            module.address != nullptr ? "its factory failed" : module.problem,
                            fmt::join(module.searched, ", ")),
                fmt::format("reinstall tok: the {} module belongs next to the program or in lib/tok", file));
  }
  return made;
}

}  // namespace tok

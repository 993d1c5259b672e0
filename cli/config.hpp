#pragma once
// Profiles: the INI config file, overridden key by key by command-line flags (cli.md "Profiles").
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy.hpp"
#include "providers/provider.hpp"

namespace tok {

using KeyValues = std::map<std::string, std::string, std::less<>>;

struct IniSection {
  std::string name;
  KeyValues values;
  std::map<std::string, int, std::less<>> lines;  // where each key was set, for errors
};

struct IniFile {
  std::string path;
  std::vector<IniSection> sections;
  const IniSection* find(std::string_view name) const;
};

// `[name]` sections of `key = value` lines; `;` and `#` start comments (at the start of a line, or
// after whitespace inside one); values may be double-quoted to keep such characters. Throws
// Error(usage) naming the file and line.
IniFile parse_ini(std::string_view text, const std::string& path);

// What the global flags say, before any profile is chosen.
struct GlobalOptions {
  std::string profile;      // -p; empty: $TOK_PROFILE, else "default"
  std::string config_path;  // --config; empty: $TOK_CONFIG, $XDG_CONFIG_HOME/tok/config, ~/.config/tok/config
  std::string cache_dir;    // --cache-dir; empty: $TOK_CACHE_DIR, $XDG_CACHE_HOME/tok, ~/.cache/tok
  bool verbose = false;
  bool quiet = false;
  KeyValues key_flags;  // profile keys given as flags (--token-url URL ...)
};

struct Profile {
  std::string name;
  std::string source;  // the config file, or "the command line" for ad-hoc profiles
  KeyValues values;    // the file's keys with the flags applied on top
  EngineSettings engine;
  std::string cache_key;
  std::shared_ptr<Provider> provider;  // built from `values`, ready to fetch (no I/O done yet)
};

// Every key a profile may hold: engine, provider and integration keys (also the flag names).
const std::vector<std::string>& all_profile_keys();

std::string profile_name(const GlobalOptions& options);
std::filesystem::path config_path(const GlobalOptions& options);
std::filesystem::path cache_dir(const GlobalOptions& options);

// Reads the config file if there is one; nullopt if it does not exist. Unreadable or malformed
// files are Error(usage).
std::optional<IniFile> load_config(const GlobalOptions& options);

// The chosen profile, every key checked (unknown keys, bad durations, unknown provider, bad
// URLs are Error(usage) naming the file, profile and key).
Profile resolve_profile(const GlobalOptions& options);
// The same with the config file already read by load_config (a helper that chose the profile by
// host has read it once; nullopt: there is no file).
Profile resolve_profile(const GlobalOptions& options, const std::optional<IniFile>& config);

}  // namespace tok

#pragma once
// Profiles: the INI config file, overridden key by key by command-line flags (docs/keys.md).
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
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

// Profile names are [A-Za-z0-9._@-]+ (at most 128): they reach messages, file lookups and shell
// completions, where anything else could be read as code or forge a line. Others are a usage
// error wherever they come from: a [section], -p or $TOK_PROFILE.
bool valid_profile_name(std::string_view name);

// What the global flags say, before any profile is chosen.
struct GlobalOptions {
  std::string profile;      // -p; empty: $TOK_PROFILE, else "default"
  std::string config_path;  // --config; empty: $TOK_CONFIG, $XDG_CONFIG_HOME/tok/config, ~/.config/tok/config
  std::string cache_dir;    // --cache-dir; empty: $TOK_CACHE_DIR, $XDG_CACHE_HOME/tok, ~/.cache/tok
  bool verbose = false;
  bool quiet = false;
  KeyValues key_flags;  // profile keys given as flags (--token-url URL ...)
  // Where the environment (the defaults above, the providers' variables), the clocks and the
  // draws come from (core/world.hpp): the real one, or a test's fake.
  const World* world = &real_world();
};

struct Profile {
  std::string name;
  std::string source;  // the config file, or "the command line" for ad-hoc profiles
  KeyValues values;    // the file's keys with the flags applied on top
  EngineSettings engine;
  std::string cache_key;
  std::shared_ptr<Provider> provider;  // built from `values`, ready to fetch (no I/O done yet)
  std::vector<std::string> warnings;   // settings that cannot work as meant, said once per run
};

// The candidate closest to `word` (ignoring case and - vs _), at most two edits away; for "did
// you mean" hints on near-miss keys and flags.
std::optional<std::string> did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// The key tables (providers/key_spec.hpp) of the engine and of the integrations; the providers'
// are beside each provider (ProviderInfo::keys), default_lifetime in provider_common_keys().
std::span<const KeySpec> engine_key_specs();
std::span<const KeySpec> integration_key_specs();

// Every table of this build: the engine's, provider_common_keys(), each provider's (under its
// name), the integrations'. What help, "did you mean", completions and the cache key read; tests
// pass a copy with a key added.
using KeyCatalog = std::vector<KeyTable>;
// The variables the profile reads a secret from: those its keys name (each key the tables mark
// secret_variable: client_secret_env, id_token_env...), $TOK_CLIENT_SECRET whatever the profile
// sets. tok exec and tok write --exec take them out of the command's environment.
std::vector<std::string> secret_variables(const Profile& profile);
const KeyCatalog& key_catalog();

// The tables a profile of `provider` reads: those of any profile and the provider's own.
std::vector<KeyTable> tables_for(const KeyCatalog& catalog, std::string_view provider);
// The spec of `key` in those tables (the provider's first), or null.
const KeySpec* find_key(const std::vector<KeyTable>& tables, std::string_view key);

// Every key a profile may hold: engine, provider and integration keys (also the flag names),
// sorted, with "provider".
std::vector<std::string> profile_keys(const KeyCatalog& catalog);
const std::vector<std::string>& all_profile_keys();
// The same question for one key, without building the list (the cache hit asks it per flag).
bool is_profile_key(std::string_view key);

// What follows "unknown key 'KEY' for provider 'P'": " (did you mean 'K'?)" for a near miss among
// the keys a profile of `provider` may hold, " (a key of provider X)" for another provider's key.
std::string unknown_key_hint(const KeyCatalog& catalog, std::string_view provider, std::string_view key);

// A profile's value of `key`, else its table's default (git_username, gcp_service_account...).
std::string value_or_default(const KeyValues& values, std::string_view key);

// What decides a profile's token, in table order: the provider, each cache_key key set, and the
// environment variables the provider names (never a secret's). cache_key() hashes it.
std::vector<std::pair<std::string, std::string>> cache_identity(std::string_view provider,
                                                                std::span<const KeySpec> provider_keys,
                                                                const KeyValues& values,
                                                                const std::vector<std::string_view>& environment,
                                                                const World& world = real_world());

// What `tok profiles` and `tok status` show of a profile: where its tokens come from, for whom,
// for what. Never a secret: secret keys only name a variable or a file, and of a command only the
// program is shown (its arguments may carry anything). Empty: not set.
struct ProfileFacts {
  std::string provider;
  std::string endpoint;  // token_url, issuer (discovery), the metadata URL, the az or command program
  std::string client;    // client_id, object_id, msi_res_id or account
  std::string scopes;    // scopes, scope, resource or audience
};
ProfileFacts profile_facts(const KeyValues& values);

std::string profile_name(const GlobalOptions& options);
std::filesystem::path config_path(const GlobalOptions& options);
std::filesystem::path cache_dir(const GlobalOptions& options);

// Reads the config file if there is one; nullopt if it does not exist. Unreadable or malformed
// files are Error(usage), and so is one that another user could have written: owned by neither
// you nor root, or writable by group or others (core/file_trust.hpp).
std::optional<IniFile> load_config(const GlobalOptions& options);

// The chosen profile, every key checked (unknown keys, bad durations, unknown provider, bad
// URLs are Error(usage) naming the file, profile and key).
Profile resolve_profile(const GlobalOptions& options);
// The same with the config file already read by load_config (a helper that chose the profile by
// host has read it once; nullopt: there is no file).
Profile resolve_profile(const GlobalOptions& options, const std::optional<IniFile>& config,
                        const ProviderDeps& deps = {});

}  // namespace tok

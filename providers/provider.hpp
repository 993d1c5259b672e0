#pragma once
// One small interface for every token source. A provider turns a profile's settings into a
// fresh token or a typed error; it knows nothing of caching (the engine wraps it) and never
// prints.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/token.hpp"
#include "core/world.hpp"
#include "providers/key_spec.hpp"

namespace tok {

class HttpTransport;
class JwsSigner;
class ProcessRunner;
struct RetryPolicy;

// Scopes as profiles write them: separated by spaces or commas.
std::vector<std::string> split_scopes(std::string_view text);

// What a provider is built with: the seams tests replace. A null member means the real one (the
// libcurl module loaded on first use, the real world, the posix_spawn runner). No provider has
// its own copy of any.
struct ProviderDeps {
  HttpTransport* http = nullptr;
  // Time, waiting, the retries' draws and the environment (core/world.hpp).
  const World* world = nullptr;
  ProcessRunner* runner = nullptr;
  JwsSigner* signer = nullptr;  // null: OpenSSL's, from the tok-crypto module
  // What -v shows: each request (URL without query or credentials, status, attempt, time), the
  // endpoint discovery found, each program run. Empty: nothing. Never tokens or secrets.
  std::function<void(const std::string&)> note = {};
  // The engine's refresh_timeout, which sets the fetch's deadline: a request cut short by that
  // deadline says so, naming the key and this value. 0: not known (tests).
  std::chrono::milliseconds refresh_timeout{0};
  // The profile's name, for advice that names a command to run (`tok login -p P`).
  std::string profile = {};
  // The cache entry the provider's tokens go to (its cache key) and the cache directory: a
  // login's keyring item belongs to exactly that entry (docs/login.md). Empty: not known.
  std::string cache_key = {};
  std::string cache_dir = {};

  HttpTransport& transport() const;
  const World& the_world() const { return world != nullptr ? *world : real_world(); }
  const Clock& time() const { return the_world().clock(); }
  ProcessRunner& processes() const;
  // The common HTTP retry rules (docs/engine.md). In the background a provider makes one attempt:
  // the engine's cooldown is the retry.
  RetryPolicy retry_policy(FetchMode mode) const;
};

// A profile's key/value settings, read through the provider's key table (providers/key_spec.hpp):
// bound to a table (make_provider binds the provider's), every value set is checked by its key's
// type when the settings are made, and unset keys read as the table's default. Errors are
// KeyError, naming the key; the caller (the CLI) adds the file and line. Reading a key that is
// not in the table is a bug (std::logic_error), so a provider cannot read an undeclared key.
class ProviderSettings {
 public:
  explicit ProviderSettings(std::map<std::string, std::string, std::less<>> values,
                            std::span<const KeySpec> keys = {});
  const std::map<std::string, std::string, std::less<>>& values() const noexcept { return values_; }
  // As the profile set it (even empty); nullopt: not set. No default.
  std::optional<std::string> get(std::string_view key) const;
  // Set and not empty, else KeyError "required but not set".
  std::string require(std::string_view key) const;
  // The value, else the table's default, else empty (text, url and choice keys).
  std::string text(std::string_view key) const;
  // The value, else the table's default; nullopt: neither (default_lifetime).
  std::optional<Duration> duration(std::string_view key) const;
  // An http(s) URL, https unless loopback (checked by its type); nullopt: not set.
  std::optional<std::string> url(std::string_view key) const;

 private:
  const KeySpec& spec(std::string_view key) const;
  std::map<std::string, std::string, std::less<>> values_;
  std::span<const KeySpec> keys_;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Fetches a token before the deadline, or throws tok::Error (refused, unavailable, usage).
  // The memo is what this provider stored in the cache entry last time (a discovered endpoint).
  virtual Token fetch(Deadline deadline, ProviderMemo& memo, FetchMode mode) = 0;
  // Renews the entry's `current` token. Most sources just fetch again; a login sends the refresh
  // token in current.fields (and keeps it when the answer carries no new one).
  virtual Token refresh(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token& current) {
    (void)current;
    return fetch(deadline, memo, mode);
  }
  // A source that can change behind the cache (a token file rewritten in place) says so here; the
  // engine then asks source_changed() on every cache hit, with the memo its last fetch left, and
  // refreshes at once when it is true, as for an expired token. Cheap (a stat), never the network.
  virtual bool watches_source() const { return false; }
  virtual bool source_changed(const ProviderMemo& memo) const {
    (void)memo;
    return false;
  }
  // What the engine's TokenSource calls: a refresh when the entry holds a token, else a fetch.
  Token obtain(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token* current) {
    return current != nullptr ? refresh(deadline, memo, mode, *current) : fetch(deadline, memo, mode);
  }
};

struct ProviderInfo {
  std::string_view name;
  // The keys this provider reads: its table, declared beside it (providers/key_spec.hpp).
  std::span<const KeySpec> keys;
  std::unique_ptr<Provider> (*make)(const ProviderSettings& settings, const ProviderDeps& deps);
  // Environment variables that can change which token the provider gets (DATABRICKS_HOST,
  // AZURE_CONFIG_DIR): their values go into the cache key beside the keys. Never a secret's.
  std::vector<std::string_view> environment = {};
};

// A provider's registration: its name, its key table, how it is built from its settings, and the
// environment variables of its cache key.
template <typename P>
ProviderInfo provider_info(std::string_view name, std::span<const KeySpec> keys,
                           std::vector<std::string_view> environment = {}) {
  return {name, keys,
          [](const ProviderSettings& s, const ProviderDeps& deps) -> std::unique_ptr<Provider> {
            return std::make_unique<P>(s, deps);
          },
          std::move(environment)};
}

// Every provider this build knows, by name.
const std::vector<ProviderInfo>& providers();
const ProviderInfo* find_provider(std::string_view name);

// Builds the provider named by the settings' `provider` key; validates keys and URLs but does no
// I/O, so building one costs nothing on the cache-hit path.
std::unique_ptr<Provider> make_provider(const ProviderSettings& settings, const ProviderDeps& deps = {});

}  // namespace tok

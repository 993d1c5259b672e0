#pragma once
// Where a login keeps its refresh token with token_storage = keyring (docs/login.md): the Secret
// Service (libsecret, over D-Bus) in the tok-keyring.so module, loaded by a login, a refresh or a
// logout that needs it, never by a cache hit (the access token stays in the cache file).
#include <chrono>
#include <optional>
#include <string>

#include "core/world.hpp"

namespace tok {

// Which login an item belongs to: exactly one cache entry (its key, which names the profile and
// hashes its settings) in one cache directory, so one refresh token has one entry and one
// refresh lock. The profile, issuer and client are attributes too, for a person reading the
// keyring (`secret-tool search tok-profile P`).
struct KeyringItem {
  std::string entry;      // the cache key
  std::string cache_dir;  // absolute
  std::string profile;
  std::string issuer;
  std::string client_id;
  // The item an older tok wrote, keyed by (profile, issuer, client) only and shared by every
  // entry of the profile: never read for a refresh; tok login and tok logout revoke and remove it.
  bool legacy = false;
};

// Each call waits at most `within` for the Secret Service (a hung one must not hold a refresh
// past its deadline) and then says so; the call it gave up on may still land later.
class Keyring {
 public:
  virtual ~Keyring() = default;
  // Why the Secret Service cannot be used now (no session bus, no service, no answer within
  // `within`), or nullopt when it can. The session bus's address is read from `world`.
  virtual std::optional<std::string> unreachable(std::chrono::milliseconds within, const World& world) = 0;
  // Why nothing can be written there now (a locked collection, no answer): a real write of a
  // probe item, removed again. nullopt: it can.
  virtual std::optional<std::string> unwritable(std::chrono::milliseconds within) = 0;
  // Each returns an error message on failure, or nullopt.
  virtual std::optional<std::string> store(const KeyringItem& item, const std::string& secret,
                                           std::chrono::milliseconds within) = 0;
  virtual std::optional<std::string> lookup(const KeyringItem& item, std::string& secret,
                                            std::chrono::milliseconds within) = 0;  // "" when none
  virtual std::optional<std::string> clear(const KeyringItem& item, std::chrono::milliseconds within) = 0;
};

// The Secret Service from the tok-keyring module; throws Error(storage) when it cannot be loaded.
Keyring& secret_service_keyring();

}  // namespace tok

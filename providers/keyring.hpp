#pragma once
// Where a login keeps its refresh token with token_storage = keyring (docs/login.md): the Secret
// Service (libsecret, over D-Bus) in the tok-keyring.so module, loaded by a login, a refresh or a
// logout that needs it, never by a cache hit (the access token stays in the cache file).
#include <chrono>
#include <optional>
#include <string>

#include "core/world.hpp"

namespace tok {

// Which login an item belongs to: its profile, issuer and client (the item's attributes).
struct KeyringItem {
  std::string profile;
  std::string issuer;
  std::string client_id;
};

class Keyring {
 public:
  virtual ~Keyring() = default;
  // Why the Secret Service cannot be used now (no session bus, no service, no answer within
  // `within`), or nullopt when it can. The session bus's address is read from `world`.
  virtual std::optional<std::string> unreachable(std::chrono::milliseconds within, const World& world) = 0;
  // Each returns an error message on failure, or nullopt.
  virtual std::optional<std::string> store(const KeyringItem& item, const std::string& secret) = 0;
  virtual std::optional<std::string> lookup(const KeyringItem& item, std::string& secret) = 0;  // "" when none
  virtual std::optional<std::string> clear(const KeyringItem& item) = 0;
};

// The Secret Service from the tok-keyring module; throws Error(storage) when it cannot be loaded.
Keyring& secret_service_keyring();

}  // namespace tok

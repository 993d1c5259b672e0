#pragma once
// Where a login's refresh token lives (docs/login.md, "The keyring"): the cache entry, or the
// Secret Service with an empty field in the entry saying one exists. The choice is made before
// the login's flow and recorded in the memo ("refresh_token_in").
#include <chrono>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/token.hpp"
#include "providers/keyring.hpp"
#include "providers/provider.hpp"

namespace tok {

class OAuthClient;

class LoginStorage {
 public:
  // How long tok login and tok logout wait for the Secret Service in each call (a refresh waits
  // what is left of its deadline, wait_within).
  static constexpr std::chrono::milliseconds kInteractiveWait{10'000};

  // `token_storage` from the settings; the keyring items name the client's issuer and id.
  LoginStorage(const ProviderSettings& settings, const OAuthClient& client);

  // Before a login's flow: the keyring when token_storage says so, or, unset, when a Secret
  // Service answers within 3 s and takes a write (a locked collection answers, but stores
  // nothing); else the cache file, with a warning (returned) unless the profile chose the file.
  std::optional<std::string> choose(ProviderMemo& memo) const;
  // A refresh token bound for the keyring goes there; the entry keeps an empty field that says
  // one exists (the engine holds the refresh lock for it).
  void keep(Token& token, const ProviderMemo& memo, std::chrono::milliseconds within = kInteractiveWait) const;
  // The login's refresh token, from the entry or the keyring ("" when none).
  std::string refresh_token_of(const Token& current, const ProviderMemo& memo,
                               std::chrono::milliseconds within = kInteractiveWait) const;
  void forget(const ProviderMemo& memo, std::chrono::milliseconds within = kInteractiveWait) const;
  // The refresh token an older tok kept for this profile under (profile, issuer, client) only:
  // "" when none, or when the login does not use the keyring.
  std::string legacy_refresh_token(const ProviderMemo& memo) const;
  void forget_legacy(const ProviderMemo& memo) const;

  // What is left of a refresh's deadline for a keyring call: a hung Secret Service must not
  // hold the refresh (and its lock) past refresh_timeout.
  std::chrono::milliseconds wait_within(Deadline deadline) const;

 private:
  KeyringItem entry_item() const;
  KeyringItem legacy_item() const;

  ProviderDeps deps_;
  std::string token_storage_;  // empty: the keyring when one answers, else the file
  std::string issuer_;
  std::string client_id_;
};

}  // namespace tok

#pragma once
// provider = oauth: OAuth 2.0 client credentials (RFC 6749 section 4.4), and a person's login
// (grant = authorization_code | device_code, docs/login.md): the refresh of a login with its
// refresh token, and the steps `tok login` and `tok logout` drive. Never prints: what the user
// must see (a device code) goes to a callback. Each grant or flow is a file of providers/oauth/
// over one small client (providers/oauth/client.hpp); this is their composition.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "providers/provider.hpp"

namespace tok {

ProviderInfo oauth_provider_info();

// A person's login: provider = oauth with grant = authorization_code or device_code.
bool is_login(const ProviderSettings& settings);

// RFC 8628 3.2: what the user is shown to approve a device login.
struct DeviceAuthorization {
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;  // empty when the issuer gives none
  TimePoint expires_at;
};

// What a login got: the token (its refresh token in fields[kRefreshTokenField], its ID token in
// fields[kIdTokenField]) and the ID token again, if the issuer sent one (read for the subject).
struct LoginGrant {
  Token token;
  std::string id_token;
};

// The interactive half of a login profile, for `tok login` and `tok logout`. Endpoints come from
// issuer discovery and are kept in the memo, as the provider keeps them.
class OAuthLogin {
 public:
  // Null when the profile is not a login (grant = client_credentials).
  static std::unique_ptr<OAuthLogin> from_settings(const ProviderSettings& settings, const ProviderDeps& deps);
  ~OAuthLogin();
  OAuthLogin(const OAuthLogin&) = delete;
  OAuthLogin& operator=(const OAuthLogin&) = delete;

  const std::string& grant() const;
  // RFC 8628: asks for a device code, hands it to `show`, then polls the token endpoint at the
  // issuer's interval (+5 s on slow_down) until it is approved, denied or expires.
  LoginGrant device_login(ProviderMemo& memo, const std::function<void(const DeviceAuthorization&)>& show);
  // RFC 6749 4.1 with RFC 7636 S256: the URL the browser opens.
  std::string authorization_url(ProviderMemo& memo, const std::string& redirect_uri, const std::string& state,
                                const std::string& code_challenge);
  LoginGrant redeem_code(ProviderMemo& memo, const std::string& code, const std::string& redirect_uri,
                         const std::string& code_verifier);
  // RFC 7009: revokes the refresh token. False when the issuer names no revocation endpoint.
  bool revoke(ProviderMemo& memo, const std::string& refresh_token);
  // Before the flow: where the refresh token will live (token_storage; the memo records it). A
  // warning to show when the keyring was hoped for but the file it is; Error(storage) when the
  // profile asks for the keyring and none answers within 3 s or takes no write (locked).
  std::optional<std::string> choose_storage(ProviderMemo& memo);
  // After the flow: a refresh token bound for the keyring goes there, the entry keeps an empty
  // field for it. When it cannot be stored, the refresh token is revoked (the Error says so).
  void keep(Token& token, const ProviderMemo& memo);
  // The login's refresh token, from the entry or the keyring ("" when none).
  std::string refresh_token_of(const Token& current, const ProviderMemo& memo);
  // Removes the keyring's copy, if any.
  void forget(const ProviderMemo& memo);
  // The item an older tok kept for the whole profile (docs/login.md, "The keyring"): its refresh
  // token ("" when none), and its removal. Only for a login that uses the keyring.
  std::string legacy_refresh_token(const ProviderMemo& memo);
  void forget_legacy(const ProviderMemo& memo);
  // The fixed loopback port the client is registered with (`redirect_port`); 0: any free port.
  int redirect_port() const;

 private:
  struct Parts;  // the client, the login's storage, its redirect port (providers/oauth/)
  explicit OAuthLogin(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace tok

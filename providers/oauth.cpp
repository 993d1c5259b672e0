#include "providers/oauth.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "providers/client_auth.hpp"
#include "providers/oauth/grants.hpp"

namespace tok {

namespace {

class OAuthProvider final : public Provider {
 public:
  OAuthProvider(const ProviderSettings& s, const ProviderDeps& deps) : client_(s, deps), storage_(s, client_) {
    redirect_port_of(s);  // checked for every profile, as every key is
  }

  Token fetch(Deadline deadline, ProviderMemo& memo, FetchMode mode) override {
    // A person's login starts with `tok login`, never by itself (a helper must not open a browser).
    if (client_.login()) throw not_logged_in(client_);
    return fetch_client_credentials(client_, deadline, memo, mode);
  }

  Token refresh(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token& current) override {
    if (!client_.login()) return fetch_client_credentials(client_, deadline, memo, mode);
    return refresh_login(client_, storage_, deadline, memo, mode, current);
  }

 private:
  OAuthClient client_;
  LoginStorage storage_;
};

}  // namespace

struct OAuthLogin::Parts {
  Parts(const ProviderSettings& s, const ProviderDeps& deps)
      : client(s, deps), storage(s, client), redirect_port(redirect_port_of(s)) {}
  OAuthClient client;
  LoginStorage storage;
  int redirect_port;
};

OAuthLogin::OAuthLogin(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
OAuthLogin::~OAuthLogin() = default;

std::unique_ptr<OAuthLogin> OAuthLogin::from_settings(const ProviderSettings& settings, const ProviderDeps& deps) {
  // Bound to oauth's key table, as make_provider binds it: defaults and checks from the table.
  auto parts = std::make_unique<Parts>(ProviderSettings(settings.values(), oauth_provider_info().keys), deps);
  if (!parts->client.login()) return nullptr;
  return std::unique_ptr<OAuthLogin>(new OAuthLogin(std::move(parts)));
}

const std::string& OAuthLogin::grant() const {
  return parts_->client.grant();
}
int OAuthLogin::redirect_port() const {
  return parts_->redirect_port;
}

std::optional<std::string> OAuthLogin::choose_storage(ProviderMemo& memo) {
  return parts_->storage.choose(memo);
}
void OAuthLogin::keep(Token& token, const ProviderMemo& memo) {
  try {
    parts_->storage.keep(token, memo);
  } catch (const Error& e) {
    // The login is over at the provider but cannot be kept here: revoke its refresh token
    // rather than leave a live grant nobody holds.
    ProviderMemo copy = memo;
    const auto it = token.fields.find(kRefreshTokenField);
    std::string outcome = "nothing to revoke";
    if (it != token.fields.end() && !it->second.empty()) {
      try {
        outcome = revoke_refresh_token(parts_->client, copy, it->second)
                      ? "its refresh token was revoked at the provider"
                      : "the provider names no revocation endpoint: its refresh token lives on there until it expires";
      } catch (const Error& r) {
        outcome = fmt::format("its refresh token could not be revoked either: {}", r.what());
      }
    }
    throw Error(e.kind(), fmt::format("the login cannot be kept: {}; {}", e.what(), outcome),
                "unlock the keyring (or set token_storage = file) and run tok login again");
  }
}
std::string OAuthLogin::refresh_token_of(const Token& current, const ProviderMemo& memo) {
  return parts_->storage.refresh_token_of(current, memo);
}
void OAuthLogin::forget(const ProviderMemo& memo) {
  parts_->storage.forget(memo);
}
std::string OAuthLogin::legacy_refresh_token(const ProviderMemo& memo) {
  return parts_->storage.legacy_refresh_token(memo);
}
void OAuthLogin::forget_legacy(const ProviderMemo& memo) {
  parts_->storage.forget_legacy(memo);
}

LoginGrant OAuthLogin::device_login(ProviderMemo& memo, const std::function<void(const DeviceAuthorization&)>& show) {
  return tok::device_login(parts_->client, memo, show);
}

std::string OAuthLogin::authorization_url(ProviderMemo& memo, const std::string& redirect_uri, const std::string& state,
                                          const std::string& code_challenge) {
  return tok::authorization_url(parts_->client, memo, redirect_uri, state, code_challenge);
}

LoginGrant OAuthLogin::redeem_code(ProviderMemo& memo, const std::string& code, const std::string& redirect_uri,
                                   const std::string& code_verifier) {
  return tok::redeem_code(parts_->client, memo, code, redirect_uri, code_verifier);
}

bool OAuthLogin::revoke(ProviderMemo& memo, const std::string& refresh_token) {
  return revoke_refresh_token(parts_->client, memo, refresh_token);
}

bool is_login(const ProviderSettings& settings) {
  const auto grant = settings.get("grant");
  return settings.get("provider") == "oauth" && grant && *grant != "client_credentials";
}

// provider = oauth's keys. The order is the cache key's: a new key goes at the end.
constexpr KeySpec kOAuthKeys[] = {
    shared_keys::token_url,
    {.name = "issuer",
     .owner = KeyOwner::provider,
     .type = KeyType::url,
     .exclusive_group = "endpoint",
     .cache_key = true,
     .help = "discover the token endpoint from this issuer instead"},
    shared_keys::client_id,
    client_auth_keys::client_secret_env,
    client_auth_keys::client_secret_file,
    shared_keys::scopes,
    shared_keys::audience,
    shared_keys::resource,
    client_auth_keys::auth_method,
    client_auth_keys::private_key_file,
    client_auth_keys::key_id,
    client_auth_keys::signing_alg,
    shared_keys::http_timeout,
    shared_keys::ca_bundle,
    // A person's login (docs/login.md).
    {.name = "grant",
     .owner = KeyOwner::provider,
     .type = KeyType::choice,
     .default_value = "client_credentials",
     .cache_key = true,
     .help = "client_credentials, or a person's login: authorization_code or device_code (tok login)",
     .choices = "client_credentials|authorization_code|device_code"},
    {.name = "redirect_port",
     .owner = KeyOwner::provider,
     .help = "tok login: the loopback port the client is registered with (default: any free port)"},
    {.name = "token_storage",
     .owner = KeyOwner::provider,
     .type = KeyType::choice,
     .help = "tok login: where the refresh token lives (default: the keyring if one answers, else the file)",
     .choices = "file|keyring"},
};

ProviderInfo oauth_provider_info() {
  return provider_info<OAuthProvider>("oauth", kOAuthKeys);
}

}  // namespace tok

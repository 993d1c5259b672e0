// RFC 6749 6: a login's access token renewed with its refresh token, which the issuer may rotate.
#include <fmt/format.h>

#include "providers/oauth/grants.hpp"

namespace tok {

Error not_logged_in(const OAuthClient& client) {
  Error e(ErrorKind::refused, fmt::format("not logged in: run tok login -p {}", client.deps().profile));
  e.mark_login_ended();
  return e;
}

Token refresh_login(const OAuthClient& client, const LoginStorage& storage, Deadline deadline, ProviderMemo& memo,
                    FetchMode mode, const Token& current) {
  // Every keyring call of a refresh within the refresh's time.
  const std::string refresh_token = storage.refresh_token_of(current, memo, storage.wait_within(deadline));
  if (refresh_token.empty()) throw not_logged_in(client);
  const std::string endpoint = client.endpoint("token_endpoint", deadline, memo, client.deps().retry_policy(mode));
  std::string form = "grant_type=refresh_token&refresh_token=" + form_encode(refresh_token);
  LoginGrant grant;
  try {
    grant = client.request_token(endpoint, std::move(form), {refresh_token}, deadline, mode);
  } catch (const Error& e) {
    // The code from the answer's JSON, never the message: its text is the server's.
    if (e.kind() != ErrorKind::refused || e.oauth_error() != "invalid_grant") throw;
    storage.forget(memo, storage.wait_within(deadline));
    Error ended(ErrorKind::refused,
                fmt::format("the login has ended ({}): run tok login -p {}", e.what(), client.deps().profile));
    ended.mark_login_ended();
    throw ended;
  }
  if (grant.token.fields.count(kRefreshTokenField) == 0) grant.token.fields[kRefreshTokenField] = refresh_token;
  // OpenID Connect Core 12.2: a refresh answer may carry no ID token; the previous one is kept,
  // and its own expiry governs it (docs/login.md, "ID tokens").
  if (grant.token.fields.count(kIdTokenField) == 0) {
    if (const auto old = current.fields.find(kIdTokenField); old != current.fields.end()) {
      grant.token.fields[kIdTokenField] = old->second;
      grant.token.fields[kIdTokenKeptField] = "1";
    }
  }
  storage.keep(grant.token, memo, storage.wait_within(deadline));
  return grant.token;
}

}  // namespace tok

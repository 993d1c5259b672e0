#pragma once
// The grants and flows of provider = oauth, one file each, every one over the small client
// (client.hpp). The provider and OAuthLogin (providers/oauth.cpp) only compose them.
#include <functional>
#include <string>

#include "providers/oauth/client.hpp"
#include "providers/oauth/login_storage.hpp"

namespace tok {

// client_credentials.cpp: RFC 6749 4.4, with the profile's scope, audience and resource.
Token fetch_client_credentials(const OAuthClient& client, Deadline deadline, ProviderMemo& memo, FetchMode mode);

// refresh.cpp: grant_type=refresh_token with the login's refresh token (RFC 6749 6), from the
// entry or the keyring. An answer without a new refresh token keeps the old one (a rotating one
// replaces it), one without an ID token keeps the old one, marked; the new refresh token is kept
// where the login keeps it. invalid_grant (the code, never the text) ends the login.
Token refresh_login(const OAuthClient& client, const LoginStorage& storage, Deadline deadline, ProviderMemo& memo,
                    FetchMode mode, const Token& current);
// Marked as an ended login: helpers say it in one line and answer nothing.
Error not_logged_in(const OAuthClient& client);

// device_code.cpp: RFC 8628. Asks for a device code, hands it to `show`, then polls the token
// endpoint at the issuer's interval (+5 s on slow_down) until it is approved, denied or expires.
LoginGrant device_login(const OAuthClient& client, ProviderMemo& memo,
                        const std::function<void(const DeviceAuthorization&)>& show);

// authorization_code.cpp: RFC 6749 4.1 with RFC 7636 S256. The URL the browser opens, and the
// code it brings back redeemed with its verifier.
std::string authorization_url(const OAuthClient& client, ProviderMemo& memo, const std::string& redirect_uri,
                              const std::string& state, const std::string& code_challenge);
LoginGrant redeem_code(const OAuthClient& client, ProviderMemo& memo, const std::string& code,
                       const std::string& redirect_uri, const std::string& code_verifier);
// The `redirect_port` key: the fixed loopback port the client is registered with; 0 when unset
// (any free port). Error(usage) when it is no port.
int redirect_port_of(const ProviderSettings& settings);

// revoke.cpp: RFC 7009, the refresh token revoked at the issuer's revocation endpoint. False
// when the issuer names none.
bool revoke_refresh_token(const OAuthClient& client, ProviderMemo& memo, const std::string& refresh_token);

}  // namespace tok

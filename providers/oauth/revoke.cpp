// RFC 7009: a refresh token revoked at the issuer (tok logout, or a login that cannot be kept).
#include <fmt/format.h>

#include "providers/oauth/grants.hpp"

namespace tok {

bool revoke_refresh_token(const OAuthClient& client, ProviderMemo& memo, const std::string& refresh_token) {
  const RetryPolicy retry = client.deps().retry_policy(FetchMode::blocking);
  client.endpoint("token_endpoint", client.request_deadline(), memo, retry);  // discovery fills the memo
  const std::string endpoint = memo["revocation_endpoint"];
  if (endpoint.empty()) return false;
  const std::string what = fmt::format("revoking the refresh token at {}", url_for_display(endpoint));
  std::vector<std::string> secrets;
  const HttpResponse response =
      client.post_form(endpoint, "token=" + form_encode(refresh_token) + "&token_type_hint=refresh_token",
                       OAuthClient::Proof::client, secrets, client.request_deadline(), retry, what);
  // RFC 7009 2.2: 200 whether or not the token was still valid.
  if (response.status != 200) {
    secrets.push_back(refresh_token);
    throw client.refusal(response, what, secrets);
  }
  return true;
}

}  // namespace tok

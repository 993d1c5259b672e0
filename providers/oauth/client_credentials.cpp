// RFC 6749 4.4: the client's own token, no person involved.
#include <fmt/format.h>

#include "providers/oauth/grants.hpp"

namespace tok {

Token fetch_client_credentials(const OAuthClient& client, Deadline deadline, ProviderMemo& memo, FetchMode mode) {
  std::string form = "grant_type=client_credentials";
  if (!client.scope().empty()) form += "&scope=" + form_encode(client.scope());
  if (client.audience()) form += "&audience=" + form_encode(*client.audience());
  if (client.resource()) form += "&resource=" + form_encode(*client.resource());
  const std::string endpoint = client.endpoint("token_endpoint", deadline, memo, client.deps().retry_policy(mode));
  return client.request_token(endpoint, std::move(form), {}, deadline, mode).token;
}

}  // namespace tok

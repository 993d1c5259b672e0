// RFC 8628: a login approved on another device, polled for at the issuer's pace.
#include <algorithm>

#include <fmt/format.h>

#include "providers/oauth/grants.hpp"
#include "providers/oauth_documents.hpp"

namespace tok {

namespace {

constexpr const char* kDeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code";

Error device_code_expired(const OAuthClient& client) {
  return Error(ErrorKind::refused, "the device code expired before the login was approved (expired_token)",
               fmt::format("run tok login -p {} --device again and approve it sooner", client.deps().profile));
}

}  // namespace

LoginGrant device_login(const OAuthClient& client, ProviderMemo& memo,
                        const std::function<void(const DeviceAuthorization&)>& show) {
  const ProviderDeps& deps = client.deps();
  const RetryPolicy retry = deps.retry_policy(FetchMode::blocking);
  const std::string endpoint = client.endpoint("device_authorization_endpoint", client.request_deadline(), memo, retry);
  const std::string what = fmt::format("asking {} for a device code", url_for_display(endpoint));
  // RFC 8628 3.1: the client names itself; no client authentication on this request.
  std::vector<std::string> no_secrets;
  const HttpResponse response =
      client.post_form(endpoint,
                       "client_id=" + form_encode(client.client_id()) +
                           (client.scope().empty() ? "" : "&scope=" + form_encode(client.scope())),
                       OAuthClient::Proof::none, no_secrets, client.request_deadline(), retry, what);
  if (response.status != 200) throw client.refusal(response, what, {});
  const DeviceAnswer answer = read_device_authorization(response.body, what);
  DeviceAuthorization shown;
  shown.user_code = answer.user_code;
  shown.verification_uri = answer.verification_uri;
  shown.verification_uri_complete = answer.verification_uri_complete;
  shown.expires_at = deps.time().now() + answer.expires_in;
  show(shown);

  const std::string token_endpoint = client.endpoint("token_endpoint", client.request_deadline(), memo, retry);
  std::chrono::seconds wait = answer.interval;  // at least 1 s (oauth_documents.hpp)
  for (;;) {
    // Never past the code's expiry: a wait that would reach it ends as expired, with no late poll.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(shown.expires_at - deps.time().now());
    if (left <= wait) {
      deps.the_world().sleep(std::max(std::chrono::milliseconds(0), left));
      throw device_code_expired(client);
    }
    deps.the_world().sleep(wait);
    try {
      return client.request_token(token_endpoint,
                                  fmt::format("grant_type={}&device_code={}", form_encode(kDeviceCodeGrantType),
                                              form_encode(answer.device_code)),
                                  {answer.device_code}, client.request_deadline(), FetchMode::blocking);
    } catch (const Error& e) {
      // RFC 8628 3.5, by the code in the answer's JSON (never by its text).
      const std::string& code = e.oauth_error();
      if (code == "authorization_pending") continue;
      if (code == "slow_down") {
        wait = std::min(wait + kDeviceSlowDownStep, kDeviceMaxInterval);  // for the rest of the login
        continue;
      }
      if (code == "expired_token") throw device_code_expired(client);
      if (code == "access_denied") {
        throw Error(ErrorKind::refused, "the login was denied at the provider (access_denied)",
                    fmt::format("approve the request at {}, or run tok login -p {} again",
                                url_for_display(shown.verification_uri), deps.profile));
      }
      throw;
    }
  }
}

}  // namespace tok

#pragma once
// The client every OAuth grant of provider = oauth speaks through (docs/design.md, "OAuth"): the
// profile's settings a request needs, the endpoints (token_url as set, or discovered from the
// issuer and kept in the memo) and one way to post a form to an endpoint and read its answer.
// It knows no grant: each grant or flow is a file beside it (grants.hpp).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "providers/client_auth.hpp"
#include "providers/http.hpp"
#include "providers/oauth.hpp"
#include "providers/provider.hpp"

namespace tok {

class OAuthClient {
 public:
  // Reads and checks the settings (one of token_url and issuer; a login needs an issuer). No I/O.
  OAuthClient(const ProviderSettings& s, const ProviderDeps& deps);

  // A person's login (grant = authorization_code or device_code), not client credentials.
  bool login() const { return grant_ != "client_credentials"; }
  const std::string& grant() const { return grant_; }
  const std::string& client_id() const { return client_id_; }
  const std::string& scope() const { return scope_; }  // space-joined (RFC 6749 3.3), "" when none
  const std::optional<std::string>& audience() const { return audience_; }
  const std::optional<std::string>& resource() const { return resource_; }
  // Without a trailing slash; only set when the endpoints are discovered.
  const std::optional<std::string>& issuer() const { return issuer_; }
  const ProviderDeps& deps() const { return deps_; }

  // An endpoint by its metadata name ("token_endpoint", "authorization_endpoint",
  // "device_authorization_endpoint", "revocation_endpoint"): token_url as set, or the issuer's
  // metadata (OpenID Connect discovery, then RFC 8414), read once and kept in the memo. Only
  // revocation_endpoint may come back empty (the issuer names none).
  std::string endpoint(const char* name, Deadline deadline, ProviderMemo& memo, const RetryPolicy& retry) const;

  // The deadline of one request made for tok login or tok logout: twice http_timeout from now.
  Deadline request_deadline() const;

  // Whether a posted form carries the client's proof: a public client names itself in the form
  // (RFC 6749 3.2.1), others authenticate as the profile says (client_auth.hpp).
  enum class Proof { none, client };

  // POSTs `form` (application/x-www-form-urlencoded, JSON accepted) to `endpoint` with retries.
  // With Proof::client, the secrets the proof sent are appended to `secrets`. `what` names the
  // request in messages.
  HttpResponse post_form(const std::string& endpoint, std::string form, Proof proof, std::vector<std::string>& secrets,
                         Deadline deadline, const RetryPolicy& retry, std::string_view what) const;

  // What an answer that is not the one asked for means: an RFC 6749 5.2 error (its code is the
  // Error's oauth_error(), never to be found in the text), a refusal or an outage
  // (token_endpoint_error). `secrets` are cut from anything quoted.
  Error refusal(const HttpResponse& response, std::string_view what, const std::vector<std::string>& secrets) const;

  // One authenticated request to the token endpoint: the token, with a login's refresh token and
  // ID token in its fields (LoginGrant). Anything but 2xx throws refusal(); `secrets` (a refresh
  // token, a code) are cut from anything quoted back.
  LoginGrant request_token(const std::string& endpoint, std::string form, std::vector<std::string> secrets,
                           Deadline deadline, FetchMode mode) const;

 private:
  std::string discovered(const char* name, ProviderMemo& memo) const;

  ProviderDeps deps_;
  std::optional<Duration> default_lifetime_;  // for answers that carry no lifetime
  std::string grant_;
  std::optional<std::string> token_url_;
  std::optional<std::string> issuer_;  // without a trailing slash: the well-known URLs are made from it
  std::string issuer_as_set_;          // as configured: what the metadata's issuer must be
  std::string client_id_;
  bool public_client_;
  ClientAuth auth_;
  std::optional<std::string> audience_;
  std::optional<std::string> resource_;
  Duration http_timeout_;
  std::string ca_bundle_;
  std::string scope_;
};

}  // namespace tok

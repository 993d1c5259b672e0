#include "providers/oauth/client.hpp"

#include <fmt/format.h>

#include "providers/oauth_documents.hpp"
#include "providers/token_response.hpp"
#include "providers/url.hpp"

namespace tok {

OAuthClient::OAuthClient(const ProviderSettings& s, const ProviderDeps& deps)
    : deps_(deps),
      default_lifetime_(s.duration("default_lifetime")),
      grant_(s.text("grant")),
      token_url_(s.url("token_url")),
      issuer_(s.url("issuer")),
      client_id_(s.require("client_id")),
      // A login's client is public (RFC 8252 8.4: a native app keeps no secret) unless the
      // profile names a secret or a key.
      public_client_(grant_ != "client_credentials" && !s.get("client_secret_env") && !s.get("client_secret_file") &&
                     !s.get("private_key_file")),
      auth_(ClientAuth::from_settings(s, client_id_)),
      audience_(s.get("audience")),
      resource_(s.get("resource")),
      http_timeout_(*s.duration("http_timeout")),
      ca_bundle_(s.text("ca_bundle")),
      // Space- or comma-separated in the profile; space-joined on the wire (RFC 6749 3.3).
      scope_(fmt::format("{}", fmt::join(split_scopes(s.text("scopes")), " "))) {
  if (token_url_ && issuer_) throw KeyError("token_url", "set one of 'token_url' and 'issuer', not both");
  if (!token_url_ && !issuer_) throw KeyError("token_url", "required (or set 'issuer')");
  if (login() && !issuer_) {
    throw KeyError("issuer", fmt::format("required with grant = {} (its endpoints are discovered)", grant_));
  }
  if (issuer_) issuer_as_set_ = *issuer_;
  while (issuer_ && !issuer_->empty() && issuer_->back() == '/') issuer_->pop_back();
}

Deadline OAuthClient::request_deadline() const {
  return deps_.the_world().steady_now() + 2 * http_timeout_;
}

HttpResponse OAuthClient::post_form(const std::string& endpoint, std::string form, Proof proof,
                                    std::vector<std::string>& secrets, Deadline deadline, const RetryPolicy& retry,
                                    std::string_view what) const {
  HttpRequest request;
  request.method = "POST";
  request.url = endpoint;
  request.ca_bundle = ca_bundle_;
  request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  request.body = std::move(form);
  if (proof == Proof::client) {
    if (public_client_) {
      request.body += "&client_id=" + form_encode(client_id_);
    } else {
      for (auto& s : auth_.apply(request, endpoint, deps_.time().now(), deps_)) secrets.push_back(std::move(s));
    }
  }
  return send_with_retries(deps_.transport(), deps_.the_world(), std::move(request), deadline, http_timeout_, retry,
                           what);
}

Error OAuthClient::refusal(const HttpResponse& response, std::string_view what,
                           const std::vector<std::string>& secrets) const {
  return outage_if_so(token_endpoint_error(response, std::string(what), auth_.advice(), secrets), response,
                      deps_.time().now());
}

LoginGrant OAuthClient::request_token(const std::string& endpoint, std::string form, std::vector<std::string> secrets,
                                      Deadline deadline, FetchMode mode) const {
  const std::string what = fmt::format("fetching a token from {}", printable(redacted_url(endpoint)));
  const HttpResponse response =
      post_form(endpoint, std::move(form), Proof::client, secrets, deadline, deps_.retry_policy(mode), what);
  if (response.status < 200 || response.status >= 300) throw refusal(response, what, secrets);
  LoginGrant grant;
  try {
    grant.token = parse_token_response(response.body, deps_.time().now(), {.default_lifetime = default_lifetime_});
  } catch (const Error& e) {
    throw in_context(e, what);
  }
  if (!login()) return grant;
  LoginTokenMembers members = read_login_token_members(response.body);
  const std::string& refresh_token = members.refresh_token;
  if (!refresh_token.empty()) {
    if (!is_field_value(refresh_token)) {
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: malformed response: the refresh_token is not printable ASCII "
                              "of at most 16 KiB",
                              what));
    }
    grant.token.fields[kRefreshTokenField] = refresh_token;
  }
  grant.id_token = std::move(members.id_token);
  if (!grant.id_token.empty()) {
    if (!is_field_value(grant.id_token) || !is_b64token(grant.id_token)) {
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: malformed response: the id_token is not a JWT of at most 16 KiB", what));
    }
    // Kept with the access token, in the same write (docs/login.md, "ID tokens").
    grant.token.fields[kIdTokenField] = grant.id_token;
  }
  return grant;
}

std::string OAuthClient::endpoint(const char* name, Deadline deadline, ProviderMemo& memo,
                                  const RetryPolicy& retry) const {
  if (token_url_ && std::string_view(name) == "token_endpoint") return *token_url_;
  if (memo["issuer"] == *issuer_ && !memo["token_endpoint"].empty()) {
    if (deps_.note)
      deps_.note(fmt::format("token endpoint {} (discovered earlier, kept in the cache entry)",
                             url_for_display(memo["token_endpoint"])));
    return discovered(name, memo);
  }
  HttpTransport& http = deps_.transport();
  std::string last_problem;
  for (const char* well_known : {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}) {
    HttpRequest request;
    request.url = *issuer_ + well_known;
    request.ca_bundle = ca_bundle_;
    request.headers = {"Accept: application/json"};
    const std::string what = fmt::format("discovering the token endpoint at {}", printable(redacted_url(request.url)));
    const HttpResponse response =
        send_with_retries(http, deps_.the_world(), request, deadline, http_timeout_, retry, what);
    if (response.status != 200) {
      last_problem = fmt::format("{}: HTTP {}", what, response.status);
      continue;
    }
    // The document's issuer must be the configured one, as written (RFC 8414 3.3).
    Discovery found_document = read_discovery_document(response.body, issuer_as_set_, what);
    if (!found_document.problem.empty()) {
      last_problem = std::move(found_document.problem);
      continue;
    }
    ProviderMemo found{{"issuer", *issuer_}};
    for (auto& [key, value] : found_document.endpoints) found[key] = std::move(value);
    // Only a login needs the others: a client-credentials entry keeps what it always kept.
    for (auto& [key, value] : found) {
      if (login() || key == "issuer" || key == "token_endpoint") memo[key] = value;
    }
    if (deps_.note) {
      deps_.note(fmt::format("token endpoint {} (discovered at {})", url_for_display(memo["token_endpoint"]),
                             url_for_display(request.url)));
    }
    return discovered(name, memo);
  }
  throw Error(ErrorKind::unavailable, last_problem, "check the issuer URL");
}

std::string OAuthClient::discovered(const char* name, ProviderMemo& memo) const {
  const std::string& value = memo[name];
  if (value.empty() && std::string_view(name) != "revocation_endpoint") {
    throw Error(ErrorKind::unavailable,
                fmt::format("the issuer {} names no {}", printable(redacted_url(*issuer_)), name),
                "check the issuer URL, or choose another grant");
  }
  return value;
}

}  // namespace tok

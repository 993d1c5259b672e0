#include "providers/oauth.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/client_auth.hpp"
#include "providers/token_response.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

class OAuthProvider final : public Provider {
 public:
  OAuthProvider(const ProviderSettings& s, const ProviderDeps& deps)
      : deps_(deps), default_lifetime_(s.duration("default_lifetime")),
        token_url_(s.url("token_url")),
        issuer_(s.url("issuer")),
        client_id_(s.require("client_id")),
        auth_(ClientAuth::from_settings(s, client_id_)),
        audience_(s.get("audience")),
        resource_(s.get("resource")),
        http_timeout_(*s.duration("http_timeout")),
        ca_bundle_(s.text("ca_bundle")),
        // Space- or comma-separated in the profile; space-joined on the wire (RFC 6749 3.3).
        scope_(fmt::format("{}", fmt::join(split_scopes(s.text("scopes")), " "))) {
    if (token_url_ && issuer_) throw KeyError("token_url", "set one of 'token_url' and 'issuer', not both");
    if (!token_url_ && !issuer_) throw KeyError("token_url", "required (or set 'issuer')");
    while (issuer_ && !issuer_->empty() && issuer_->back() == '/') issuer_->pop_back();
  }

  Token fetch(Deadline deadline, ProviderMemo& memo, FetchMode mode) override {
    HttpTransport& http = deps_.transport();
    const RetryPolicy retry = deps_.retry_policy(mode);
    const std::string endpoint = token_endpoint(http, deadline, memo, retry);

    HttpRequest request;
    request.method = "POST";
    request.url = endpoint;
    request.ca_bundle = ca_bundle_;
    request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
    request.body = "grant_type=client_credentials";
    if (!scope_.empty()) request.body += "&scope=" + form_encode(scope_);
    if (audience_) request.body += "&audience=" + form_encode(*audience_);
    if (resource_) request.body += "&resource=" + form_encode(*resource_);
    // What the client sent to prove itself: removed exactly from anything quoted back.
    const std::vector<std::string> sent = auth_.apply(request, endpoint, deps_.time().now(), deps_);
    const std::string what = fmt::format("fetching a token from {}", endpoint);
    const HttpResponse response = send_with_retries(http, deps_.time(), request, deadline, http_timeout_, retry, what);
    if (response.status >= 200 && response.status < 300) {
      try {
        return parse_token_response(response.body, deps_.time().now(), {.default_lifetime = default_lifetime_});
      } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("{}: {}", what, e.what()));
      }
    }
    throw outage_if_so(token_endpoint_error(response, what, auth_.advice(), sent), response, deps_.time().now());
  }

 private:
  std::string token_endpoint(HttpTransport& http, Deadline deadline, ProviderMemo& memo, const RetryPolicy& retry) const {
    if (token_url_) return *token_url_;
    if (memo["issuer"] == *issuer_ && !memo["token_endpoint"].empty()) {
      if (deps_.note) deps_.note(fmt::format("token endpoint {} (discovered earlier, kept in the cache entry)",
                                             url_for_display(memo["token_endpoint"])));
      return memo["token_endpoint"];
    }
    std::string last_problem;
    for (const char* well_known : {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}) {
      HttpRequest request;
      request.url = *issuer_ + well_known;
      request.ca_bundle = ca_bundle_;
      request.headers = {"Accept: application/json"};
      const std::string what = fmt::format("discovering the token endpoint at {}", request.url);
      const HttpResponse response = send_with_retries(http, deps_.time(), request, deadline, http_timeout_, retry, what);
      if (response.status != 200) {
        last_problem = fmt::format("{}: HTTP {}", what, response.status);
        continue;
      }
      const auto doc = nlohmann::json::parse(response.body, nullptr, false);
      const auto it = doc.is_object() ? doc.find("token_endpoint") : doc.end();
      if (!doc.is_object() || it == doc.end() || !it->is_string()) {
        last_problem = fmt::format("{}: no token_endpoint in '{}'", what, quote_body(response.body));
        continue;
      }
      std::string endpoint = it->get<std::string>();
      if (auto problem = check_url(endpoint)) {
        throw Error(ErrorKind::unavailable, fmt::format("{}: token_endpoint {}", what, *problem));
      }
      memo["issuer"] = *issuer_;
      memo["token_endpoint"] = endpoint;
      if (deps_.note) deps_.note(fmt::format("token endpoint {} (discovered at {})", url_for_display(endpoint), request.url));
      return endpoint;
    }
    throw Error(ErrorKind::unavailable, last_problem, "check the issuer URL");
  }

  ProviderDeps deps_;
  std::optional<Duration> default_lifetime_;  // for answers that carry no lifetime
  std::optional<std::string> token_url_;
  std::optional<std::string> issuer_;
  std::string client_id_;
  ClientAuth auth_;
  std::optional<std::string> audience_;
  std::optional<std::string> resource_;
  Duration http_timeout_;
  std::string ca_bundle_;
  std::string scope_;
};

}  // namespace

// provider = oauth's keys. The order is the cache key's: a new key goes at the end.
constexpr KeySpec kOAuthKeys[] = {
    shared_keys::token_url,
    {.name = "issuer", .owner = KeyOwner::provider, .type = KeyType::url, .exclusive_group = "endpoint",
     .cache_key = true, .help = "discover the token endpoint from this issuer instead"},
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
};

ProviderInfo oauth_provider_info() {
  return {"oauth",
          kOAuthKeys,
          [](const ProviderSettings& s, const ProviderDeps& deps) -> std::unique_ptr<Provider> {
            return std::make_unique<OAuthProvider>(s, deps);
          }};
}

}  // namespace tok

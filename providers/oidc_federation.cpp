#include "providers/oidc_federation.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/client_auth.hpp"
#include "providers/http.hpp"
#include "providers/secret.hpp"
#include "providers/token_response.hpp"
#include "providers/url.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

constexpr const char* kTokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr const char* kJwtTokenType = "urn:ietf:params:oauth:token-type:jwt";
constexpr std::size_t kMaxIdToken = 64 * 1024;

std::string env_or_empty(const World& world, const char* name) {
  const char* v = world.env(name);
  return v != nullptr ? v : "";
}

std::string trimmed(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// provider = oidc-federation: an ID token from the CI system (or a file) exchanged at token_url,
// so that a CI job holds no long-lived secret. The ID token is a credential: it is never printed,
// logged or cached (the cache holds only what the exchange returns).
class OidcFederationProvider final : public Provider {
 public:
  OidcFederationProvider(const ProviderSettings& s, const ProviderDeps& deps)
      : deps_(deps), default_lifetime_(s.duration("default_lifetime")),
        token_url_(*require_url(s, "token_url")),
        source_(s.text("id_token_source")),
        exchange_(s.text("exchange")),
        client_id_(s.text("client_id")),
        audience_(s.get("audience")),
        resource_(s.get("resource")),
        id_token_audience_(s.text("id_token_audience")),
        id_token_env_(s.text("id_token_env")),
        id_token_file_(s.text("id_token_file")),
        http_timeout_(*s.duration("http_timeout")),
        ca_bundle_(s.text("ca_bundle")),
        scope_(fmt::format("{}", fmt::join(split_scopes(s.text("scopes")), " "))) {
    if (source_.empty()) throw KeyError("id_token_source", "required (github, gitlab or file)");
    if (source_ == "gitlab" && id_token_env_.empty()) {
      throw KeyError("id_token_env", "required with id_token_source = gitlab (the variable named in the job's "
                                     "id_tokens:)");
    }
    if (source_ == "file" && id_token_file_.empty()) {
      throw KeyError("id_token_file", "required with id_token_source = file");
    }
    const auto misplaced = [&](const char* key, const char* source) {
      if (s.get(key) && source_ != source) {
        throw KeyError(key, fmt::format("only used with id_token_source = {}", source));
      }
    };
    misplaced("id_token_audience", "github");
    misplaced("id_token_env", "gitlab");
    misplaced("id_token_file", "file");
    if (exchange_ == "client-assertion" && client_id_.empty()) {
      throw KeyError("client_id", "required with exchange = client-assertion");
    }
  }

  Token fetch(Deadline deadline, ProviderMemo&, FetchMode mode) override {
    const RetryPolicy retry = deps_.retry_policy(mode);
    const std::string id_token = id_token_now(deadline, retry);

    HttpRequest request;
    request.method = "POST";
    request.url = token_url_;
    request.ca_bundle = ca_bundle_;
    request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
    if (exchange_ == "token-exchange") {
      // RFC 8693 2.1.
      request.body = fmt::format("grant_type={}&subject_token={}&subject_token_type={}", form_encode(kTokenExchangeGrant),
                                 form_encode(id_token), form_encode(kJwtTokenType));
      if (!client_id_.empty()) request.body += "&client_id=" + form_encode(client_id_);
    } else {
      // RFC 7521/7523 client authentication with the ID token as the assertion (Azure AD's
      // federated credentials).
      request.body = "grant_type=client_credentials&client_id=" + form_encode(client_id_) +
                     "&client_assertion_type=" + form_encode(kJwtBearerAssertionType) +
                     "&client_assertion=" + form_encode(id_token);
    }
    if (!scope_.empty()) request.body += "&scope=" + form_encode(scope_);
    if (audience_) request.body += "&audience=" + form_encode(*audience_);
    if (resource_) request.body += "&resource=" + form_encode(*resource_);
    const std::string what = fmt::format("exchanging the {} ID token at {}", source_name(), redacted_url(token_url_));
    const HttpResponse response =
        send_with_retries(deps_.transport(), deps_.the_world(), request, deadline, http_timeout_, retry, what);
    if (response.status >= 200 && response.status < 300) {
      try {
        return parse_token_response(response.body, deps_.time().now(), {.default_lifetime = default_lifetime_});
      } catch (const Error& e) {
        throw in_context(e, what);
      }
    }
    throw outage_if_so(token_endpoint_error(response, what,
                                            "check that the identity provider trusts this CI job's ID token "
                                            "(issuer, subject, audience) for this client",
                                            {id_token}),
                       response, deps_.time().now());
  }

 private:
  static std::optional<std::string> require_url(const ProviderSettings& s, const char* key) {
    s.require(key);
    return s.url(key);
  }

  std::string source_name() const {
    return source_ == "github" ? "GitHub Actions" : source_ == "gitlab" ? "GitLab CI" : "file's";
  }

  std::string id_token_now(Deadline deadline, const RetryPolicy& retry) const {
    if (source_ == "file") {
      // Re-read at every fetch: Kubernetes rotates projected tokens in place.
      std::string token = trimmed(read_small_file(id_token_file_, "id_token_file", FileRules::any_owner, kMaxIdToken));
      if (token.empty()) throw KeyError("id_token_file", fmt::format("{} is empty", id_token_file_));
      return token;
    }
    if (source_ == "gitlab") {
      std::string token = trimmed(env_or_empty(deps_.the_world(), id_token_env_.c_str()));
      if (token.empty()) {
        throw Error(ErrorKind::usage, fmt::format("key 'id_token_env': ${} is not set", id_token_env_),
                    fmt::format("declare it in the job: id_tokens: {{ {}: {{ aud: ... }} }}", id_token_env_));
      }
      return token;
    }
    return github_id_token(deadline, retry);
  }

  // GitHub Actions hands a job that has `permissions: id-token: write` a URL and a bearer token
  // to ask for an ID token; the answer is {"value": "<JWT>"}.
  std::string github_id_token(Deadline deadline, const RetryPolicy& retry) const {
    const std::string url = env_or_empty(deps_.the_world(), "ACTIONS_ID_TOKEN_REQUEST_URL");
    const std::string bearer = env_or_empty(deps_.the_world(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    if (url.empty() || bearer.empty()) {
      std::vector<std::string> missing;
      if (url.empty()) missing.emplace_back("$ACTIONS_ID_TOKEN_REQUEST_URL");
      if (bearer.empty()) missing.emplace_back("$ACTIONS_ID_TOKEN_REQUEST_TOKEN");
      throw Error(ErrorKind::usage,
                  fmt::format("id_token_source = github: {} not set (not a GitHub Actions job, or one without "
                              "the id-token permission)",
                              fmt::join(missing, " and ")),
                  "give the job 'permissions: id-token: write'");
    }
    if (auto problem = check_url(url)) {
      throw Error(ErrorKind::usage, fmt::format("$ACTIONS_ID_TOKEN_REQUEST_URL: {}", *problem));
    }
    HttpRequest request;
    request.url = url;
    if (!id_token_audience_.empty()) {
      request.url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("audience=") + form_encode(id_token_audience_);
    }
    request.ca_bundle = ca_bundle_;
    request.headers = {"Authorization: Bearer " + bearer, "Accept: application/json"};
    const std::string what = "requesting an ID token from GitHub Actions";
    const HttpResponse response =
        send_with_retries(deps_.transport(), deps_.the_world(), request, deadline, http_timeout_, retry, what);
    if (response.status == 401 || response.status == 403) {
      throw Error(ErrorKind::refused, fmt::format("{}: HTTP {}: '{}'", what, response.status, quote_body(response.body)),
                  "give the job 'permissions: id-token: write'");
    }
    if (response.status != 200) {
      throw Error(ErrorKind::unavailable, fmt::format("{}: HTTP {}: '{}'", what, response.status, quote_body(response.body)));
    }
    const auto doc = nlohmann::json::parse(response.body, nullptr, false);
    const auto value = doc.is_object() ? doc.find("value") : doc.end();
    if (!doc.is_object() || value == doc.end() || !value->is_string() || value->get_ref<const std::string&>().empty()) {
      throw Error(ErrorKind::unavailable, fmt::format("{}: malformed response: no 'value'; body: '{}'", what, quote_body(response.body)));
    }
    return value->get<std::string>();
  }

  ProviderDeps deps_;
  std::optional<Duration> default_lifetime_;  // for answers that carry no lifetime
  std::string token_url_;
  std::string source_;
  std::string exchange_;
  std::string client_id_;
  std::optional<std::string> audience_;
  std::optional<std::string> resource_;
  std::string id_token_audience_;
  std::string id_token_env_;
  std::string id_token_file_;
  Duration http_timeout_;
  std::string ca_bundle_;
  std::string scope_;
};

}  // namespace

// provider = oidc-federation's keys. The order is the cache key's: a new key goes at the end.
constexpr KeySpec kOidcFederationKeys[] = {
    shared_keys::token_url,
    {.name = "id_token_source", .owner = KeyOwner::provider, .type = KeyType::choice, .cache_key = true,
     .help = "where the CI ID token comes from: github, gitlab or file", .choices = "github|gitlab|file"},
    {.name = "id_token_audience", .owner = KeyOwner::provider, .cache_key = true,
     .help = "github: the audience of the ID token"},
    {.name = "id_token_env", .owner = KeyOwner::provider, .cache_key = true,
     .help = "gitlab: the variable named in the job's id_tokens:", .secret_variable = true},
    {.name = "id_token_file", .owner = KeyOwner::provider, .cache_key = true,
     .help = "file: the ID token's file, read at every fetch"},
    {.name = "exchange", .owner = KeyOwner::provider, .type = KeyType::choice, .default_value = "token-exchange",
     .cache_key = true, .help = "token-exchange (RFC 8693) or client-assertion",
     .choices = "token-exchange|client-assertion"},
    shared_keys::client_id,
    shared_keys::scopes,
    shared_keys::audience,
    shared_keys::resource,
    shared_keys::http_timeout,
    shared_keys::ca_bundle,
};

ProviderInfo oidc_federation_provider_info() {
  return provider_info<OidcFederationProvider>("oidc-federation", kOidcFederationKeys);
}

}  // namespace tok

#include "providers/oauth.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/client_auth.hpp"
#include "providers/http.hpp"
#include "providers/keyring.hpp"
#include "providers/oauth_documents.hpp"
#include "providers/token_response.hpp"
#include "providers/url.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

constexpr const char* kDeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";
// How long tok login and tok logout wait for the Secret Service in each call (a refresh waits
// what is left of its deadline).
constexpr std::chrono::milliseconds kKeyringWait = 10s;

// A JSON object's string member, or empty.
std::string string_member(const nlohmann::json& doc, const char* name) {
  const auto it = doc.find(name);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

// What every grant of provider = oauth shares: the endpoints (set, or discovered from the issuer
// and kept in the memo), the client and its authentication, one token request.
class OAuthClient {
 public:
  OAuthClient(const ProviderSettings& s, const ProviderDeps& deps)
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
        scope_(fmt::format("{}", fmt::join(split_scopes(s.text("scopes")), " "))),
        token_storage_(s.text("token_storage")) {
    if (token_url_ && issuer_) throw KeyError("token_url", "set one of 'token_url' and 'issuer', not both");
    if (!token_url_ && !issuer_) throw KeyError("token_url", "required (or set 'issuer')");
    if (login() && !issuer_) {
      throw KeyError("issuer", fmt::format("required with grant = {} (its endpoints are discovered)", grant_));
    }
    if (issuer_) issuer_as_set_ = *issuer_;
    while (issuer_ && !issuer_->empty() && issuer_->back() == '/') issuer_->pop_back();
    if (auto port = s.get("redirect_port")) {
      int value = -1;
      const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
      if (ec != std::errc() || end != port->data() + port->size() || value < 1 || value > 65535) {
        throw Error(ErrorKind::usage,
                    fmt::format("key 'redirect_port': '{}' is not a port (1-65535)", printable(*port)));
      }
      redirect_port_ = value;
    }
  }

  bool login() const { return grant_ != "client_credentials"; }

  // At a login, before its flow: where its refresh token will live (memo "refresh_token_in").
  // The keyring when token_storage says so, or, unset, when a Secret Service answers within 3 s
  // and takes a write (a locked collection answers, but stores nothing); else the cache file,
  // with a warning (returned) unless the profile chose the file.
  std::optional<std::string> choose_storage(ProviderMemo& memo) const {
    memo.erase("refresh_token_in");
    if (token_storage_ == "file") return std::nullopt;
    std::optional<std::string> why;
    try {
      why = secret_service_keyring().unreachable(3s, deps_.the_world());
      if (!why) why = secret_service_keyring().unwritable(3s);
    } catch (const Error& e) {
      why = e.what();
    }
    if (!why) {
      memo["refresh_token_in"] = "keyring";
      return std::nullopt;
    }
    if (token_storage_ == "keyring") {
      throw Error(ErrorKind::storage, fmt::format("token_storage = keyring, but {}", *why),
                  "start a Secret Service (gnome-keyring-daemon) in this session, or set token_storage = file");
    }
    return fmt::format(
        "{}: the refresh token is kept in the cache file, which only you can read (token_storage = "
        "file says so without this warning)",
        *why);
  }

  // A refresh token bound for the keyring goes there; the entry keeps an empty field that says
  // one exists (the engine holds the refresh lock for it).
  void keep(Token& token, const ProviderMemo& memo, std::chrono::milliseconds within = kKeyringWait) const {
    if (!in_keyring(memo)) return;
    const auto it = token.fields.find(kRefreshTokenField);
    if (it == token.fields.end() || it->second.empty()) return;
    if (auto problem = secret_service_keyring().store(keyring_item(), it->second, within)) {
      throw Error(ErrorKind::storage, *problem);
    }
    it->second.clear();
  }

  std::string refresh_token_of(const Token& current, const ProviderMemo& memo,
                               std::chrono::milliseconds within = kKeyringWait) const {
    const auto it = current.fields.find(kRefreshTokenField);
    if (it == current.fields.end()) return {};
    if (!in_keyring(memo)) return it->second;
    std::string secret;
    if (auto problem = secret_service_keyring().lookup(keyring_item(), secret, within)) {
      throw Error(ErrorKind::storage, *problem,
                  "is the Secret Service (gnome-keyring-daemon) running in this session, and unlocked?");
    }
    return secret;
  }

  void forget(const ProviderMemo& memo, std::chrono::milliseconds within = kKeyringWait) const {
    if (!in_keyring(memo)) return;
    if (auto problem = secret_service_keyring().clear(keyring_item(), within)) {
      throw Error(ErrorKind::storage, *problem);
    }
  }

  // The refresh token an older tok kept for this profile under (profile, issuer, client) only:
  // "" when none, or when the login does not use the keyring.
  std::string legacy_refresh_token(const ProviderMemo& memo) const {
    if (!in_keyring(memo)) return {};
    std::string secret;
    if (auto problem = secret_service_keyring().lookup(legacy_item(), secret, kKeyringWait)) {
      throw Error(ErrorKind::storage, *problem);
    }
    return secret;
  }

  void forget_legacy(const ProviderMemo& memo) const {
    if (!in_keyring(memo)) return;
    if (auto problem = secret_service_keyring().clear(legacy_item(), kKeyringWait)) {
      throw Error(ErrorKind::storage, *problem);
    }
  }
  const std::string& grant() const { return grant_; }
  int redirect_port() const { return redirect_port_; }

  Token client_credentials(Deadline deadline, ProviderMemo& memo, FetchMode mode) {
    std::string form = "grant_type=client_credentials";
    if (!scope_.empty()) form += "&scope=" + form_encode(scope_);
    if (audience_) form += "&audience=" + form_encode(*audience_);
    if (resource_) form += "&resource=" + form_encode(*resource_);
    const std::string endpoint = this->endpoint("token_endpoint", deadline, memo, deps_.retry_policy(mode));
    return token_request(endpoint, std::move(form), {}, deadline, mode).token;
  }

  // grant_type=refresh_token with the entry's refresh token (RFC 6749 6). An answer without a
  // new refresh token keeps the old one; invalid_grant ends the login.
  Token refresh(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token& current) {
    const std::string refresh_token = refresh_token_of(current, memo, keyring_wait(deadline));
    if (refresh_token.empty()) throw not_logged_in();
    const std::string endpoint = this->endpoint("token_endpoint", deadline, memo, deps_.retry_policy(mode));
    std::string form = "grant_type=refresh_token&refresh_token=" + form_encode(refresh_token);
    LoginGrant grant;
    try {
      grant = token_request(endpoint, std::move(form), {refresh_token}, deadline, mode);
    } catch (const Error& e) {
      // The code from the answer's JSON, never the message: its text is the server's.
      if (e.kind() != ErrorKind::refused || e.oauth_error() != "invalid_grant") throw;
      forget(memo, keyring_wait(deadline));  // within the refresh's time, as every keyring call of it
      Error ended(ErrorKind::refused,
                  fmt::format("the login has ended ({}): run tok login -p {}", e.what(), deps_.profile));
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
    keep(grant.token, memo, keyring_wait(deadline));
    return grant.token;
  }

  // Marked as an ended login: helpers say it in one line and answer nothing.
  Error not_logged_in() const {
    Error e(ErrorKind::refused, fmt::format("not logged in: run tok login -p {}", deps_.profile));
    e.mark_login_ended();
    return e;
  }

  LoginGrant device_login(ProviderMemo& memo, const std::function<void(const DeviceAuthorization&)>& show) {
    const RetryPolicy retry = deps_.retry_policy(FetchMode::blocking);
    const std::string endpoint = this->endpoint("device_authorization_endpoint", request_deadline(), memo, retry);
    HttpRequest request = form_request(
        endpoint, "client_id=" + form_encode(client_id_) + (scope_.empty() ? "" : "&scope=" + form_encode(scope_)));
    const std::string what = fmt::format("asking {} for a device code", url_for_display(endpoint));
    const HttpResponse response = send_with_retries(deps_.transport(), deps_.the_world(), request, request_deadline(),
                                                    http_timeout_, retry, what);
    if (response.status != 200)
      throw outage_if_so(token_endpoint_error(response, what, auth_.advice(), {}), response, deps_.time().now());
    const DeviceAnswer answer = read_device_authorization(response.body, what);
    DeviceAuthorization shown;
    shown.user_code = answer.user_code;
    shown.verification_uri = answer.verification_uri;
    shown.verification_uri_complete = answer.verification_uri_complete;
    shown.expires_at = deps_.time().now() + answer.expires_in;
    show(shown);

    const std::string token_endpoint = this->endpoint("token_endpoint", request_deadline(), memo, retry);
    std::chrono::seconds wait = answer.interval;  // at least 1 s (oauth_documents.hpp)
    for (;;) {
      // Never past the code's expiry: a wait that would reach it ends as expired, with no late poll.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(shown.expires_at - deps_.time().now());
      if (left <= wait) {
        pause(std::max(std::chrono::milliseconds(0), left));
        throw device_expired();
      }
      pause(wait);
      try {
        return token_request(
            token_endpoint,
            fmt::format("grant_type={}&device_code={}", form_encode(kDeviceCodeGrant), form_encode(answer.device_code)),
            {answer.device_code}, request_deadline(), FetchMode::blocking);
      } catch (const Error& e) {
        // RFC 8628 3.5, by the code in the answer's JSON (never by its text).
        const std::string& code = e.oauth_error();
        if (code == "authorization_pending") continue;
        if (code == "slow_down") {
          wait = std::min(wait + kDeviceSlowDownStep, kDeviceMaxInterval);  // for the rest of the login
          continue;
        }
        if (code == "expired_token") throw device_expired();
        if (code == "access_denied") {
          throw Error(ErrorKind::refused, "the login was denied at the provider (access_denied)",
                      fmt::format("approve the request at {}, or run tok login -p {} again",
                                  url_for_display(shown.verification_uri), deps_.profile));
        }
        throw;
      }
    }
  }

  std::string authorization_url(ProviderMemo& memo, const std::string& redirect_uri, const std::string& state,
                                const std::string& challenge) {
    const std::string endpoint =
        this->endpoint("authorization_endpoint", request_deadline(), memo, deps_.retry_policy(FetchMode::blocking));
    std::string url = endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&");
    url += "response_type=code&client_id=" + form_encode(client_id_) + "&redirect_uri=" + form_encode(redirect_uri) +
           "&state=" + form_encode(state) + "&code_challenge=" + form_encode(challenge) + "&code_challenge_method=S256";
    if (!scope_.empty()) url += "&scope=" + form_encode(scope_);
    return url;
  }

  LoginGrant redeem_code(ProviderMemo& memo, const std::string& code, const std::string& redirect_uri,
                         const std::string& verifier) {
    const std::string endpoint =
        this->endpoint("token_endpoint", request_deadline(), memo, deps_.retry_policy(FetchMode::blocking));
    return token_request(endpoint,
                         "grant_type=authorization_code&code=" + form_encode(code) +
                             "&redirect_uri=" + form_encode(redirect_uri) + "&code_verifier=" + form_encode(verifier),
                         {code, verifier}, request_deadline(), FetchMode::blocking);
  }

  bool revoke(ProviderMemo& memo, const std::string& refresh_token) {
    const RetryPolicy retry = deps_.retry_policy(FetchMode::blocking);
    this->endpoint("token_endpoint", request_deadline(), memo, retry);  // discovery fills the memo
    const std::string endpoint = memo["revocation_endpoint"];
    if (endpoint.empty()) return false;
    HttpRequest request =
        form_request(endpoint, "token=" + form_encode(refresh_token) + "&token_type_hint=refresh_token");
    const std::vector<std::string> sent = authenticate(request, endpoint);
    const std::string what = fmt::format("revoking the refresh token at {}", url_for_display(endpoint));
    const HttpResponse response = send_with_retries(deps_.transport(), deps_.the_world(), request, request_deadline(),
                                                    http_timeout_, retry, what);
    // RFC 7009 2.2: 200 whether or not the token was still valid.
    if (response.status != 200) {
      std::vector<std::string> secrets = sent;
      secrets.push_back(refresh_token);
      throw outage_if_so(token_endpoint_error(response, what, auth_.advice(), secrets), response, deps_.time().now());
    }
    return true;
  }

 private:
  static bool in_keyring(const ProviderMemo& memo) {
    const auto it = memo.find("refresh_token_in");
    return it != memo.end() && it->second == "keyring";
  }

  // The entry's own item: its cache key and cache directory (absolute, so that two spellings of
  // one directory are one), with the profile, issuer and client for people reading the keyring.
  KeyringItem keyring_item() const {
    if (deps_.cache_key.empty() || deps_.cache_dir.empty()) {
      throw Error(ErrorKind::internal, "the keyring item of a login needs its cache entry and directory");
    }
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(deps_.cache_dir, ec);
    if (!ec) dir = std::filesystem::weakly_canonical(dir, ec);
    if (ec) dir = std::filesystem::path(deps_.cache_dir).lexically_normal();
    return {deps_.cache_key, dir.string(), deps_.profile, *issuer_, client_id_};
  }
  KeyringItem legacy_item() const {
    KeyringItem item{{}, {}, deps_.profile, *issuer_, client_id_};
    item.legacy = true;
    return item;
  }

  // What is left of a refresh's deadline for a keyring call: a hung Secret Service must not
  // hold the refresh (and its lock) past refresh_timeout.
  std::chrono::milliseconds keyring_wait(Deadline deadline) const {
    const auto now = deps_.the_world().steady_now();
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
  }

  Error device_expired() const {
    return Error(ErrorKind::refused, "the device code expired before the login was approved (expired_token)",
                 fmt::format("run tok login -p {} --device again and approve it sooner", deps_.profile));
  }

  Deadline request_deadline() const { return deps_.the_world().steady_now() + 2 * http_timeout_; }

  void pause(std::chrono::milliseconds wait) const { deps_.the_world().sleep(wait); }

  HttpRequest form_request(const std::string& endpoint, std::string body) const {
    HttpRequest request;
    request.method = "POST";
    request.url = endpoint;
    request.ca_bundle = ca_bundle_;
    request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
    request.body = std::move(body);
    return request;
  }

  // The client's proof: a public client names itself in the form (RFC 6749 3.2.1), others
  // authenticate as the profile says. Returns the secrets sent.
  std::vector<std::string> authenticate(HttpRequest& request, const std::string& endpoint) const {
    if (public_client_) {
      request.body += "&client_id=" + form_encode(client_id_);
      return {};
    }
    return auth_.apply(request, endpoint, deps_.time().now(), deps_);
  }

  // One request to the token endpoint: the token, its refresh token (in fields) and ID token.
  // `secrets` (a refresh token, a code) are cut from anything quoted back.
  LoginGrant token_request(const std::string& endpoint, std::string form, std::vector<std::string> secrets,
                           Deadline deadline, FetchMode mode) {
    HttpRequest request = form_request(endpoint, std::move(form));
    for (auto& s : authenticate(request, endpoint)) secrets.push_back(std::move(s));
    const std::string what = fmt::format("fetching a token from {}", printable(redacted_url(endpoint)));
    const HttpResponse response = send_with_retries(deps_.transport(), deps_.the_world(), request, deadline,
                                                    http_timeout_, deps_.retry_policy(mode), what);
    if (response.status < 200 || response.status >= 300) {
      throw outage_if_so(token_endpoint_error(response, what, auth_.advice(), secrets), response, deps_.time().now());
    }
    LoginGrant grant;
    try {
      grant.token = parse_token_response(response.body, deps_.time().now(), {.default_lifetime = default_lifetime_});
    } catch (const Error& e) {
      throw in_context(e, what);
    }
    if (!login()) return grant;
    const auto doc = nlohmann::json::parse(response.body, nullptr, false);
    const std::string refresh_token = string_member(doc, "refresh_token");
    if (!refresh_token.empty()) {
      if (!is_field_value(refresh_token)) {
        throw Error(ErrorKind::unavailable,
                    fmt::format("{}: malformed response: the refresh_token is not printable ASCII "
                                "of at most 16 KiB",
                                what));
      }
      grant.token.fields[kRefreshTokenField] = refresh_token;
    }
    grant.id_token = string_member(doc, "id_token");
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

  // An endpoint: token_url as set, or the issuer's metadata (OpenID Connect discovery, then RFC
  // 8414), read once and kept in the memo with every endpoint a login uses.
  std::string endpoint(const char* name, Deadline deadline, ProviderMemo& memo, const RetryPolicy& retry) const {
    if (token_url_ && std::string_view(name) == "token_endpoint") return *token_url_;
    if (memo["issuer"] == *issuer_ && !memo["token_endpoint"].empty()) {
      if (deps_.note)
        deps_.note(fmt::format("token endpoint {} (discovered earlier, kept in the cache entry)",
                               url_for_display(memo["token_endpoint"])));
      return need(name, memo);
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
      Discovery discovered = read_discovery_document(response.body, issuer_as_set_, what);
      if (!discovered.problem.empty()) {
        last_problem = std::move(discovered.problem);
        continue;
      }
      ProviderMemo found{{"issuer", *issuer_}};
      for (auto& [key, value] : discovered.endpoints) found[key] = std::move(value);
      // Only a login needs the others: a client-credentials entry keeps what it always kept.
      for (auto& [key, value] : found) {
        if (login() || key == "issuer" || key == "token_endpoint") memo[key] = value;
      }
      if (deps_.note) {
        deps_.note(fmt::format("token endpoint {} (discovered at {})", url_for_display(memo["token_endpoint"]),
                               url_for_display(request.url)));
      }
      return need(name, memo);
    }
    throw Error(ErrorKind::unavailable, last_problem, "check the issuer URL");
  }

  std::string need(const char* name, ProviderMemo& memo) const {
    const std::string& value = memo[name];
    if (value.empty() && std::string_view(name) != "revocation_endpoint") {
      throw Error(ErrorKind::unavailable, fmt::format("the issuer {} names no {}", printable(redacted_url(*issuer_)), name),
                  "check the issuer URL, or choose another grant");
    }
    return value;
  }

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
  std::string token_storage_;  // empty: the keyring when one answers, else the file
  int redirect_port_ = 0;
};

namespace {

class OAuthProvider final : public Provider {
 public:
  OAuthProvider(const ProviderSettings& s, const ProviderDeps& deps) : client_(s, deps) {}

  Token fetch(Deadline deadline, ProviderMemo& memo, FetchMode mode) override {
    // A person's login starts with `tok login`, never by itself (a helper must not open a browser).
    if (client_.login()) throw client_.not_logged_in();
    return client_.client_credentials(deadline, memo, mode);
  }

  Token refresh(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token& current) override {
    if (!client_.login()) return client_.client_credentials(deadline, memo, mode);
    return client_.refresh(deadline, memo, mode, current);
  }

 private:
  OAuthClient client_;
};

}  // namespace

OAuthLogin::OAuthLogin(std::shared_ptr<OAuthClient> client) : client_(std::move(client)) {}
OAuthLogin::~OAuthLogin() = default;

std::unique_ptr<OAuthLogin> OAuthLogin::from_settings(const ProviderSettings& settings, const ProviderDeps& deps) {
  // Bound to oauth's key table, as make_provider binds it: defaults and checks from the table.
  auto client = std::make_shared<OAuthClient>(ProviderSettings(settings.values(), oauth_provider_info().keys), deps);
  if (!client->login()) return nullptr;
  return std::unique_ptr<OAuthLogin>(new OAuthLogin(std::move(client)));
}

const std::string& OAuthLogin::grant() const {
  return client_->grant();
}
int OAuthLogin::redirect_port() const {
  return client_->redirect_port();
}

std::optional<std::string> OAuthLogin::choose_storage(ProviderMemo& memo) {
  return client_->choose_storage(memo);
}
void OAuthLogin::keep(Token& token, const ProviderMemo& memo) {
  try {
    client_->keep(token, memo);
  } catch (const Error& e) {
    // The login is over at the provider but cannot be kept here: revoke its refresh token
    // rather than leave a live grant nobody holds.
    ProviderMemo copy = memo;
    const auto it = token.fields.find(kRefreshTokenField);
    std::string outcome = "nothing to revoke";
    if (it != token.fields.end() && !it->second.empty()) {
      try {
        outcome = client_->revoke(copy, it->second)
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
  return client_->refresh_token_of(current, memo);
}
void OAuthLogin::forget(const ProviderMemo& memo) {
  client_->forget(memo);
}
std::string OAuthLogin::legacy_refresh_token(const ProviderMemo& memo) {
  return client_->legacy_refresh_token(memo);
}
void OAuthLogin::forget_legacy(const ProviderMemo& memo) {
  client_->forget_legacy(memo);
}

LoginGrant OAuthLogin::device_login(ProviderMemo& memo, const std::function<void(const DeviceAuthorization&)>& show) {
  return client_->device_login(memo, show);
}

std::string OAuthLogin::authorization_url(ProviderMemo& memo, const std::string& redirect_uri, const std::string& state,
                                          const std::string& code_challenge) {
  return client_->authorization_url(memo, redirect_uri, state, code_challenge);
}

LoginGrant OAuthLogin::redeem_code(ProviderMemo& memo, const std::string& code, const std::string& redirect_uri,
                                   const std::string& code_verifier) {
  return client_->redeem_code(memo, code, redirect_uri, code_verifier);
}

bool OAuthLogin::revoke(ProviderMemo& memo, const std::string& refresh_token) {
  return client_->revoke(memo, refresh_token);
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

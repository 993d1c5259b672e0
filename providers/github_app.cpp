#include "providers/github_app.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/time_format.hpp"
#include "providers/http.hpp"
#include "providers/jws.hpp"
#include "providers/secret.hpp"
#include "providers/token_response.hpp"
#include "providers/url.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

// GitHub's REST API version and media type (docs/github.md).
constexpr const char* kAccept = "Accept: application/vnd.github+json";
constexpr const char* kApiVersion = "X-GitHub-Api-Version: 2022-11-28";
// GitHub refuses an App JWT whose iat is in its own future or whose exp is more than 10 minutes
// in its own future: 60 s back and 5 minutes ahead leave a minute's skew either way.
constexpr auto kJwtBackdate = 60s;
constexpr auto kJwtLifetime = 5min;
// An access token answer lists the repositories it covers: allow for many.
constexpr std::size_t kMaxAnswer = std::size_t{8} << 20;
constexpr std::size_t kMaxKeyBytes = 64 * 1024;

bool is_name(std::string_view s, std::string_view extra) {
  return !s.empty() && s.size() <= 100 && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

std::string trim_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// permissions = contents:read,pull_requests:write -> {"contents": "read", ...}
nlohmann::json read_permissions(const std::string& text) {
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& item : split_scopes(text)) {
    const auto colon = item.find(':');
    const std::string name = item.substr(0, colon);
    const std::string level = colon == std::string::npos ? std::string() : item.substr(colon + 1);
    if (!is_name(name, "_") || std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      throw KeyError("permissions",
                     fmt::format("'{}' is not a permission name (contents, pull_requests, ...)", printable(name)));
    }
    if (level != "read" && level != "write" && level != "admin") {
      throw KeyError("permissions",
                     fmt::format("'{}': the level is read, write or admin (NAME:LEVEL)", printable(item)));
    }
    out[name] = level;
  }
  return out;
}

class GithubAppProvider final : public Provider {
 public:
  GithubAppProvider(const ProviderSettings& s, const ProviderDeps& deps)
      : deps_(deps),
        api_url_(trim_slashes(s.text("api_url"))),
        http_timeout_(*s.duration("http_timeout")),
        ca_bundle_(s.text("ca_bundle")) {
    if (auto problem = check_url(api_url_)) throw KeyError("api_url", *problem);
    if (api_url_.find_first_of("?#") != std::string::npos) {
      throw KeyError("api_url", "the API's base URL takes no query or fragment");
    }
    // The JWT's issuer: the App's id, or its client ID (GitHub takes either).
    if (auto id = s.get("app_id")) {
      if (id->empty() || id->size() > 20 || id->find_first_not_of("0123456789") != std::string::npos) {
        throw KeyError("app_id", "the App's numeric id (its settings page: 'App ID'), or set client_id instead");
      }
      issuer_ = *id;
    } else if (auto client = s.get("client_id")) {
      if (!is_name(*client, ".")) throw KeyError("client_id", "the App's client ID (Iv23...): letters and digits");
      issuer_ = *client;
    } else {
      throw KeyError("app_id", "required (or client_id, the App's client ID)");
    }
    if (auto file = s.get("private_key_file")) {
      if (file->empty()) throw KeyError("private_key_file", "is empty");
      key_file_ = *file;
    } else if (auto env = s.get("private_key_env")) {
      if (env->empty()) throw KeyError("private_key_env", "is empty");
      key_env_ = *env;
    } else {
      throw KeyError("private_key_file",
                     "required: the App's private key (PEM), or private_key_env naming a variable "
                     "that holds it");
    }
    // The installation: its id, or where to look it up.
    if (auto id = s.get("installation_id")) {
      if (id->empty() || id->size() > 20 || id->find_first_not_of("0123456789") != std::string::npos) {
        throw KeyError("installation_id", "a number (the installation's settings URL ends with it)");
      }
      installation_id_ = *id;
    } else if (auto repo = s.get("repository")) {
      const auto slash = repo->find('/');
      if (slash == std::string::npos || !is_name(repo->substr(0, slash), "-_.") ||
          !is_name(repo->substr(slash + 1), "-_.") || repo->substr(slash + 1) == "." ||
          repo->substr(slash + 1) == "..") {
        throw KeyError("repository", "OWNER/REPO (letters, digits, '-', '_', '.')");
      }
      lookup_ = "/repos/" + *repo + "/installation";
    } else if (auto org = s.get("organization")) {
      if (!is_name(*org, "-")) throw KeyError("organization", "an organization's login (letters, digits, '-')");
      lookup_ = "/orgs/" + *org + "/installation";
    } else if (auto user = s.get("user")) {
      if (!is_name(*user, "-")) throw KeyError("user", "a user's login (letters, digits, '-')");
      lookup_ = "/users/" + *user + "/installation";
    } else {
      throw KeyError("installation_id", "required (or repository = OWNER/REPO, organization or user to look it up)");
    }
    // Narrowing: GitHub takes repository names (not OWNER/REPO) and permission levels.
    if (auto repos = s.get("repositories")) {
      nlohmann::json names = nlohmann::json::array();
      for (const std::string& name : split_scopes(*repos)) {
        if (!is_name(name, "-_.")) {
          throw KeyError("repositories",
                         fmt::format("'{}' is not a repository name (names only, without the owner)", printable(name)));
        }
        names.push_back(name);
      }
      if (!names.empty()) narrowing_["repositories"] = std::move(names);
    }
    if (auto permissions = s.get("permissions")) {
      nlohmann::json p = read_permissions(*permissions);
      if (!p.empty()) narrowing_["permissions"] = std::move(p);
    }
  }

  Token fetch(Deadline deadline, ProviderMemo& memo, FetchMode mode) override {
    const RetryPolicy retry = deps_.retry_policy(mode);
    const std::string key = private_key();
    bool looked_up_now = false;
    std::string id = installation_id_;
    if (id.empty()) {
      const auto cached = memo.find(kGithubInstallationMemo);
      if (cached != memo.end() && !cached->second.empty() &&
          cached->second.find_first_not_of("0123456789") == std::string::npos && cached->second.size() <= 20) {
        id = cached->second;
      } else {
        id = look_up_installation(key, deadline, retry);
        looked_up_now = true;
        memo[kGithubInstallationMemo] = id;
      }
    }
    try {
      return access_token(key, id, deadline, retry, memo);
    } catch (const Error& e) {
      // An installation found earlier may be gone (the App reinstalled): look it up once more.
      if (installation_id_.empty() && !looked_up_now && e.kind() == ErrorKind::refused && gone_) {
        memo.erase(kGithubInstallationMemo);
        id = look_up_installation(key, deadline, retry);
        memo[kGithubInstallationMemo] = id;
        return access_token(key, id, deadline, retry, memo);
      }
      throw;
    }
  }

 private:
  std::string private_key() const {
    if (!key_file_.empty())
      return read_small_file(key_file_, "private_key_file", FileRules::private_to_user, kMaxKeyBytes);
    const char* value = deps_.the_world().env(key_env_.c_str());
    if (value == nullptr || *value == '\0') {
      throw Error(ErrorKind::usage, fmt::format("key 'private_key_env': the variable ${} is not set", key_env_),
                  fmt::format("export {} with the App's private key (PEM), or set private_key_file", key_env_));
    }
    return value;
  }

  // A new JWT for every request: never cached, never shown (docs/github.md).
  std::string app_jwt(std::string_view key_pem) const {
    const auto now = std::chrono::floor<std::chrono::seconds>(deps_.time().now()).time_since_epoch().count();
    const nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
    const nlohmann::json payload = {{"iat", now - kJwtBackdate.count()},
                                    {"exp", now + std::chrono::seconds(kJwtLifetime).count()},
                                    {"iss", issuer_}};
    const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
    JwsSigner& signer = deps_.signer != nullptr ? *deps_.signer : openssl_signer();
    std::string problem;
    const std::string signature = signer.sign(key_pem, "RS256", input, problem);
    if (signature.empty()) {
      throw Error(ErrorKind::usage,
                  fmt::format("key '{}': cannot sign the App's JWT: {}",
                              key_file_.empty() ? "private_key_env" : "private_key_file", problem),
                  "use the private key GitHub generated for the App (a PEM RSA key)");
    }
    return input + "." + base64url_encode(signature);
  }

  HttpRequest request(std::string method, const std::string& path, const std::string& jwt) const {
    HttpRequest r;
    r.method = std::move(method);
    r.url = api_url_ + path;
    r.ca_bundle = ca_bundle_;
    r.max_body = kMaxAnswer;
    r.headers = {kAccept, kApiVersion, "Authorization: Bearer " + jwt, "User-Agent: tok"};
    return r;
  }

  std::string look_up_installation(const std::string& key, Deadline deadline, const RetryPolicy& retry) {
    const std::string jwt = app_jwt(key);
    const std::string what =
        fmt::format("looking up the App's installation at {}", url_for_display(api_url_ + lookup_));
    const HttpResponse response = send_with_retries(deps_.transport(), deps_.the_world(), request("GET", lookup_, jwt),
                                                    deadline, http_timeout_, retry, what);
    if (response.status != 200) throw github_error(response, what, jwt, true);
    const auto doc = nlohmann::json::parse(response.body, nullptr, false);
    const auto id = doc.is_object() ? doc.find("id") : doc.end();
    if (id == doc.end() || !id->is_number_unsigned() || id->get<std::uint64_t>() == 0) {
      throw Error(ErrorKind::unavailable, fmt::format("{}: malformed response: no installation 'id'; body: '{}'", what,
                                                      quote_body(response.body, {jwt})));
    }
    return std::to_string(id->get<std::uint64_t>());
  }

  Token access_token(const std::string& key, const std::string& id, Deadline deadline, const RetryPolicy& retry,
                     ProviderMemo& memo) {
    gone_ = false;
    const std::string jwt = app_jwt(key);
    const std::string path = "/app/installations/" + id + "/access_tokens";
    const std::string what = fmt::format("creating an installation token at {}", url_for_display(api_url_ + path));
    HttpRequest r = request("POST", path, jwt);
    if (!narrowing_.empty()) {
      r.headers.emplace_back("Content-Type: application/json");
      r.body = narrowing_.dump();
    }
    const HttpResponse response =
        send_with_retries(deps_.transport(), deps_.the_world(), r, deadline, http_timeout_, retry, what);
    if (response.status != 201 && response.status != 200) {
      gone_ = response.status == 404;
      throw github_error(response, what, jwt, false);
    }
    const auto doc = nlohmann::json::parse(response.body, nullptr, false);
    const auto malformed = [&](std::string_view why) {
      return Error(ErrorKind::unavailable, fmt::format("{}: malformed response: {}", what, why));
    };
    if (!doc.is_object()) throw malformed("not a JSON object");
    const auto token = doc.find("token");
    if (token == doc.end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
      throw malformed("no 'token'");
    }
    // Opaque, of any length GitHub sends (ghs_ tokens grew in 2026): only its characters are checked.
    const std::string& text = token->get_ref<const std::string&>();
    if (text.size() > 16 * 1024 || !is_b64token(text)) throw malformed("the token has characters a token cannot have");
    const auto expires = doc.find("expires_at");
    std::optional<TimePoint> expiry;
    if (expires != doc.end() && expires->is_string()) expiry = parse_rfc3339(expires->get_ref<const std::string&>());
    if (!expiry) throw malformed("no RFC 3339 'expires_at'");
    if (*expiry <= deps_.time().now()) throw malformed("'expires_at' is already past");
    // What tok status shows: the installation, the permissions granted and which repositories
    // (never a secret).
    memo[kGithubInstallationMemo] = id;
    memo.erase(kGithubPermissionsMemo);
    memo.erase(kGithubSelectionMemo);
    if (auto p = doc.find("permissions"); p != doc.end() && p->is_object()) {
      std::vector<std::string> granted;
      for (const auto& [name, level] : p->items()) {
        if (granted.size() < 64 && is_name(name, "_") && level.is_string() && is_name(level.get<std::string>(), "_")) {
          granted.push_back(name + ":" + level.get<std::string>());
        }
      }
      memo[kGithubPermissionsMemo] = fmt::format("{}", fmt::join(granted, ","));
    }
    if (auto sel = doc.find("repository_selection");
        sel != doc.end() && sel->is_string() && is_name(sel->get<std::string>(), "_")) {
      memo[kGithubSelectionMemo] = sel->get<std::string>();
    }
    Token out;
    out.access_token = text;
    out.token_type = "Bearer";
    out.expiry = expiry;
    return out;
  }

  // GitHub's error body: {"message": "...", "documentation_url": "..."}. Refusals are exit 3 and
  // never an outage; rate limits (403/429 saying so) and 5xx are an outage.
  Error github_error(const HttpResponse& response, const std::string& what, const std::string& jwt, bool lookup) const {
    const auto doc = nlohmann::json::parse(response.body, nullptr, false);
    std::string message;
    std::string docs;
    if (doc.is_object()) {
      if (auto m = doc.find("message"); m != doc.end() && m->is_string())
        message = quote_body(m->get<std::string>(), {jwt});
      if (auto d = doc.find("documentation_url"); d != doc.end() && d->is_string()) {
        const std::string& url = d->get_ref<const std::string&>();
        if (url.rfind("https://", 0) == 0 && url.size() <= 200) docs = printable(url);
      }
    }
    if (message.empty()) message = quote_body(response.body, {jwt});
    std::string text = fmt::format("{}: HTTP {}: {}", what, response.status, message);
    if (!docs.empty()) text += fmt::format(" ({})", docs);
    const TimePoint now = deps_.time().now();
    const auto remaining = response.header("x-ratelimit-remaining");
    const auto retry_after = response.header("retry-after");
    const bool rate_limited =
        response.status == 429 || (response.status == 403 && (retry_after || (remaining && *remaining == "0")));
    if (rate_limited) {
      std::optional<std::chrono::milliseconds> wait;
      if (retry_after) wait = parse_retry_after(*retry_after, now);
      if (!wait) {
        if (auto reset = response.header("x-ratelimit-reset");
            reset && !reset->empty() && reset->size() <= 12 &&
            reset->find_first_not_of("0123456789") == std::string::npos) {
          if (auto at = instant_from_epoch_seconds(std::stoll(*reset)); at && *at > now) {
            wait = std::chrono::duration_cast<std::chrono::milliseconds>(*at - now);
          }
        }
      }
      Error e(ErrorKind::unavailable, text + " (rate limited)",
              "GitHub limits requests per App; tok tries again later");
      return std::move(e.mark_outage(wait));
    }
    switch (response.status) {
      case 401:
        return Error(ErrorKind::refused, text,
                     "check app_id (or client_id) and that the private key is a current key of that App");
      case 403: return Error(ErrorKind::refused, text, "the installation may be suspended, or the App lacks access");
      case 404:
        return Error(ErrorKind::refused, text,
                     lookup ? "install the App there, or check repository, organization or user"
                            : "check installation_id: the App is not installed there (or was removed)");
      case 422:
        return Error(ErrorKind::refused, text,
                     "ask only for repositories and permissions the installation has (repositories, permissions)");
      default: break;
    }
    if (response.status >= 300 && response.status < 400) {
      return Error(ErrorKind::unavailable, text + " (redirects are not followed)", "check api_url");
    }
    if (response.status >= 400 && response.status < 500) return Error(ErrorKind::refused, text);
    return outage_if_so(Error(ErrorKind::unavailable, text), response, now);
  }

  ProviderDeps deps_;
  std::string api_url_;
  Duration http_timeout_;
  std::string ca_bundle_;
  std::string issuer_;
  std::string key_file_;
  std::string key_env_;
  std::string installation_id_;
  std::string lookup_;
  nlohmann::json narrowing_ = nlohmann::json::object();
  bool gone_ = false;  // the last access token request answered 404
};

}  // namespace

std::string github_git_host(std::string_view api_url) {
  const auto url = Url::split(api_url);
  if (!url || url->host.empty()) return {};
  std::string host = url->authority;
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (host == "api.github.com") return "github.com";
  std::string scheme = url->scheme;
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  return scheme == "http" ? "http://" + host : host;
}

// provider = github-app's keys. The order is the cache key's: a new key goes at the end.
constexpr KeySpec kGithubAppKeys[] = {
    {.name = "api_url",
     .owner = KeyOwner::provider,
     .type = KeyType::url,
     .default_value = kGithubApiUrl,
     .cache_key = true,
     .help = "GitHub's REST API (Enterprise Server: https://HOST/api/v3)"},
    {.name = "app_id",
     .owner = KeyOwner::provider,
     .exclusive_group = "app",
     .cache_key = true,
     .help = "the App's id (the JWT's issuer)"},
    {.name = "client_id",
     .owner = KeyOwner::provider,
     .exclusive_group = "app",
     .cache_key = true,
     .help = "the App's client ID, as the JWT's issuer instead of app_id"},
    {.name = "private_key_file",
     .owner = KeyOwner::provider,
     .exclusive_group = "app_key",
     .cache_key = true,
     .help = "the App's private key (PEM; only you may read it)"},
    {.name = "private_key_env",
     .owner = KeyOwner::provider,
     .exclusive_group = "app_key",
     .cache_key = true,
     .help = "variable holding the App's private key (PEM)",
     .secret_variable = true},
    {.name = "installation_id",
     .owner = KeyOwner::provider,
     .exclusive_group = "installation",
     .cache_key = true,
     .help = "the App's installation"},
    {.name = "repository",
     .owner = KeyOwner::provider,
     .exclusive_group = "installation",
     .cache_key = true,
     .help = "OWNER/REPO whose installation to use (looked up once)"},
    {.name = "organization",
     .owner = KeyOwner::provider,
     .exclusive_group = "installation",
     .cache_key = true,
     .help = "organization whose installation to use (looked up once)"},
    {.name = "user",
     .owner = KeyOwner::provider,
     .exclusive_group = "installation",
     .cache_key = true,
     .help = "user whose installation to use (looked up once)"},
    {.name = "repositories",
     .owner = KeyOwner::provider,
     .cache_key = true,
     .help = "narrow the token to these repository names"},
    {.name = "permissions",
     .owner = KeyOwner::provider,
     .cache_key = true,
     .help = "narrow the token: contents:read,pull_requests:write"},
    shared_keys::http_timeout,
    shared_keys::ca_bundle,
};

ProviderInfo github_app_provider_info() {
  return provider_info<GithubAppProvider>("github-app", kGithubAppKeys);
}

}  // namespace tok

#include "providers/metadata.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/token_response.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

enum class Flavor { databricks, azure_imds, gcp };

constexpr std::string_view kImdsAuthority = "http://169.254.169.254";
constexpr std::string_view kImdsPath = "/metadata/identity/oauth2/token";
constexpr std::string_view kGcpHost = "metadata.google.internal";
// IMDS answers 410 while it starts (up to 70 s after a VM boots, by Azure's documentation).
constexpr auto kImdsStartup = 70s;

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string without_trailing_slashes(std::string text) {
  while (!text.empty() && text.back() == '/') text.pop_back();
  return text;
}

// Where a setting came from, for errors that point at the key: "key 'url'" or
// "key 'url' (from $DATABRICKS_METADATA_SERVICE_URL)".
struct Origin {
  std::string key;
  std::string variable;  // empty: the profile itself
  std::string describe() const {
    return variable.empty() ? fmt::format("key '{}'", key) : fmt::format("key '{}' (from ${})", key, variable);
  }
  [[noreturn]] void fail(std::string_view what) const {
    throw KeyError::worded(key, fmt::format("{}: {}", describe(), what));
  }
};

// http(s); plain http only to loopback or to the link-local metadata address, which is where
// metadata services answer (by design, over plain http: nothing secret goes to them).
std::string checked_metadata_url(const std::string& url, const Origin& origin) {
  if (auto problem = check_url(url)) {
    const std::string host = lower(url_host(url));
    const bool metadata_host = host == "169.254.169.254" || host == kGcpHost;
    if (!(lower(url).rfind("http://", 0) == 0 && metadata_host)) {
      origin.fail(printable(*problem));
    }
  }
  return url;
}

// The setting from the profile, else from the environment variable.
std::optional<std::pair<std::string, Origin>> setting(const ProviderSettings& s, const char* key,
                                                      const char* variable) {
  if (auto v = s.get(key); v && !v->empty()) return std::pair{*v, Origin{key, ""}};
  if (auto v = env(variable)) return std::pair{*v, Origin{key, variable}};
  return std::nullopt;
}

// The human part of an error body: error_description, message or error from JSON, else the
// body itself; quoted (200 characters, redacted).
std::string body_message(const std::string& body, const std::vector<std::string>& secrets) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    for (const char* field : {"error_description", "message", "error"}) {
      if (auto it = j.find(field); it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
        return quote_body(it->get<std::string>(), secrets);
      }
    }
  }
  return body.empty() ? std::string("(empty body)") : quote_body(body, secrets);
}

class MetadataProvider final : public Provider {
 public:
  MetadataProvider(const ProviderSettings& s, const ProviderDeps& deps)
      : deps_(deps), default_lifetime_(s.duration("default_lifetime")), http_timeout_(*s.duration("http_timeout")), ca_bundle_(s.text("ca_bundle")) {
    const std::string flavor = s.text("flavor");
    if (flavor.empty()) throw KeyError("flavor", "required: databricks, azure-imds or gcp");
    flavor_ = flavor == "databricks" ? Flavor::databricks : flavor == "azure-imds" ? Flavor::azure_imds : Flavor::gcp;
    // Keys of another flavor are a mistake worth a clear message, not silence.
    const std::vector<std::string_view> mine =
        flavor_ == Flavor::azure_imds ? std::vector<std::string_view>{"client_id", "object_id", "msi_res_id"}
        : flavor_ == Flavor::gcp      ? std::vector<std::string_view>{"account", "scopes"}
                                      : std::vector<std::string_view>{};
    for (std::string_view key : {"client_id", "object_id", "msi_res_id", "account", "scopes"}) {
      if (s.get(key) && std::find(mine.begin(), mine.end(), key) == mine.end()) {
        throw KeyError(std::string(key), fmt::format("not used by flavor '{}'", flavor));
      }
    }
    switch (flavor_) {
      case Flavor::databricks: init_databricks(s); break;
      case Flavor::azure_imds: init_imds(s); break;
      case Flavor::gcp: init_gcp(s); break;
    }
  }

  Token fetch(Deadline deadline, ProviderMemo&, FetchMode mode) override {
    HttpRequest request;
    request.url = url_;
    request.ca_bundle = ca_bundle_;
    request.headers = {"Accept: application/json"};
    RetryPolicy retry = deps_.retry_policy(mode);
    std::vector<std::string> secrets;
    switch (flavor_) {
      case Flavor::databricks:
        request.headers.push_back("X-Databricks-Metadata-Version: 1");
        request.headers.push_back("X-Databricks-Host: " + databricks_host_);
        break;
      case Flavor::azure_imds: {
        request.url += (url_.find('?') == std::string::npos ? "?" : "&");
        request.url += app_service_ ? "api-version=2019-08-01" : "api-version=2018-02-01";
        request.url += "&resource=" + form_encode(resource_);
        if (!identity_name_.empty()) request.url += "&" + identity_name_ + "=" + form_encode(identity_value_);
        if (app_service_) {
          // Read now, not kept: the header value is a secret of the App Service sandbox.
          const auto header = env("IDENTITY_HEADER");
          if (!header) throw Error(ErrorKind::usage, "$IDENTITY_HEADER is no longer set");
          request.headers.push_back("X-IDENTITY-HEADER: " + *header);
          secrets.push_back(*header);
        } else {
          request.headers.push_back("Metadata: true");
          retry.retry_status = [](long status) {
            return status == 404 || status == 408 || status == 410 || status == 429 || status >= 500;
          };
          retry.persistent_status = 410;
          retry.persist_for = kImdsStartup;
        }
        break;
      }
      case Flavor::gcp: request.headers.push_back("Metadata-Flavor: Google"); break;
    }
    const std::string what = fmt::format("fetching a token from {}", printable(url_));
    const HttpResponse response =
        send_with_retries(deps_.transport(), deps_.time(), request, deadline, http_timeout_, retry, what);
    return answer(response, what, secrets);
  }

 private:
  void init_databricks(const ProviderSettings& s) {
    auto url = setting(s, "url", "DATABRICKS_METADATA_SERVICE_URL");
    if (!url) {
      throw KeyError("url", "required for flavor 'databricks' (or set $DATABRICKS_METADATA_SERVICE_URL)");
    }
    const auto& [value, origin] = *url;
    // The Databricks SDKs' rule: this protocol hands out workspace tokens to whoever asks, so it
    // is only ever spoken to this machine.
    const std::string scheme = lower(value.substr(0, value.find("://") == std::string::npos ? 0 : value.find("://")));
    const std::string host = lower(url_host(value));
    if ((scheme != "http" && scheme != "https") || (host != "localhost" && host != "127.0.0.1" && host != "[::1]")) {
      origin.fail(fmt::format("'{}' is not on this machine: the Databricks metadata service must be at "
                              "localhost, 127.0.0.1 or [::1]",
                              printable(value)));
    }
    url_ = value;
    auto host_setting = setting(s, "host", "DATABRICKS_HOST");
    if (!host_setting) {
      throw KeyError("host", "required for flavor 'databricks': the workspace URL (or set $DATABRICKS_HOST)");
    }
    databricks_host_ = host_setting->first;
    if (std::any_of(databricks_host_.begin(), databricks_host_.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
      host_setting->second.fail("contains control characters");
    }
  }

  void init_imds(const ProviderSettings& s) {
    resource_ = s.require("resource");
    for (const char* key : {"client_id", "object_id", "msi_res_id"}) {
      if (auto v = s.get(key)) {
        if (!identity_name_.empty()) {
          throw KeyError(key, "set one of client_id, object_id and msi_res_id, not several");
        }
        if (v->empty()) throw KeyError(key, "empty");
        identity_name_ = key;
        identity_value_ = *v;
      }
    }
    if (auto url = s.get("url")) {
      url_ = checked_metadata_url(*url, Origin{"url", ""});
    } else if (auto endpoint = env("IDENTITY_ENDPOINT"); endpoint && env("IDENTITY_HEADER")) {
      // App Service and Functions: a local endpoint with its own API version and names.
      app_service_ = true;
      url_ = checked_metadata_url(*endpoint, Origin{"url", "IDENTITY_ENDPOINT"});
      if (identity_name_ == "object_id") identity_name_ = "principal_id";
      if (identity_name_ == "msi_res_id") identity_name_ = "mi_res_id";
    } else if (auto authority = env("AZURE_POD_IDENTITY_AUTHORITY_HOST")) {
      url_ = checked_metadata_url(without_trailing_slashes(*authority) + std::string(kImdsPath),
                                  Origin{"url", "AZURE_POD_IDENTITY_AUTHORITY_HOST"});
    } else {
      url_ = std::string(kImdsAuthority) + std::string(kImdsPath);
    }
  }

  void init_gcp(const ProviderSettings& s) {
    account_ = s.text("account");
    if (account_.empty() || !std::all_of(account_.begin(), account_.end(), [](unsigned char c) {
          return std::isalnum(c) || c == '@' || c == '.' || c == '_' || c == '-' || c == '+';
        })) {
      throw KeyError("account", fmt::format("'{}' is not a service account e-mail or 'default'", printable(account_)));
    }
    std::string word;
    for (char c : s.text("scopes") + " ") {
      if (c == ' ' || c == ',' || c == '\t') {
        if (!word.empty()) scopes_.push_back(word);
        word.clear();
      } else {
        word += c;
      }
    }
    std::string base;
    Origin origin{"url", ""};
    if (auto url = s.get("url")) {
      base = *url;
    } else {
      // GCE_METADATA_HOST (newer) or GCE_METADATA_ROOT (older): host[:port], as google-auth reads them.
      for (const char* variable : {"GCE_METADATA_HOST", "GCE_METADATA_ROOT"}) {
        if (auto host = env(variable)) {
          base = host->find("://") == std::string::npos ? "http://" + *host : *host;
          origin.variable = variable;
          break;
        }
      }
      if (base.empty()) base = "http://" + std::string(kGcpHost);
    }
    base_ = checked_metadata_url(without_trailing_slashes(base), origin);
    url_ = base_ + "/computeMetadata/v1/instance/service-accounts/" + account_ + "/token";
    if (!scopes_.empty()) {
      url_ += "?scopes=";
      for (std::size_t i = 0; i < scopes_.size(); ++i) url_ += (i ? "," : "") + form_encode(scopes_[i]);
    }
  }

  Token answer(const HttpResponse& response, const std::string& what, const std::vector<std::string>& secrets) const {
    const long status = response.status;
    if (flavor_ == Flavor::gcp && response.header("metadata-flavor") != std::optional<std::string>("Google")) {
      // Anything can answer on port 80 of a name; only the metadata server says what it is.
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: HTTP {} without the header 'Metadata-Flavor: Google': not a GCP metadata server",
                              what, status),
                  "check url, $GCE_METADATA_HOST or $GCE_METADATA_ROOT");
    }
    if (status >= 200 && status < 300) {
      try {
        return parse_token_response(response.body, deps_.time().now(), {.default_lifetime = default_lifetime_});
      } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("{}: {}", what, e.what()));
      }
    }
    const std::string message = body_message(response.body, secrets);
    if (status >= 300 && status < 400) {
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: HTTP {} redirect refused (redirects are never followed)", what, status),
                  "set url to the service itself");
    }
    switch (flavor_) {
      case Flavor::databricks:
        if (status == 404) {
          throw Error(ErrorKind::unavailable,
                      fmt::format("{}: HTTP 404: metadata service not available at {}", what, printable(url_)),
                      "check url or $DATABRICKS_METADATA_SERVICE_URL");
        }
        if (status == 400 || status == 401 || status == 403) {
          throw Error(ErrorKind::refused, fmt::format("{}: HTTP {}: {}", what, status, message),
                      "check host (or $DATABRICKS_HOST): the workspace URL the token is for");
        }
        break;
      case Flavor::azure_imds:
        if (status == 400 && !app_service_) {
          throw Error(ErrorKind::refused,
                      fmt::format("{}: HTTP 400: no managed identity {} this resource: {}", what,
                                  identity_name_.empty() ? "is assigned to" : "with that " + identity_name_ + " is on",
                                  message),
                      "assign a managed identity to the VM, or check client_id, object_id or msi_res_id");
        }
        if (status == 400 || status == 401 || status == 403) {
          throw Error(ErrorKind::refused, fmt::format("{}: HTTP {}: {}", what, status, message));
        }
        break;
      case Flavor::gcp:
        if (status == 404) {
          throw Error(
              ErrorKind::refused,
              fmt::format("{}: HTTP 404: no service account '{}' on this instance: {}", what, account_, message),
              "check account ('default' or the service account's e-mail)");
        }
        if (status == 400 || status == 401 || status == 403) {
          throw Error(ErrorKind::refused, fmt::format("{}: HTTP {}: {}", what, status, message));
        }
        break;
    }
    throw outage_if_so(Error(ErrorKind::unavailable, fmt::format("{}: HTTP {}: {}", what, status, message)), response,
                       deps_.time().now());
  }

  ProviderDeps deps_;
  std::optional<Duration> default_lifetime_;  // for answers that carry no lifetime
  Flavor flavor_ = Flavor::databricks;
  Duration http_timeout_;
  std::string ca_bundle_;
  std::string url_;  // the token URL, without the IMDS query
  // databricks
  std::string databricks_host_;
  // azure-imds
  std::string resource_;
  std::string identity_name_;  // client_id, object_id or msi_res_id (App Service: principal_id, mi_res_id)
  std::string identity_value_;
  bool app_service_ = false;
  // gcp
  std::string base_;
  std::string account_;
  std::vector<std::string> scopes_;
};

}  // namespace

ProviderInfo metadata_provider_info() {
  return {"metadata",
          metadata_keys(),
          [](const ProviderSettings& s, const ProviderDeps& deps) -> std::unique_ptr<Provider> {
            return std::make_unique<MetadataProvider>(s, deps);
          },
          // Each can point the profile at another service or workspace; IDENTITY_HEADER is a
          // secret and stays out of the cache key.
          {"DATABRICKS_METADATA_SERVICE_URL", "DATABRICKS_HOST", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
           "IDENTITY_ENDPOINT", "GCE_METADATA_HOST", "GCE_METADATA_ROOT"}};
}

}  // namespace tok

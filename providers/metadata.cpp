#include "providers/metadata.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/metadata/azure_app_service.hpp"
#include "providers/metadata/azure_imds.hpp"
#include "providers/metadata/databricks.hpp"
#include "providers/metadata/gcp.hpp"
#include "providers/url.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

enum class Flavor { databricks, azure_imds, gcp };

std::optional<std::string> env(const World& world, const char* name) {
  const char* v = world.env(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
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
    const auto parts = Url::split(url);
    const bool metadata_host = parts && (lowercase(parts->host) == azure::kImdsHost || lowercase(parts->host) == gcp::kHost);
    if (!(metadata_host && lowercase(parts->scheme) == "http")) {
      origin.fail(printable(*problem));
    }
  }
  return url;
}

// The setting from the profile, else from the environment variable.
std::optional<std::pair<std::string, Origin>> setting(const ProviderSettings& s, const char* key, const char* variable,
                                                      const World& world) {
  if (auto v = s.get(key); v && !v->empty()) return std::pair{*v, Origin{key, ""}};
  if (auto v = env(world, variable)) return std::pair{*v, Origin{key, variable}};
  return std::nullopt;
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
        : flavor_ == Flavor::gcp      ? std::vector<std::string_view>{"account", "scopes", "id_token_audience"}
                                      : std::vector<std::string_view>{};
    for (std::string_view key : {"client_id", "object_id", "msi_res_id", "account", "scopes", "id_token_audience"}) {
      if (s.get(key) && std::find(mine.begin(), mine.end(), key) == mine.end()) {
        throw KeyError(std::string(key), fmt::format("not used by flavor '{}'", flavor));
      }
    }
    switch (flavor_) {
      case Flavor::databricks: source_ = databricks_source(s, deps_.the_world()); break;
      case Flavor::azure_imds: source_ = azure_source(s, deps_.the_world()); break;
      case Flavor::gcp: source_ = gcp_source(s, deps_.the_world()); break;
    }
  }

  Token fetch(Deadline deadline, ProviderMemo&, FetchMode mode) override {
    std::vector<std::string> secrets;
    HttpRequest request = source_->request(secrets);
    request.ca_bundle = ca_bundle_;
    RetryPolicy retry = deps_.retry_policy(mode);
    source_->adjust_retry(retry);
    std::string what = fmt::format("fetching a token from {}", printable(redacted_url(source_->url())));
    AnswerContext context{std::move(what), std::move(secrets), {}, default_lifetime_};
    const HttpResponse response =
        send_with_retries(deps_.transport(), deps_.the_world(), request, deadline, http_timeout_, retry, context.what);
    context.now = deps_.time().now();
    return source_->read(response, context);
  }

 private:
  static std::unique_ptr<MetadataSource> databricks_source(const ProviderSettings& s, const World& world) {
    auto url = setting(s, "url", "DATABRICKS_METADATA_SERVICE_URL", world);
    if (!url) {
      throw KeyError("url", "required for flavor 'databricks' (or set $DATABRICKS_METADATA_SERVICE_URL)");
    }
    const auto& [value, origin] = *url;
    // The Databricks SDKs' rule: this protocol hands out workspace tokens to whoever asks, so it
    // is only ever spoken to this machine.
    const auto parts = Url::split(value);
    const std::string scheme = parts ? lowercase(parts->scheme) : std::string();
    const std::string host = parts ? lowercase(parts->host) : std::string();
    if ((scheme != "http" && scheme != "https") || (host != "localhost" && host != "127.0.0.1" && host != "[::1]")) {
      origin.fail(fmt::format("'{}' is not on this machine: the Databricks metadata service must be at "
                              "localhost, 127.0.0.1 or [::1]",
                              printable(value)));
    }
    auto host_setting = setting(s, "host", "DATABRICKS_HOST", world);
    if (!host_setting) {
      throw KeyError("host", "required for flavor 'databricks': the workspace URL (or set $DATABRICKS_HOST)");
    }
    const std::string& workspace = host_setting->first;
    if (std::any_of(workspace.begin(), workspace.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
      host_setting->second.fail("contains control characters");
    }
    return std::make_unique<databricks::Source>(value, workspace);
  }

  // App Service when its sandbox's variables are set, else IMDS (azure-identity's order).
  static std::unique_ptr<MetadataSource> azure_source(const ProviderSettings& s, const World& world) {
    const std::string resource = s.require("resource");
    azure::TokenQuery query{resource, "", ""};
    for (const char* key : {"client_id", "object_id", "msi_res_id"}) {
      if (auto v = s.get(key)) {
        if (!query.identity_name.empty()) {
          throw KeyError(key, "set one of client_id, object_id and msi_res_id, not several");
        }
        if (v->empty()) throw KeyError(key, "empty");
        query.identity_name = key;
        query.identity_value = *v;
      }
    }
    std::string url;
    if (auto setting = s.get("url")) {
      url = checked_metadata_url(*setting, Origin{"url", ""});
    } else if (auto endpoint = env(world, azure::kEndpointVariable); endpoint && env(world, azure::kHeaderVariable)) {
      // App Service and Functions: a local endpoint with its own API version and names.
      return std::make_unique<azure::AppServiceSource>(
          checked_metadata_url(*endpoint, Origin{"url", azure::kEndpointVariable}), std::move(query), world);
    } else if (auto authority = env(world, "AZURE_POD_IDENTITY_AUTHORITY_HOST")) {
      url = checked_metadata_url(without_trailing_slashes(*authority) + std::string(azure::kImdsPath),
                                 Origin{"url", "AZURE_POD_IDENTITY_AUTHORITY_HOST"});
    } else {
      url = std::string(azure::kImdsAuthority) + std::string(azure::kImdsPath);
    }
    return std::make_unique<azure::ImdsSource>(url, std::move(query));
  }

  static std::unique_ptr<MetadataSource> gcp_source(const ProviderSettings& s, const World& world) {
    const std::string account = s.text("account");
    if (account.empty() || !std::all_of(account.begin(), account.end(), [](unsigned char c) {
          return std::isalnum(c) || c == '@' || c == '.' || c == '_' || c == '-' || c == '+';
        })) {
      throw KeyError("account", fmt::format("'{}' is not a service account e-mail or 'default'", printable(account)));
    }
    std::string base;
    Origin origin{"url", ""};
    if (auto url = s.get("url")) {
      base = *url;
    } else {
      // GCE_METADATA_HOST (newer) or GCE_METADATA_ROOT (older): host[:port], as google-auth reads them.
      for (const char* variable : {"GCE_METADATA_HOST", "GCE_METADATA_ROOT"}) {
        if (auto host = env(world, variable)) {
          base = host->find("://") == std::string::npos ? "http://" + *host : *host;
          origin.variable = variable;
          break;
        }
      }
      if (base.empty()) base = "http://" + std::string(gcp::kHost);
    }
    const std::string audience = s.text("id_token_audience");
    if (s.get("id_token_audience") && audience.empty()) throw KeyError("id_token_audience", "empty");
    if (!audience.empty() && !s.text("scopes").empty()) {
      // An identity token has an audience, not scopes (the endpoint takes none).
      throw KeyError("scopes", "not used with id_token_audience: an identity token has an audience, not scopes");
    }
    return std::make_unique<gcp::Source>(checked_metadata_url(without_trailing_slashes(base), origin), account,
                                         split_scopes(s.text("scopes")), audience);
  }

  ProviderDeps deps_;
  std::optional<Duration> default_lifetime_;  // for answers that carry no lifetime
  Flavor flavor_ = Flavor::databricks;
  Duration http_timeout_;
  std::string ca_bundle_;
  std::unique_ptr<MetadataSource> source_;  // the protocol: one class per source
};

}  // namespace

ProviderInfo metadata_provider_info() {
  // Each can point the profile at another service or workspace; IDENTITY_HEADER is a secret and
  // stays out of the cache key.
  return provider_info<MetadataProvider>("metadata", metadata_keys(),
                                         {"DATABRICKS_METADATA_SERVICE_URL", "DATABRICKS_HOST",
                                          "AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT",
                                          "GCE_METADATA_HOST", "GCE_METADATA_ROOT"});
}

}  // namespace tok

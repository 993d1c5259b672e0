#pragma once
// The metadata-service protocols `tok serve` answers (integrations.md, "tok serve"): Databricks'
// metadata service, Azure IMDS and the GCP metadata server, each with its required headers,
// refusals and exact response shapes. Pure: a request in, a response out, the time and the token
// source given; no sockets, so every rule has a unit test.
#include <functional>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

#include "cli/http_server.hpp"
#include "core/clock.hpp"
#include "core/refresh_flow.hpp"

namespace tok {

struct ServedProfile {
  std::string name;
  std::string host;                    // databricks: compared with X-Databricks-Host
  std::string resource;                // azure-imds: compared with the resource parameter
  std::string client_id;               // azure-imds: a requested client_id must be this one
  std::string gcp_account;             // gcp: the e-mail it reports (default tok@localhost)
  std::vector<std::string> scopes;     // gcp: reported in the account's info
  std::function<GetResult()> get;      // the profile's engine; throws tok::Error
};

struct ServedProtocols {
  std::optional<ServedProfile> databricks;
  std::optional<ServedProfile> azure_imds;  // served by IMDS and by App Service (its secret below)
  std::optional<ServedProfile> gcp;
  std::optional<ServedProfile> aws_ecs;  // cli/serve_aws_ecs.hpp
  // Random per run (docs/serve.md): a path segment of the Databricks URL, and App Service's
  // IDENTITY_HEADER that azure-identity sends back as X-IDENTITY-HEADER.
  std::string databricks_secret;
  std::string app_service_secret;
  std::string aws_ecs_secret;  // AWS_CONTAINER_AUTHORIZATION_TOKEN, sent back as Authorization
};

inline constexpr const char* kImdsPath = "/metadata/identity/oauth2/token";
inline constexpr const char* kAppServicePath = "/msi/token";
inline constexpr const char* kGcpAccountsPrefix = "/computeMetadata/v1/instance/service-accounts/";

// "/databricks/SECRET/token": DATABRICKS_METADATA_SERVICE_URL's path.
std::string databricks_path(std::string_view secret);

// Answers one request. Token failures become each protocol's own error shape (never a token,
// never a secret: provider messages are already redacted). Refusals say why in `reason`.
ServerResponse answer_metadata_request(const ServedProtocols& served, const ServerRequest& request, const Clock& clock);

// A secret compared in time that does not depend on where it differs.
bool same_secret(std::string_view given, std::string_view secret);

// The Host header names this server: a loopback literal or localhost, with or without a port.
// Anything else is a page on another name rebound to 127.0.0.1 (DNS rebinding).
bool is_own_host(std::string_view host);

// The request's path for the -v log: printable (providers/http.hpp), the Databricks secret
// replaced by "SECRET".
std::string loggable_path(const ServedProtocols& served, const ServerRequest& request);

}  // namespace tok

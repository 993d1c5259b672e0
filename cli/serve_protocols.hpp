#pragma once
// The metadata-service protocols `tok serve` answers (integrations.md, "tok serve"): Databricks'
// metadata service, Azure IMDS and the GCP metadata server, each with its required headers,
// refusals and exact response shapes. Pure: a request in, a response out, the time and the token
// source given; no sockets, so every rule has a unit test.
#include <functional>
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
  std::optional<ServedProfile> azure_imds;
  std::optional<ServedProfile> gcp;
};

inline constexpr const char* kDatabricksPath = "/databricks/token";
inline constexpr const char* kImdsPath = "/metadata/identity/oauth2/token";
inline constexpr const char* kGcpAccountsPrefix = "/computeMetadata/v1/instance/service-accounts/";

// Answers one request. Token failures become each protocol's own error shape (never a token,
// never a secret: provider messages are already redacted).
ServerResponse answer_metadata_request(const ServedProtocols& served, const ServerRequest& request, const Clock& clock);

}  // namespace tok

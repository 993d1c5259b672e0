#include "cli/serve_protocols.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

using nlohmann::json;

ServerResponse json_response(int status, const json& body) { return {status, "application/json", body.dump(), {}}; }

std::string without_trailing_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::int64_t epoch_seconds(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count(); }

std::int64_t seconds_left(const Token& token, TimePoint now) {
  if (!token.expiry) return 0;
  return std::max<std::int64_t>(0, std::chrono::floor<std::chrono::seconds>(*token.expiry - now).count());
}

// A token that never expires is reported with a day's life: every protocol here needs a number,
// and the SDKs simply ask again.
TimePoint reported_expiry(const Token& token, TimePoint now) {
  return token.expiry ? *token.expiry : now + std::chrono::hours(24);
}

// ---- Databricks: the SDKs' metadata-service credentials ----------------------------------------

ServerResponse databricks_error(int status, const char* code, const std::string& message) {
  return json_response(status, {{"error_code", code}, {"message", message}});
}

ServerResponse databricks(const ServedProfile& p, const ServerRequest& r, const Clock& clock) {
  if (r.header("X-Databricks-Metadata-Version") != "1") {
    return databricks_error(400, "INVALID_REQUEST", "X-Databricks-Metadata-Version: 1 is required");
  }
  const auto host = r.header("X-Databricks-Host");
  if (!host || without_trailing_slash(*host) != without_trailing_slash(p.host)) {
    return databricks_error(403, "PERMISSION_DENIED", "X-Databricks-Host does not match the workspace this server serves");
  }
  const Token token = p.get().token;
  const TimePoint now = clock.now();
  return json_response(200, {{"access_token", token.access_token},
                             {"token_type", token.token_type},
                             {"expires_on", epoch_seconds(reported_expiry(token, now))}});
}

// ---- Azure IMDS ---------------------------------------------------------------------------------

ServerResponse imds_error(int status, const char* code, const std::string& description) {
  return json_response(status, {{"error", code}, {"error_description", description}});
}

ServerResponse azure_imds(const ServedProfile& p, const ServerRequest& r, const Clock& clock) {
  if (r.header("Metadata") != "true") return imds_error(400, "invalid_request", "Required metadata header not specified");
  if (r.header("X-Forwarded-For")) return imds_error(400, "invalid_request", "Request is forwarded; not accepted");
  if (!r.param("api-version")) return imds_error(400, "invalid_request", "Required query variable 'api-version' is missing");
  const auto resource = r.param("resource");
  if (!resource || without_trailing_slash(*resource) != without_trailing_slash(p.resource)) {
    return imds_error(400, "invalid_resource", "This server serves a token for another resource");
  }
  // The served profile is one identity: asking for another one is IMDS's "identity not found".
  for (const char* id : {"client_id", "object_id", "msi_res_id", "mi_res_id"}) {
    if (const auto asked = r.param(id); asked && (std::string_view(id) != "client_id" || *asked != p.client_id)) {
      return imds_error(400, "invalid_request", "Identity not found");
    }
  }
  const Token token = p.get().token;
  const TimePoint now = clock.now();
  const TimePoint expiry = reported_expiry(token, now);
  // IMDS sends numbers as strings.
  return json_response(200, {{"access_token", token.access_token},
                             {"token_type", token.token_type},
                             {"expires_on", std::to_string(epoch_seconds(expiry))},
                             {"expires_in", std::to_string(std::max<std::int64_t>(0, epoch_seconds(expiry) - epoch_seconds(now)))},
                             {"resource", *resource},
                             {"not_before", std::to_string(epoch_seconds(now))}});
}

// ---- GCP metadata server ------------------------------------------------------------------------

ServerResponse gcp_response(int status, const std::string& content_type, std::string body) {
  return {status, content_type, std::move(body), {{"Metadata-Flavor", "Google"}}};
}

ServerResponse gcp(const ServedProfile& p, const ServerRequest& r, const Clock& clock) {
  if (r.header("Metadata-Flavor") != "Google") {
    return gcp_response(403, "text/plain", "Missing required header: Metadata-Flavor: Google\n");
  }
  if (r.header("X-Forwarded-For")) return gcp_response(403, "text/plain", "Request is forwarded; not accepted\n");
  const std::string rest = r.path.substr(std::string_view(kGcpAccountsPrefix).size());
  const auto slash = rest.find('/');
  const std::string account = rest.substr(0, slash);
  const std::string leaf = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (account != "default" && account != p.gcp_account) return gcp_response(404, "text/plain", "Not found\n");
  if (slash == std::string::npos) {  // ".../ACCOUNT" without a slash: a directory, as GCE redirects
    return gcp_response(301, "text/plain", "");
  }
  if (leaf.empty()) {
    if (r.param("recursive") == "true") {
      return gcp_response(200, "application/json",
                          json{{"email", p.gcp_account}, {"scopes", p.scopes}, {"aliases", {"default"}}}.dump());
    }
    return gcp_response(200, "application/text", "aliases\nemail\nscopes\ntoken\n");
  }
  if (leaf == "email") return gcp_response(200, "application/text", p.gcp_account);
  if (leaf == "scopes") {
    std::string lines;
    for (const auto& s : p.scopes) lines += s + "\n";
    return gcp_response(200, "application/text", lines);
  }
  if (leaf == "aliases") return gcp_response(200, "application/text", "default\n");
  if (leaf == "token") {
    const Token token = p.get().token;
    const TimePoint now = clock.now();
    return gcp_response(200, "application/json",
                        json{{"access_token", token.access_token},
                             {"expires_in", token.expiry ? seconds_left(token, now) : 24 * 3600},
                             {"token_type", token.token_type}}
                            .dump());
  }
  return gcp_response(404, "text/plain", "Not found\n");
}

// A token the engine could not produce, in each protocol's own error shape.
ServerResponse token_failure(const std::string& protocol, const Error& e) {
  const bool refused = e.kind() == ErrorKind::refused;
  const bool unavailable = e.kind() == ErrorKind::unavailable;
  const int status = refused ? 403 : unavailable ? 503 : 500;
  const std::string message = std::string("tok could not get a token: ") + e.what();
  if (protocol == "databricks") {
    return databricks_error(status, refused ? "PERMISSION_DENIED" : unavailable ? "TEMPORARILY_UNAVAILABLE" : "INTERNAL_ERROR",
                            message);
  }
  if (protocol == "azure-imds") {
    return imds_error(status, refused ? "access_denied" : unavailable ? "service_unavailable" : "internal_error", message);
  }
  return gcp_response(status, "text/plain", message + "\n");
}

}  // namespace

std::optional<std::string> ServerRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (same_header_name(k, name)) return v;
  }
  return std::nullopt;
}

std::optional<std::string> ServerRequest::param(const std::string& name) const {
  const auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

ServerResponse answer_metadata_request(const ServedProtocols& served, const ServerRequest& request, const Clock& clock) {
  std::string protocol;
  const ServedProfile* profile = nullptr;
  if (request.path == kDatabricksPath && served.databricks) {
    protocol = "databricks", profile = &*served.databricks;
  } else if (request.path == kImdsPath && served.azure_imds) {
    protocol = "azure-imds", profile = &*served.azure_imds;
  } else if (request.path.rfind(kGcpAccountsPrefix, 0) == 0 && served.gcp) {
    protocol = "gcp", profile = &*served.gcp;
  } else {
    return {404, "text/plain", "Not found: this tok serve answers only the protocols it was started with\n", {}};
  }
  if (request.method != "GET" && request.method != "HEAD") {
    ServerResponse r{405, "text/plain", "Method not allowed\n", {{"Allow", "GET"}}};
    if (protocol == "gcp") r.headers.emplace_back("Metadata-Flavor", "Google");
    return r;
  }
  try {
    if (protocol == "databricks") return databricks(*profile, request, clock);
    if (protocol == "azure-imds") return azure_imds(*profile, request, clock);
    return gcp(*profile, request, clock);
  } catch (const Error& e) {
    return token_failure(protocol, e);
  }
}

}  // namespace tok

#include "cli/serve_protocols.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/serve_aws_ecs.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/provider.hpp"

namespace tok {

namespace {

using nlohmann::json;

ServerResponse json_response(int status, const json& body, std::string reason = {}) {
  return {status, "application/json", body.dump(), {}, std::move(reason)};
}

std::string without_trailing_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
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
  return json_response(status, {{"error_code", code}, {"message", message}}, message);
}

ServerResponse databricks(const ServedProfile& p, const ServerRequest& r, const Clock& clock) {
  if (r.header("X-Databricks-Metadata-Version") != "1") {
    return databricks_error(400, "INVALID_REQUEST", "X-Databricks-Metadata-Version: 1 is required");
  }
  // Host names are case-insensitive; a workspace URL is a scheme and a host name.
  const auto host = r.header("X-Databricks-Host");
  if (!host || lowercase(without_trailing_slash(*host)) != lowercase(without_trailing_slash(p.host))) {
    return databricks_error(403, "PERMISSION_DENIED", "X-Databricks-Host does not match the workspace this server serves");
  }
  const Token token = p.get().token;
  const TimePoint now = clock.now();
  return json_response(200, {{"access_token", token.access_token},
                             {"token_type", token.token_type},
                             {"expires_on", epoch_seconds(reported_expiry(token, now))}});
}

// ---- Azure: IMDS and App Service (one profile, two ways to ask) ---------------------------------

ServerResponse imds_error(int status, const char* code, const std::string& description) {
  return json_response(status, {{"error", code}, {"error_description", description}}, description);
}

// What both Azure protocols check of the query: the resource, and that no other identity is
// asked for (the served profile is one identity). `ids` are the protocol's names for an identity.
std::optional<ServerResponse> azure_query_refusal(const ServedProfile& p, const ServerRequest& r,
                                                  std::initializer_list<const char*> ids) {
  if (!r.param("api-version")) return imds_error(400, "invalid_request", "Required query variable 'api-version' is missing");
  const auto resource = r.param("resource");
  if (!resource || without_trailing_slash(*resource) != without_trailing_slash(p.resource)) {
    return imds_error(400, "invalid_resource", "This server serves a token for another resource");
  }
  for (const char* id : ids) {
    if (const auto asked = r.param(id); asked && (std::string_view(id) != "client_id" || *asked != p.client_id)) {
      return imds_error(400, "invalid_request", "Identity not found");
    }
  }
  return std::nullopt;
}

ServerResponse azure_imds(const ServedProfile& p, const ServerRequest& r, const Clock& clock) {
  if (r.header("Metadata") != "true") return imds_error(400, "invalid_request", "Required metadata header not specified");
  if (r.header("X-Forwarded-For")) return imds_error(400, "invalid_request", "Request is forwarded; not accepted");
  if (auto refusal = azure_query_refusal(p, r, {"client_id", "object_id", "msi_res_id", "mi_res_id"})) return *refusal;
  const Token token = p.get().token;
  const TimePoint now = clock.now();
  const TimePoint expiry = reported_expiry(token, now);
  // IMDS sends numbers as strings.
  return json_response(200, {{"access_token", token.access_token},
                             {"token_type", token.token_type},
                             {"expires_on", std::to_string(epoch_seconds(expiry))},
                             {"expires_in", std::to_string(std::max<std::int64_t>(0, epoch_seconds(expiry) - epoch_seconds(now)))},
                             {"resource", *r.param("resource")},
                             {"not_before", std::to_string(epoch_seconds(now))}});
}

// App Service (api-version 2019-08-01): IDENTITY_ENDPOINT is this path, IDENTITY_HEADER the
// per-run secret that azure-identity sends back in X-IDENTITY-HEADER on every request.
ServerResponse app_service(const ServedProfile& p, const std::string& secret, const ServerRequest& r, const Clock& clock) {
  const auto given = r.header("X-IDENTITY-HEADER");
  if (!given || !same_secret(*given, secret)) {
    return imds_error(401, "unauthorized", "X-IDENTITY-HEADER is missing or is not this server's IDENTITY_HEADER");
  }
  if (auto refusal = azure_query_refusal(p, r, {"client_id", "principal_id", "object_id", "mi_res_id"})) return *refusal;
  const Token token = p.get().token;
  const TimePoint now = clock.now();
  json body = {{"access_token", token.access_token},
               {"token_type", token.token_type},
               {"expires_on", std::to_string(epoch_seconds(reported_expiry(token, now)))},
               {"resource", *r.param("resource")}};
  if (!p.client_id.empty()) body["client_id"] = p.client_id;
  return json_response(200, body);
}

// ---- GCP metadata server ------------------------------------------------------------------------

ServerResponse gcp_response(int status, const std::string& content_type, std::string body, std::string reason = {}) {
  return {status, content_type, std::move(body), {{"Metadata-Flavor", "Google"}}, std::move(reason)};
}

ServerResponse gcp_refusal(int status, const std::string& message) {
  return gcp_response(status, "text/plain", message + "\n", message);
}

std::optional<ServerResponse> gcp_header_refusal(const ServerRequest& r) {
  if (r.header("Metadata-Flavor") != "Google") return gcp_refusal(403, "Missing required header: Metadata-Flavor: Google");
  if (r.header("X-Forwarded-For")) return gcp_refusal(403, "Request is forwarded; not accepted");
  return std::nullopt;
}

// The metadata server's root and its v1 directory: google.auth.default() decides it runs on GCE
// when `GET /` with Metadata-Flavor: Google answers 200 with that header.
ServerResponse gcp_directory(const ServerRequest& r) {
  if (auto refusal = gcp_header_refusal(r)) return *refusal;
  return gcp_response(200, "application/text", r.path == "/" ? "computeMetadata/\n" : "instance/\n");
}

ServerResponse gcp(const ServedProfile& p, const ServerRequest& r, const Clock& clock) {
  if (auto refusal = gcp_header_refusal(r)) return *refusal;
  const std::string rest = r.path.substr(std::string_view(kGcpAccountsPrefix).size());
  const auto slash = rest.find('/');
  const std::string account = rest.substr(0, slash);
  const std::string leaf = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (account != "default" && account != p.gcp_account) return gcp_refusal(404, "Not found: no such service account");
  if (slash == std::string::npos) {  // ".../ACCOUNT" without a slash: a directory, as GCE redirects
    return gcp_response(301, "text/plain", "", "a directory: add a slash");
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
    // The token carries the profile's scopes: asking for one it does not have is refused, as
    // IMDS refuses another resource (the caller would get a token that cannot do what it wants).
    if (const auto asked = r.param("scopes")) {
      const std::set<std::string> have(p.scopes.begin(), p.scopes.end());
      for (const auto& scope : split_scopes(*asked)) {
        if (have.count(scope) == 0) {
          return gcp_refusal(400, "This server serves a token for other scopes (the profile's 'scopes')");
        }
      }
    }
    const Token token = p.get().token;
    const TimePoint now = clock.now();
    return gcp_response(200, "application/json",
                        json{{"access_token", token.access_token},
                             {"expires_in", token.expiry ? seconds_left(token, now) : 24 * 3600},
                             {"token_type", token.token_type}}
                            .dump());
  }
  return gcp_refusal(404, "Not found");
}

enum class Protocol { databricks, azure_imds, app_service, gcp_directory, gcp, aws_ecs };

// A token the engine could not produce, in each protocol's own error shape.
ServerResponse token_failure(Protocol protocol, const Error& e) {
  if (protocol == Protocol::aws_ecs) return aws_ecs_failure(e);
  const bool refused = e.kind() == ErrorKind::refused;
  const bool unavailable = e.kind() == ErrorKind::unavailable;
  const int status = refused ? 403 : unavailable ? 503 : 500;
  const std::string message = std::string("tok could not get a token: ") + e.what();
  if (protocol == Protocol::databricks) {
    return databricks_error(status, refused ? "PERMISSION_DENIED" : unavailable ? "TEMPORARILY_UNAVAILABLE" : "INTERNAL_ERROR",
                            message);
  }
  if (protocol == Protocol::azure_imds || protocol == Protocol::app_service) {
    return imds_error(status, refused ? "access_denied" : unavailable ? "service_unavailable" : "internal_error", message);
  }
  return gcp_refusal(status, message);
}

// In each protocol's own shape: refusals before any token is asked for.
ServerResponse refusal(Protocol protocol, int status, const std::string& message) {
  if (protocol == Protocol::aws_ecs) return aws_ecs_error(status, status == 403 ? "AccessDenied" : "InvalidRequest", message);
  if (protocol == Protocol::databricks) {
    return databricks_error(status, status == 403 ? "PERMISSION_DENIED" : "INVALID_REQUEST", message);
  }
  if (protocol == Protocol::azure_imds || protocol == Protocol::app_service) {
    return imds_error(status, "invalid_request", message);
  }
  return gcp_refusal(status, message);
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

bool same_secret(std::string_view given, std::string_view secret) {
  if (given.size() != secret.size() || secret.empty()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < secret.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ secret[i]);
  return diff == 0;
}

std::string databricks_path(std::string_view secret) { return "/databricks/" + std::string(secret) + "/token"; }

bool is_own_host(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    name = host.substr(0, close + 1);
    const std::string_view after = host.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  return !name.empty() && is_loopback_host(name);
}

std::string loggable_path(const ServedProtocols& served, const ServerRequest& request) {
  std::string path = request.path;
  if (!served.databricks_secret.empty()) {
    for (auto at = path.find(served.databricks_secret); at != std::string::npos; at = path.find(served.databricks_secret)) {
      path.replace(at, served.databricks_secret.size(), "SECRET");
    }
  }
  return printable(path);
}

ServerResponse answer_metadata_request(const ServedProtocols& served, const ServerRequest& request, const Clock& clock) {
  std::optional<Protocol> protocol;
  const ServedProfile* profile = nullptr;
  if (served.databricks && !served.databricks_secret.empty() && request.path == databricks_path(served.databricks_secret)) {
    protocol = Protocol::databricks, profile = &*served.databricks;
  } else if (request.path == kImdsPath && served.azure_imds) {
    protocol = Protocol::azure_imds, profile = &*served.azure_imds;
  } else if (request.path == kAppServicePath && served.azure_imds && !served.app_service_secret.empty()) {
    protocol = Protocol::app_service, profile = &*served.azure_imds;
  } else if ((request.path == "/" || request.path == "/computeMetadata/v1/") && served.gcp) {
    protocol = Protocol::gcp_directory, profile = &*served.gcp;
  } else if (request.path.rfind(kGcpAccountsPrefix, 0) == 0 && served.gcp) {
    protocol = Protocol::gcp, profile = &*served.gcp;
  } else if (request.path == kAwsEcsPath && served.aws_ecs && !served.aws_ecs_secret.empty()) {
    protocol = Protocol::aws_ecs, profile = &*served.aws_ecs;
  }
  const auto refuse = [&](int status, const std::string& message) {
    if (protocol) return refusal(*protocol, status, message);
    return ServerResponse{status, "text/plain", message + "\n", {}, message};
  };
  // Before anything else: a foreign Host is a web page that got here by DNS rebinding.
  const auto host = request.header("Host");
  if (!host || !is_own_host(*host)) {
    return refuse(403, "Host must name this server (localhost or a loopback address)");
  }
  if (!protocol) return refuse(404, "Not found: this tok serve answers only the protocols it was started with");
  // Nothing here takes a body, and none is read.
  const auto length = request.header("Content-Length");
  if (request.header("Transfer-Encoding") || (length && *length != "0")) {
    return refuse(413, "Request bodies are not accepted");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    ServerResponse r = refuse(405, "Method not allowed");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  try {
    switch (*protocol) {
      case Protocol::databricks: return databricks(*profile, request, clock);
      case Protocol::azure_imds: return azure_imds(*profile, request, clock);
      case Protocol::app_service: return app_service(*profile, served.app_service_secret, request, clock);
      case Protocol::gcp_directory: return gcp_directory(request);
      case Protocol::gcp: return gcp(*profile, request, clock);
      case Protocol::aws_ecs: return answer_aws_ecs(*profile, served.aws_ecs_secret, request, clock);
    }
  } catch (const Error& e) {
    return token_failure(*protocol, e);
  }
  return refuse(500, "internal error");
}

}  // namespace tok

#include "providers/metadata/azure_imds.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tok::azure {

ServerResponse error_response(int status, const char* code, const std::string& description) {
  return json_response(status, nlohmann::json{{"error", code}, {"error_description", description}}.dump(), description);
}

ServerResponse failure_response(const Error& e) {
  const int status = failure_status(e);
  return error_response(status, status == 403 ? "access_denied" : status == 503 ? "service_unavailable" : "internal_error",
                        failure_message(e));
}

std::optional<ServerResponse> query_refusal(const ServerRequest& r, std::string_view resource,
                                            std::string_view client_id, std::initializer_list<const char*> ids) {
  if (!r.param("api-version")) return error_response(400, "invalid_request", "Required query variable 'api-version' is missing");
  const auto asked = r.param("resource");
  if (!asked || without_trailing_slashes(*asked) != without_trailing_slashes(std::string(resource))) {
    return error_response(400, "invalid_resource", "This server serves a token for another resource");
  }
  for (const char* id : ids) {
    if (const auto named = r.param(id); named && (std::string_view(id) != "client_id" || *named != client_id)) {
      return error_response(400, "invalid_request", "Identity not found");
    }
  }
  return std::nullopt;
}

std::string TokenQuery::text(std::string_view url, std::string_view api_version) const {
  std::string query = url.find('?') == std::string_view::npos ? "?" : "&";
  query += fmt::format("api-version={}&resource={}", api_version, form_encode(resource));
  if (!identity_name.empty()) query += fmt::format("&{}={}", identity_name, form_encode(identity_value));
  return query;
}

ImdsSource::ImdsSource(std::string url, TokenQuery query) : MetadataSource(std::move(url)), query_(std::move(query)) {}

HttpRequest ImdsSource::request(std::vector<std::string>&) const {
  HttpRequest request;
  request.url = url() + query_.text(url(), kImdsApiVersion);
  request.headers = {"Accept: application/json", "Metadata: true"};
  return request;
}

void ImdsSource::adjust_retry(RetryPolicy& retry) const {
  // azure-identity's IMDS retry statuses; 410 for as long as IMDS may take to start.
  retry.retry_status = [](long status) {
    return status == 404 || status == 408 || status == 410 || status == 429 || status >= 500;
  };
  retry.persistent_status = 410;
  retry.persist_for = kImdsStartup;
}

void ImdsSource::refuse(long status, const std::string& message, const AnswerContext& context) const {
  if (status == 400) {
    throw Error(ErrorKind::refused,
                fmt::format("{}: HTTP 400: no managed identity {} this resource: {}", context.what,
                            query_.identity_name.empty() ? "is assigned to" : "with that " + query_.identity_name + " is on",
                            message),
                "assign a managed identity to the VM, or check client_id, object_id or msi_res_id");
  }
  if (status == 401 || status == 403) {
    throw Error(ErrorKind::refused, fmt::format("{}: HTTP {}: {}", context.what, status, message));
  }
}

ImdsServed::ImdsServed(std::string resource, std::string client_id, TokenGetter get)
    : resource_(std::move(resource)), client_id_(std::move(client_id)), get_(std::move(get)) {}

ServerResponse ImdsServed::answer(const ServerRequest& r, const Clock& clock) const {
  if (r.header("Metadata") != "true") return error_response(400, "invalid_request", "Required metadata header not specified");
  if (r.header("X-Forwarded-For")) return error_response(400, "invalid_request", "Request is forwarded; not accepted");
  if (auto refusal = query_refusal(r, resource_, client_id_, {"client_id", "object_id", "msi_res_id", "mi_res_id"})) {
    return *refusal;
  }
  const Token token = get_().token;
  const TimePoint now = clock.now();
  const TimePoint expiry = reported_expiry(token, now);
  // IMDS sends numbers as strings.
  return json_response(
      200, nlohmann::json{{"access_token", token.access_token},
                          {"token_type", token.token_type},
                          {"expires_on", std::to_string(epoch_seconds(expiry))},
                          {"expires_in", std::to_string(std::max<std::int64_t>(0, epoch_seconds(expiry) - epoch_seconds(now)))},
                          {"resource", *r.param("resource")},
                          {"not_before", std::to_string(epoch_seconds(now))}}
               .dump());
}

ServerResponse ImdsServed::refusal(int status, const std::string& message) const {
  return error_response(status, "invalid_request", message);
}

ServerResponse ImdsServed::failure(const Error& e) const { return failure_response(e); }

}  // namespace tok::azure

#include "providers/metadata/azure_app_service.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tok::azure {

namespace {

TokenQuery with_app_service_names(TokenQuery query) {
  if (query.identity_name == "object_id") query.identity_name = "principal_id";
  if (query.identity_name == "msi_res_id") query.identity_name = "mi_res_id";
  return query;
}

}  // namespace

AppServiceSource::AppServiceSource(std::string url, TokenQuery query, const World& world)
    : MetadataSource(std::move(url)), query_(with_app_service_names(std::move(query))), world_(world) {}

HttpRequest AppServiceSource::request(std::vector<std::string>& secrets) const {
  const char* header = world_.env(kHeaderVariable);
  if (header == nullptr || *header == '\0') throw Error(ErrorKind::usage, "$IDENTITY_HEADER is no longer set");
  HttpRequest request;
  request.url = url() + query_.text(url(), kAppServiceApiVersion);
  request.headers = {"Accept: application/json", fmt::format("{}: {}", kIdentityHeader, header)};
  secrets.emplace_back(header);
  return request;
}

void AppServiceSource::refuse(long status, const std::string& message, const AnswerContext& context) const {
  if (status == 400 || status == 401 || status == 403) {
    throw Error(ErrorKind::refused, fmt::format("{}: HTTP {}: {}", context.what, status, message));
  }
}

AppServiceServed::AppServiceServed(std::string secret, std::string resource, std::string client_id, TokenGetter get)
    : secret_(std::move(secret)), resource_(std::move(resource)), client_id_(std::move(client_id)), get_(std::move(get)) {}

ServerResponse AppServiceServed::answer(const ServerRequest& r, const Clock& clock) const {
  const auto given = r.header(kIdentityHeader);
  if (!given || !same_secret(*given, secret_)) {
    return error_response(401, "unauthorized", "X-IDENTITY-HEADER is missing or is not this server's IDENTITY_HEADER");
  }
  if (auto refusal = query_refusal(r, resource_, client_id_, {"client_id", "principal_id", "object_id", "mi_res_id"})) {
    return *refusal;
  }
  const Token token = get_().token;
  const TimePoint now = clock.now();
  nlohmann::json body = {{"access_token", token.access_token},
                         {"token_type", token.token_type},
                         {"expires_on", std::to_string(epoch_seconds(reported_expiry(token, now)))},
                         {"resource", *r.param("resource")}};
  if (!client_id_.empty()) body["client_id"] = client_id_;
  return json_response(200, body.dump());
}

ServerResponse AppServiceServed::refusal(int status, const std::string& message) const {
  return error_response(status, "invalid_request", message);
}

}  // namespace tok::azure

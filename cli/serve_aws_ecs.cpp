#include "cli/serve_aws_ecs.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/time_format.hpp"
#include "providers/aws_credential.hpp"

namespace tok {

ServerResponse aws_ecs_error(int status, const char* code, const std::string& message) {
  return {status, "application/json", nlohmann::json{{"code", code}, {"message", message}}.dump(), {}, message};
}

ServerResponse aws_ecs_failure(const Error& e) {
  const bool refused = e.kind() == ErrorKind::refused;
  const bool unavailable = e.kind() == ErrorKind::unavailable;
  return aws_ecs_error(refused ? 403 : unavailable ? 503 : 500,
                       refused ? "AccessDenied" : unavailable ? "ServiceUnavailable" : "InternalError",
                       std::string("tok could not get a credential: ") + e.what());
}

ServerResponse answer_aws_ecs(const ServedProfile& profile, std::string_view secret, const ServerRequest& request,
                              const Clock& clock) {
  const auto given = request.header("Authorization");
  if (!given || !same_secret(*given, secret)) {
    return aws_ecs_error(401, "Unauthorized", "Authorization is missing or is not this server's AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  const Token token = profile.get().token;
  if (!is_aws_credential(token)) {
    return aws_ecs_error(500, "InternalError",
                         fmt::format("profile '{}' holds a token, not an AWS credential (its source printed no "
                                     "credential_process JSON)",
                                     profile.name));
  }
  const auto session = token.fields.find(kAwsSessionToken);
  nlohmann::ordered_json body;
  body["AccessKeyId"] = token.fields.at(kAwsAccessKeyId);
  body["SecretAccessKey"] = token.fields.at(kAwsSecretAccessKey);
  body["Token"] = session == token.fields.end() ? std::string() : session->second;
  // An AWS credential always has an expiry (default_lifetime for long-term keys); a day if not.
  body["Expiration"] = format_rfc3339(token.expiry ? *token.expiry : clock.now() + std::chrono::hours(24));
  return {200, "application/json", body.dump(), {}, {}};
}

}  // namespace tok

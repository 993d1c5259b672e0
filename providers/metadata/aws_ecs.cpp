#include "providers/metadata/aws_ecs.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/time_format.hpp"
#include "providers/aws_credential.hpp"

namespace tok::aws_ecs {

namespace {

ServerResponse error_response(int status, const char* code, const std::string& message) {
  return json_response(status, nlohmann::json{{"code", code}, {"message", message}}.dump(), message);
}

}  // namespace

Served::Served(std::string profile, std::string secret, TokenGetter get)
    : profile_(std::move(profile)), secret_(std::move(secret)), get_(std::move(get)) {}

bool Served::owns(std::string_view path) const { return !secret_.empty() && path == kPath; }

ServerResponse Served::answer(const ServerRequest& request, const Clock& clock) const {
  const auto given = request.header("Authorization");
  if (!given || !same_secret(*given, secret_)) {
    return error_response(401, "Unauthorized",
                          "Authorization is missing or is not this server's AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  const Token token = get_().token;
  if (!is_aws_credential(token)) {
    return error_response(500, "InternalError",
                          fmt::format("profile '{}' holds a token, not an AWS credential (its source printed no "
                                      "credential_process JSON)",
                                      profile_));
  }
  const auto session = token.fields.find(kAwsSessionToken);
  nlohmann::ordered_json body;
  body["AccessKeyId"] = token.fields.at(kAwsAccessKeyId);
  body["SecretAccessKey"] = token.fields.at(kAwsSecretAccessKey);
  body["Token"] = session == token.fields.end() ? std::string() : session->second;
  // An AWS credential always has an expiry (default_lifetime for long-term keys); a day if not.
  body["Expiration"] = format_rfc3339(reported_expiry(token, clock.now()));
  return json_response(200, body.dump());
}

ServerResponse Served::refusal(int status, const std::string& message) const {
  return error_response(status, status == 403 ? "AccessDenied" : "InvalidRequest", message);
}

ServerResponse Served::failure(const Error& e) const {
  constexpr FailureCodes kCodes{"AccessDenied", "ServiceUnavailable", "InternalError"};
  return error_response(failure_status(e), kCodes.of(failure_status(e)), failure_message(e));
}

}  // namespace tok::aws_ecs

#include "providers/metadata/databricks.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "providers/url.hpp"

namespace tok::databricks {

namespace {

ServerResponse error_response(int status, const char* code, const std::string& message) {
  return json_response(status, nlohmann::json{{"error_code", code}, {"message", message}}.dump(), message);
}

}  // namespace

std::string served_path(std::string_view secret) { return "/databricks/" + std::string(secret) + "/token"; }

Source::Source(std::string url, std::string workspace_host)
    : MetadataSource(std::move(url)), workspace_host_(std::move(workspace_host)) {}

HttpRequest Source::request(std::vector<std::string>&) const {
  HttpRequest request;
  request.url = url();
  request.headers = {"Accept: application/json", fmt::format("{}: 1", kVersionHeader),
                     fmt::format("{}: {}", kHostHeader, workspace_host_)};
  return request;
}

void Source::refuse(long status, const std::string& message, const AnswerContext& context) const {
  if (status == 404) {
    throw Error(
        ErrorKind::unavailable,
        fmt::format("{}: HTTP 404: metadata service not available at {}", context.what, printable(redacted_url(url()))),
        "check url or $DATABRICKS_METADATA_SERVICE_URL");
  }
  if (status == 400 || status == 401 || status == 403) {
    throw Error(ErrorKind::refused, fmt::format("{}: HTTP {}: {}", context.what, status, message),
                "check host (or $DATABRICKS_HOST): the workspace URL the token is for");
  }
}

Served::Served(std::string secret, std::string workspace_host, TokenGetter get)
    : secret_(std::move(secret)), path_(served_path(secret_)), workspace_host_(std::move(workspace_host)),
      get_(std::move(get)) {}

bool Served::owns(std::string_view path) const { return !secret_.empty() && path == path_; }

ServerResponse Served::answer(const ServerRequest& r, const Clock& clock) const {
  if (r.header(kVersionHeader) != "1") {
    return error_response(400, "INVALID_REQUEST", "X-Databricks-Metadata-Version: 1 is required");
  }
  // Host names are case-insensitive; a workspace URL is a scheme and a host name.
  const auto host = r.header(kHostHeader);
  if (!host || lowercase(without_trailing_slashes(*host)) != lowercase(without_trailing_slashes(workspace_host_))) {
    return error_response(403, "PERMISSION_DENIED", "X-Databricks-Host does not match the workspace this server serves");
  }
  const Token token = get_().token;
  const TimePoint now = clock.now();
  return json_response(200, nlohmann::json{{"access_token", token.access_token},
                                            {"token_type", token.token_type},
                                            {"expires_on", epoch_seconds(reported_expiry(token, now))}}
                                .dump());
}

ServerResponse Served::refusal(int status, const std::string& message) const {
  return error_response(status, status == 403 ? "PERMISSION_DENIED" : "INVALID_REQUEST", message);
}

ServerResponse Served::failure(const Error& e) const {
  constexpr FailureCodes kCodes{"PERMISSION_DENIED", "TEMPORARILY_UNAVAILABLE", "INTERNAL_ERROR"};
  return error_response(failure_status(e), kCodes.of(failure_status(e)), failure_message(e));
}

}  // namespace tok::databricks

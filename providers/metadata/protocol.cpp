#include "providers/metadata/protocol.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "providers/token_response.hpp"

namespace tok {

Token MetadataSource::read(const HttpResponse& response, const AnswerContext& context) const {
  check_answer(response, context);
  const long status = response.status;
  const std::string& what = context.what;
  if (status >= 200 && status < 300) {
    try {
      return parse_success(response, context);
    } catch (const Error& e) {
      throw in_context(e, what);
    }
  }
  const std::string message = body_message(response.body, context.secrets);
  if (status >= 300 && status < 400) {
    throw Error(ErrorKind::unavailable,
                fmt::format("{}: HTTP {} redirect refused (redirects are never followed)", what, status),
                "set url to the service itself");
  }
  refuse(status, message, context);
  throw outage_if_so(Error(ErrorKind::unavailable, fmt::format("{}: HTTP {}: {}", what, status, message)), response,
                     context.now);
}

Token MetadataSource::parse_success(const HttpResponse& response, const AnswerContext& context) const {
  return parse_token_response(response.body, context.now, {.default_lifetime = context.default_lifetime});
}

std::string body_message(const std::string& body, const std::vector<std::string>& secrets) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    for (const char* field : {"error_description", "message", "error"}) {
      if (auto it = j.find(field); it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
        return quote_body(it->get<std::string>(), secrets);
      }
    }
  }
  return body.empty() ? std::string("(empty body)") : quote_body(body, secrets);
}

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

ServerResponse json_response(int status, std::string json_text, std::string reason) {
  return {status, "application/json", std::move(json_text), {}, std::move(reason)};
}

int failure_status(const Error& error) {
  return error.kind() == ErrorKind::refused ? 403 : error.kind() == ErrorKind::unavailable ? 503 : 500;
}

std::string failure_message(const Error& error) { return std::string("tok could not get a token: ") + error.what(); }

std::int64_t epoch_seconds(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count(); }

TimePoint reported_expiry(const Token& token, TimePoint now) {
  return token.expiry ? *token.expiry : now + std::chrono::hours(24);
}

bool same_secret(std::string_view given, std::string_view secret) {
  if (given.size() != secret.size() || secret.empty()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < secret.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ secret[i]);
  return diff == 0;
}

std::string without_trailing_slashes(std::string text) {
  while (!text.empty() && text.back() == '/') text.pop_back();
  return text;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace tok

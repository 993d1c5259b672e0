#include "providers/token_response.hpp"

#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

// A lifetime beyond this is a bug or an attack on the cache, not a token policy.
constexpr std::int64_t kMaxLifetimeSeconds = 366LL * 24 * 3600;

[[noreturn]] void malformed(std::string_view why, std::string_view body) {
  throw Error(ErrorKind::unavailable, fmt::format("malformed response: {}; body: '{}'", why, quote_body(body)));
}

// A number or a numeric string (IMDS sends "expires_on": "1732800000").
std::optional<double> read_number(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.empty() || s.size() > 20) return std::nullopt;
    std::size_t used = 0;
    try {
      const double v = std::stod(s, &used);
      if (used == s.size()) return v;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

}  // namespace

Token parse_token_response(std::string_view body, TimePoint now) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) malformed("not JSON", body);
  if (!j.is_object()) malformed("not a JSON object", body);
  const auto at = j.find("access_token");
  if (at == j.end() || !at->is_string() || at->get_ref<const std::string&>().empty()) {
    malformed("no access_token", body);
  }
  Token token;
  token.access_token = at->get<std::string>();
  if (const auto type = j.find("token_type"); type != j.end() && type->is_string() && !type->get_ref<const std::string&>().empty()) {
    token.token_type = type->get<std::string>();
  }
  using std::chrono::seconds;
  if (const auto in = j.find("expires_in"); in != j.end()) {
    const auto v = read_number(*in);
    if (!v || !std::isfinite(*v)) malformed("expires_in is not a number", body);
    if (*v <= 0) malformed(fmt::format("expires_in is {} (must be positive)", *v), body);
    if (*v > kMaxLifetimeSeconds) malformed(fmt::format("expires_in is {} seconds (over a year)", *v), body);
    // Milliseconds, not whole seconds: "expires_in": 0.5 is half a second, not an expired token.
    token.expiry = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*v));
  } else if (const auto on = j.find("expires_on"); on != j.end()) {
    const auto v = read_number(*on);
    if (!v || !std::isfinite(*v)) malformed("expires_on is not a number", body);
    const double now_s = static_cast<double>(std::chrono::floor<seconds>(now).time_since_epoch().count());
    if (*v <= now_s) malformed("expires_on is in the past", body);
    if (*v - now_s > kMaxLifetimeSeconds) malformed("expires_on is more than a year away", body);
    const TimePoint expiry{std::chrono::duration_cast<TimePoint::duration>(seconds(static_cast<std::int64_t>(*v)))};
    token.expiry = expiry;
  } else {
    malformed("no expires_in or expires_on", body);
  }
  return token;
}

Error token_endpoint_error(const HttpResponse& response, const std::string& what, const std::string& client_advice) {
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    // RFC 6749 5.2: the server says why it refused.
    const std::string code = body["error"].get<std::string>();
    std::string message = fmt::format("{}: {}", what, quote_body(code));
    if (auto d = body.find("error_description"); d != body.end() && d->is_string()) {
      message += ": " + quote_body(d->get<std::string>());
    }
    const bool unavailable = code == "temporarily_unavailable" || response.status >= 500 || response.status == 429;
    std::string advice;
    if (code == "invalid_client" || code == "unauthorized_client") {
      advice = client_advice;
    } else if (code == "invalid_scope") {
      advice = "check the profile's scopes";
    }
    return Error(unavailable ? ErrorKind::unavailable : ErrorKind::refused, message, advice);
  }
  const std::string message = fmt::format("{}: HTTP {}: '{}'", what, response.status, quote_body(response.body));
  if (response.status == 400 || response.status == 401 || response.status == 403) {
    return Error(ErrorKind::refused, message, client_advice);
  }
  if (response.status >= 300 && response.status < 400) {
    return Error(ErrorKind::unavailable,
                 fmt::format("{}: HTTP {} redirect refused (credentials are never sent on a redirect)", what,
                             response.status),
                 "set token_url to the final endpoint");
  }
  return Error(ErrorKind::unavailable, message);
}

}  // namespace tok

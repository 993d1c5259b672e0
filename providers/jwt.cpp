#include "providers/jwt.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "providers/base64.hpp"

namespace tok {

std::optional<TimePoint> jwt_expiry(std::string_view token) {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  const auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  const auto doc = nlohmann::json::parse(*payload, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  const auto exp = doc.find("exp");
  if (exp == doc.end() || !exp->is_number()) return std::nullopt;
  const double seconds = exp->get<double>();
  // Up to the year 9999: anything else is no expiry anyone meant.
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 253402300799.0) return std::nullopt;
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
}

}  // namespace tok

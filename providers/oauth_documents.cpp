#include "providers/oauth_documents.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

constexpr const char* kEndpointNames[] = {"token_endpoint", "authorization_endpoint", "device_authorization_endpoint",
                                          "revocation_endpoint"};
constexpr std::int64_t kMaxDeviceLifetime = 24 * 3600;
constexpr std::size_t kMaxDeviceCode = 4096;

nlohmann::json parse_object(std::string_view body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  return doc.is_object() ? doc : nlohmann::json();
}

// A JSON object's string member, or empty.
std::string string_member(const nlohmann::json& doc, const char* name) {
  const auto it = doc.find(name);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

LoginTokenMembers read_login_token_members(std::string_view body) {
  const nlohmann::json doc = parse_object(body);
  return {string_member(doc, "refresh_token"), string_member(doc, "id_token")};
}

bool is_usable_url(std::string_view url) {
  return !url.empty() && std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; }) &&
         !check_url(url);
}

Discovery read_discovery_document(std::string_view body, std::string_view issuer, std::string_view what) {
  const nlohmann::json doc = parse_object(body);
  const auto token_endpoint = doc.is_object() ? doc.find("token_endpoint") : doc.end();
  if (!doc.is_object() || token_endpoint == doc.end() || !token_endpoint->is_string()) {
    return {{}, fmt::format("{}: no token_endpoint in '{}'", what, quote_body(body))};
  }
  // RFC 8414 3.3: the issuer the document names must be identical to the one the well-known URL
  // was made from, or the document must not be used (an attacker's copy of another issuer's).
  const auto named = doc.find("issuer");
  if (named == doc.end() || !named->is_string()) {
    throw Error(ErrorKind::unavailable, fmt::format("{}: the document names no issuer (RFC 8414 3.3)", what),
                "check the issuer URL");
  }
  const std::string& claimed = named->get_ref<const std::string&>();
  if (claimed != issuer) {
    const bool visible = std::all_of(claimed.begin(), claimed.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    throw Error(ErrorKind::unavailable,
                fmt::format("{}: the document is the issuer '{}''s, not '{}' as configured (RFC 8414 3.3: "
                            "refused)",
                            what, printable(claimed), printable(issuer)),
                visible && !claimed.empty()
                    ? fmt::format("if you trust it, set issuer = {} exactly as it names itself", claimed)
                    : std::string("check the issuer URL"));
  }
  Discovery found;
  for (const char* key : kEndpointNames) {
    std::string endpoint = string_member(doc, key);
    if (endpoint.empty()) continue;
    if (!is_usable_url(endpoint)) {
      if (const auto problem = check_url(endpoint)) {
        throw Error(ErrorKind::unavailable, fmt::format("{}: {} {}", what, key, *problem));  // printable
      }
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: {} '{}' holds a space, a control character or a byte that is not ASCII", what, key,
                              printable(endpoint)));
    }
    found.endpoints[key] = std::move(endpoint);
  }
  if (found.endpoints.count("token_endpoint") == 0) {
    return {{}, fmt::format("{}: no token_endpoint in '{}'", what, quote_body(body))};
  }
  return found;
}

DeviceAnswer read_device_authorization(std::string_view body, std::string_view what) {
  const nlohmann::json doc = parse_object(body);
  DeviceAnswer answer;
  std::int64_t expires_in = 0;
  std::int64_t interval = kDeviceDefaultInterval.count();
  if (doc.is_object()) {
    answer.device_code = string_member(doc, "device_code");
    answer.user_code = printable(string_member(doc, "user_code"));
    answer.verification_uri = string_member(doc, "verification_uri");
    answer.verification_uri_complete = string_member(doc, "verification_uri_complete");
    if (auto e = doc.find("expires_in"); e != doc.end() && e->is_number_integer()) expires_in = e->get<std::int64_t>();
    // Below 1 s (0, negative) names no usable minimum: the RFC's default, never a busy loop.
    if (auto i = doc.find("interval"); i != doc.end() && i->is_number_integer() && i->get<std::int64_t>() >= 1) {
      interval = i->get<std::int64_t>();
    }
  }
  const std::vector<std::string> secrets =
      answer.device_code.empty() ? std::vector<std::string>{} : std::vector<std::string>{answer.device_code};
  const auto malformed = [&](std::string_view why) {
    return Error(ErrorKind::unavailable,
                 fmt::format("{}: malformed answer ({}): '{}'", what, why, quote_body(body, secrets)));
  };
  if (answer.device_code.empty() || answer.device_code.size() > kMaxDeviceCode) throw malformed("device_code");
  if (answer.user_code.empty()) throw malformed("user_code");
  if (!is_usable_url(answer.verification_uri)) throw malformed("verification_uri");
  if (expires_in <= 0 || expires_in > kMaxDeviceLifetime) throw malformed("expires_in: 1 s to 24 h");
  if (interval > kDeviceMaxInterval.count()) throw malformed("interval: at most 600 s");
  if (!is_usable_url(answer.verification_uri_complete)) answer.verification_uri_complete.clear();
  answer.expires_in = std::chrono::seconds(expires_in);
  answer.interval = std::chrono::seconds(interval);
  return answer;
}

}  // namespace tok

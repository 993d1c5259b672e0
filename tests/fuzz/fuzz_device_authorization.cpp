// A device authorization answer (RFC 8628 3.2): never a crash; an accepted one polls at least
// every second and at most every 600 s, expires within 1 s to 24 h, shows a printable code and
// URLs of visible ASCII that check_url accepts, and its messages never quote the device code.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/oauth_documents.hpp"

namespace {

bool one_line(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\x1b'; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    const tok::DeviceAnswer a = tok::read_device_authorization(body, "asking for a device code");
    using std::chrono::seconds;
    if (a.interval < seconds(1) || a.interval > tok::kDeviceMaxInterval) __builtin_trap();
    if (a.expires_in < seconds(1) || a.expires_in > seconds(24 * 3600)) __builtin_trap();
    if (a.device_code.empty() || a.device_code.size() > 4096) __builtin_trap();
    if (a.user_code.empty() || a.user_code.size() > 203 || !one_line(a.user_code)) __builtin_trap();
    if (!tok::is_usable_url(a.verification_uri)) __builtin_trap();
    if (!a.verification_uri_complete.empty() && !tok::is_usable_url(a.verification_uri_complete)) __builtin_trap();
  } catch (const tok::Error& e) {
    if (!one_line(e.what())) __builtin_trap();
    // A device code of some length is never quoted back (it is the login's secret until approved).
    const auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_object() && doc.contains("device_code") && doc["device_code"].is_string()) {
      const std::string code = doc["device_code"].get<std::string>();
      const std::string_view message = e.what();
      const auto quoted = message.find("): '");  // the quoted body, after "malformed answer (WHY)"
      if (code.size() >= 8 && quoted != std::string_view::npos &&
          message.substr(quoted + 4).find(code) != std::string_view::npos) {
        __builtin_trap();
      }
    }
  }
  return 0;
}

// What a local client of the server's own user sends `tok serve`: method, path, query and
// headers (Host included: a line `h Host: ...`), and what a failing provider put in its error. Input: lines `METHOD`, `PATH`, then
// `h NAME: VALUE`, `p NAME=VALUE`, or `e TEXT` (the token source fails, its message quoting TEXT
// as providers quote a server's body). The answer is always one of the protocols' own statuses,
// a JSON body whenever it says application/json, and the token only in a 200.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/serve/serve_protocols.hpp"
#include "providers/metadata/azure_app_service.hpp"
#include "providers/metadata/databricks.hpp"
#include "providers/metadata/gcp.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"

namespace {

constexpr std::string_view kToken = "fuzz-token.Zq9x7Vb2Lw4";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  tok::ServerRequest request;
  request.method = lines.size() > 0 ? std::string(lines[0]) : "GET";
  request.path = lines.size() > 1 ? std::string(lines[1]) : "/";
  std::optional<std::string> failure;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.size() < 2 || line[1] != ' ') continue;
    const std::string_view body = line.substr(2);
    if (line[0] == 'h') {
      const auto colon = body.find(':');
      std::string_view value = colon == std::string_view::npos ? std::string_view{} : body.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      request.headers.emplace_back(std::string(body.substr(0, colon)), std::string(value));
    } else if (line[0] == 'p') {
      const auto eq = body.find('=');
      request.params.emplace(std::string(body.substr(0, eq)),
                             eq == std::string_view::npos ? std::string{} : std::string(body.substr(eq + 1)));
    } else if (line[0] == 'e') {
      failure = "fetching a token from http://127.0.0.1/token: HTTP 503: '" + tok::quote_body(body) + "'";
    }
  }

  const tok::FakeClock clock{tok::TimePoint{std::chrono::seconds(1795000000)}};
  const tok::TokenGetter get = [&] {
    if (failure) throw tok::Error(size % 2 ? tok::ErrorKind::unavailable : tok::ErrorKind::refused, *failure);
    return tok::GetResult{tok::Token{std::string(kToken), "Bearer", clock.now() + std::chrono::hours(1), {}},
                          tok::TokenState::fresh, std::nullopt};
  };
  const std::string databricks_secret = "0123456789abcdef0123456789abcdef";
  const std::string app_service_secret = "fedcba9876543210fedcba9876543210";
  const std::string resource = "https://management.azure.com/";
  tok::ServedProtocols served;
  served.protocols.push_back(std::make_unique<tok::databricks::Served>(databricks_secret, "https://ws.example.com", get));
  served.protocols.push_back(std::make_unique<tok::azure::ImdsServed>(resource, "my-client", get));
  served.protocols.push_back(std::make_unique<tok::azure::AppServiceServed>(app_service_secret, resource, "my-client", get));
  served.protocols.push_back(
      std::make_unique<tok::gcp::Served>("tok@localhost", std::vector<std::string>{"https://www.googleapis.com/auth/cloud-platform"}, get));

  const tok::ServerResponse r = tok::answer_metadata_request(served, request, clock);
  switch (r.status) {
    case 200: case 301: case 400: case 401: case 403: case 404: case 405: case 413: case 500: case 503: break;
    default: __builtin_trap();
  }
  if (r.content_type == "application/json" && nlohmann::json::parse(r.body, nullptr, false).is_discarded()) {
    __builtin_trap();
  }
  if (r.status != 200 && r.body.find(kToken) != std::string::npos) __builtin_trap();
  // A token only for a request that named this server, and never a secret in an answer or a log.
  const auto host = request.header("Host");
  if (r.body.find(kToken) != std::string::npos && (!host || !tok::is_own_host(*host))) __builtin_trap();
  for (const std::string& secret : {databricks_secret, app_service_secret}) {
    if (r.body.find(secret) != std::string::npos || r.reason.find(secret) != std::string::npos) __builtin_trap();
  }
  if (tok::loggable_path(served, request).find(databricks_secret) != std::string::npos) __builtin_trap();
  return 0;
}

// An issuer's metadata document (OpenID Connect discovery, RFC 8414) and a token endpoint's
// RFC 6749 5.2 error answer: never a crash; a document is used only when it names the configured
// issuer exactly, and every endpoint it yields is an http(s) URL of visible ASCII that check_url
// accepts (nothing in it can forge a line on a terminal); every message is one printable line.
// The first line of the input is the configured issuer, the rest the body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/oauth_documents.hpp"
#include "providers/token_response.hpp"

namespace {

bool one_line(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\x1b'; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string_view issuer =
      nl == std::string_view::npos ? std::string_view("https://id.example") : input.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? input : input.substr(nl + 1);
  try {
    const tok::Discovery found = tok::read_discovery_document(body, issuer, "discovering");
    if (!one_line(found.problem)) __builtin_trap();
    if (found.problem.empty()) {
      if (found.endpoints.count("token_endpoint") == 0) __builtin_trap();
      for (const auto& [name, url] : found.endpoints) {
        if (!tok::is_usable_url(url) || tok::check_url(url)) __builtin_trap();
      }
      // Used only when the document names exactly this issuer.
      const auto doc = nlohmann::json::parse(body, nullptr, false);
      if (!doc.is_object() || !doc.contains("issuer") || doc["issuer"] != std::string(issuer)) __builtin_trap();
    }
  } catch (const tok::Error& e) {
    if (!one_line(e.what()) || !one_line(e.advice())) __builtin_trap();
  }
  // The same body as a token endpoint's refusal: a code is only ever RFC 6749's characters.
  if (const auto answer = tok::read_oauth_error(body)) {
    const std::string code = answer->code();
    if (code.size() > 128 || !std::all_of(code.begin(), code.end(),
                                          [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; })) {
      __builtin_trap();
    }
    if (!code.empty() && code != answer->error) __builtin_trap();
    tok::HttpResponse response;
    response.status = 400;
    response.body = std::string(body);
    const tok::Error e = tok::token_endpoint_error(response, "fetching a token", "", {});
    if (e.oauth_error() != code || !one_line(e.what())) __builtin_trap();
  }
  return 0;
}

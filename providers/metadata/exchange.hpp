#pragma once
// A request `tok serve` received and the response it sends: the server side of a protocol unit
// (providers/metadata/protocol.hpp) reads and writes these, the HTTP server (cli/serve/http_server.hpp)
// carries them. Plain data: the tok-serve.so module includes this and nothing else of tok.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tok {

struct ServerRequest {
  std::string method;
  std::string path;                                // without the query, percent-decoded
  std::multimap<std::string, std::string> params;  // the decoded query
  std::vector<std::pair<std::string, std::string>> headers;

  // A header's value by case-insensitive name; the first one when repeated.
  std::optional<std::string> header(std::string_view name) const;
  std::optional<std::string> param(const std::string& name) const;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string reason;  // a refusal's explanation, for the -v line (never a token or a secret)
};

}  // namespace tok

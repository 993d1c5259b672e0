#include "cli/serve/serve_protocols.hpp"

#include <algorithm>

#include "cli/helpers/helper_url.hpp"

#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

bool is_own_host(std::string_view host) {
  const auto address = read_host_port(host);
  return address && is_loopback(*address);
}

std::string loggable_path(const ServedProtocols& served, const ServerRequest& request) {
  std::string path = request.path;
  for (const auto& protocol : served.protocols) {
    for (const std::string& secret : protocol->path_secrets()) {
      if (secret.empty()) continue;
      for (auto at = path.find(secret); at != std::string::npos; at = path.find(secret)) path.replace(at, secret.size(), "SECRET");
    }
  }
  return printable(path);
}

ServerResponse answer_metadata_request(const ServedProtocols& served, const ServerRequest& request, const Clock& clock) {
  const ServedProtocol* protocol = nullptr;
  for (const auto& p : served.protocols) {
    if (p->owns(request.path)) {
      protocol = p.get();
      break;
    }
  }
  const auto refuse = [&](int status, const std::string& message) {
    if (protocol) return protocol->refusal(status, message);
    return ServerResponse{status, "text/plain", message + "\n", {}, message};
  };
  // Before anything else: a foreign Host is a web page that got here by DNS rebinding. Exactly
  // one Host, every byte of it a name's: with two, or with a NUL or another control character
  // (a C-string reader sees less than was sent), something in front of us may have judged
  // another value than the one we would (docs/serve.md, "Only its own host names").
  std::size_t hosts = 0;
  for (const auto& [name, value] : request.headers) hosts += same_header_name(name, "Host") ? 1 : 0;
  const auto host = request.header("Host");
  if (hosts > 1) return refuse(400, "Bad request: more than one Host header");
  if (host && std::any_of(host->begin(), host->end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return refuse(400, "Bad request: a control character in the Host header");
  }
  if (!host || !is_own_host(*host)) {
    return refuse(403, "Host must name this server (localhost or a loopback address)");
  }
  if (!protocol) return refuse(404, "Not found: this tok serve answers only the protocols it was started with");
  // Nothing here takes a body, and none is read.
  const auto length = request.header("Content-Length");
  if (request.header("Transfer-Encoding") || (length && *length != "0")) {
    return refuse(413, "Request bodies are not accepted");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    ServerResponse r = refuse(405, "Method not allowed");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  try {
    return protocol->answer(request, clock);
  } catch (const Error& e) {
    return protocol->failure(e);
  }
}

}  // namespace tok

#pragma once
// What `tok serve` does with every request before a protocol sees it (docs/serve.md): the Host
// rule against DNS rebinding, no bodies, GET and HEAD only; then the protocol that owns the path
// answers (each protocol is a unit in providers/metadata/, docs/design.md "Protocol units"). Pure:
// a request in, a response out, the time given; no sockets, so every rule has a unit test.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "providers/metadata/protocol.hpp"

namespace tok {

// The protocols one `tok serve` answers, each with its profile's engine.
struct ServedProtocols {
  std::vector<std::unique_ptr<ServedProtocol>> protocols;
};

// Answers one request. Token failures become each protocol's own error shape (never a token,
// never a secret: provider messages are already redacted). Refusals say why in `reason`.
ServerResponse answer_metadata_request(const ServedProtocols& served, const ServerRequest& request, const Clock& clock);

// The Host header names this server: a loopback literal or localhost, with or without a port.
// Anything else is a page on another name rebound to 127.0.0.1 (DNS rebinding).
bool is_own_host(std::string_view host);

// The request's path for the -v log: printable (providers/http.hpp), each protocol's path secret
// replaced by "SECRET".
std::string loggable_path(const ServedProtocols& served, const ServerRequest& request);

}  // namespace tok

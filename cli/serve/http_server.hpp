#pragma once
// The HTTP server `tok serve` runs, behind a seam: the protocols (providers/metadata/, cli/serve_protocols) are plain
// functions from a request to a response, tested without sockets; the server itself is
// libmicrohttpd (an epoll event loop, docs/serve.md says why), in the tok-serve.so module, so
// that no other command loads it at start.
#include <sys/socket.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/world.hpp"
#include "providers/metadata/exchange.hpp"

namespace tok {

using ServerHandler = std::function<ServerResponse(const ServerRequest&)>;
// Called once per request after it was answered: for the -v log line.
using ServerLogger = std::function<void(const ServerRequest&, const ServerResponse&, double milliseconds)>;
// Called for each accepted connection before anything is read from it, with the connection's
// local and peer addresses (its 4-tuple): false closes it unread.
using ConnectionFilter = std::function<bool(const sockaddr_storage& local, const sockaddr_storage& peer)>;

// What a server takes at once. The defaults are tok serve's (docs/serve.md); tok login's one-shot
// listener takes far less.
struct ServerLimits {
  unsigned threads = 4;        // event-loop threads
  unsigned connections = 512;  // at once, all peers together; the one beyond waits in the backlog
  unsigned idle_seconds = 10;  // a connection that sends nothing for this long is closed
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Before run(): other limits than tok serve's.
  virtual void limit(const ServerLimits& limits) = 0;
  // Binds; the port actually bound (port 0 picks one), or -1 with a reason.
  virtual int bind(const std::string& host, int port, std::string& problem) = 0;
  // Instead of bind: serves on a listening socket it was given (socket activation); it becomes
  // the server's. The port it listens on, or -1 with a reason (not a listening TCP socket).
  virtual int adopt(int fd, std::string& problem) = 0;
  // Serves until stop(): every request goes to `handler` (any method, any path), every connection
  // first to `admit`. True when every request in flight finished; false when some were still
  // running after the grace period (docs/serve.md): the server must then not be destroyed, the
  // caller ends the process. The logger's times are measured on `world`'s steady clock.
  virtual bool run(ServerHandler handler, ServerLogger logger, ConnectionFilter admit, const World& world) = 0;
  // From another thread, any number of times: stop accepting, give requests in flight a short
  // grace period, make run() return.
  virtual void stop() = 0;
};

// The server from the tok-serve.so module; throws Error when the module cannot be loaded.
std::unique_ptr<HttpServer> make_http_server();

}  // namespace tok

// tok-serve.so: the HttpServer seam (cli/http_server.hpp) over cpp-httplib. Only `tok serve`
// loads it. Nothing but plain data crosses the module boundary, and no exception does.
#include <httplib.h>

#include <chrono>

#include "cli/http_server.hpp"

namespace tok {
namespace {

// cpp-httplib gives each keep-alive connection a worker thread until the connection closes; its
// default pool (8 threads) makes the 9th client wait for the keep-alive timeout of another. SDKs
// keep their connections open, so the pool is sized for a host's worth of clients.
constexpr std::size_t kWorkers = 64;

class HttplibServer final : public HttpServer {
 public:
  HttplibServer() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  }

  int bind(const std::string& host, int port, std::string& problem) override {
    const int bound = port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
    if (bound < 0) problem = "cannot listen on " + host + ":" + std::to_string(port) + " (in use, or not an address here)";
    return bound;
  }

  void run(ServerHandler handler, ServerLogger logger) override {
    const auto serve = [handler, logger](const httplib::Request& req, httplib::Response& res) {
      const auto start = std::chrono::steady_clock::now();
      ServerRequest request;
      request.method = req.method;
      request.path = req.path;
      for (const auto& [k, v] : req.params) request.params.emplace(k, v);
      for (const auto& [k, v] : req.headers) request.headers.emplace_back(k, v);
      ServerResponse response;
      try {
        response = handler(request);
      } catch (...) {
        response = ServerResponse{500, "text/plain", "internal error\n", {}};
      }
      res.status = response.status;
      for (const auto& [k, v] : response.headers) res.set_header(k.c_str(), v);
      res.set_content(response.body, response.content_type.c_str());
      if (logger) {
        try {
          logger(request, response.status,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        } catch (...) {
        }
      }
    };
    server_.Get(".*", serve);
    server_.Post(".*", serve);
    server_.Put(".*", serve);
    server_.Delete(".*", serve);
    server_.Patch(".*", serve);
    server_.Options(".*", serve);
    server_.listen_after_bind();
  }

  void stop() override { server_.stop(); }

 private:
  httplib::Server server_;
};

}  // namespace
}  // namespace tok

extern "C" __attribute__((visibility("default"))) tok::HttpServer* tok_create_http_server() {
  try {
    return new tok::HttplibServer();
  } catch (...) {
    return nullptr;
  }
}

// For `tok version`.
extern "C" __attribute__((visibility("default"))) const char* tok_module_version() {
  return "cpp-httplib " CPPHTTPLIB_VERSION;
}

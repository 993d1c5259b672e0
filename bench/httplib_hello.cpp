// The baseline for `tok serve` in make bench: a static "hello" from the same server library
// (cpp-httplib, same routing style), so the ratio shows what tok adds to the library's own limit.
#include <httplib.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  httplib::Server server;
  // The same worker pool as tok serve's (cli/http_server_httplib.cpp): the same library, set up alike.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.Get(".*", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"hello\":\"world\"}", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::printf("listening on http://127.0.0.1:%d\n", port);
  std::fflush(stdout);
  (void)argc;
  (void)argv;
  server.listen_after_bind();
  return EXIT_SUCCESS;
}

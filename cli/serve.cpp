// tok serve: a local metadata server for the vendors' SDKs (integrations.md, "tok serve"). Each
// served profile has its own in-process engine (refresh-engine.md 6a) on a small thread pool: a
// stale token is served at once while one background refresh runs, failures back off, and an
// outage of the token source does not stop valid tokens from being served.
#include <pthread.h>
#include <signal.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/http_server.hpp"
#include "cli/serve_peer.hpp"
#include "cli/serve_protocols.hpp"
#include "cli/session.hpp"
#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/module.hpp"
#include "core/refresher.hpp"
#include "providers/http.hpp"
#include "providers/jws.hpp"
#include "providers/oauth.hpp"

namespace tok {

std::unique_ptr<HttpServer> make_http_server() {
  return std::unique_ptr<HttpServer>(
      static_cast<HttpServer*>(create_from_module("tok-serve.so", "tok_create_http_server", "the HTTP server")));
}

namespace {

struct Listen {
  std::string host;  // as given to the server: 127.0.0.1, ::1
  int port = 8789;
  std::string url_authority;  // 127.0.0.1:8789, [::1]:8789
};

// Loopback only: a metadata server hands out tokens to whoever asks.
Listen parse_listen(const std::string& text) {
  Listen l;
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw Error(ErrorKind::usage, fmt::format("--listen '{}': write it as ADDR:PORT, e.g. [::1]:8789", text));
    }
    host = text.substr(0, close + 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      throw Error(ErrorKind::usage, fmt::format("--listen '{}': write it as ADDR:PORT, e.g. 127.0.0.1:8789", text));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    throw Error(ErrorKind::usage, fmt::format("--listen '{}': '{}' is not a port", text, port));
  }
  l.port = std::stoi(port);
  if (!is_loopback_host(host)) {
    throw Error(ErrorKind::usage,
                fmt::format("--listen '{}': tok serve listens on loopback only (127.0.0.1, [::1], localhost): it hands "
                            "tokens to whoever connects",
                            text));
  }
  l.host = host == "[::1]" ? "::1" : host == "localhost" ? "127.0.0.1" : host;
  l.url_authority = (l.host == "::1" ? "[::1]" : l.host) + ":";
  return l;
}

// Lines on stderr from many threads, one at a time.
class Log {
 public:
  explicit Log(const GlobalOptions& options) : options_(options) {}
  void warn(const std::string& m) {
    if (options_.quiet) return;
    std::lock_guard lock(mutex_);
    fmt::print(stderr, "tok: serve: warning: {}\n", m);
  }
  void note(const std::string& m) {
    if (!options_.verbose || options_.quiet) return;
    std::lock_guard lock(mutex_);
    fmt::print(stderr, "tok: serve: {}\n", m);
  }

 private:
  const GlobalOptions& options_;
  std::mutex mutex_;
};

struct Served {
  Profile profile;
  std::unique_ptr<Refresher> engine;
  // A person's login (docs/login.md) lives on disk, shared with every tok process: its rotating
  // refresh token must be used under the one cross-process lock, never from a second copy.
  std::unique_ptr<CacheStore> store;
  std::unique_ptr<DiskRefresher> disk;
  GetResult get() { return disk ? disk->get() : engine->get(); }
};

struct ServeFlags {
  std::string listen = "127.0.0.1:8789";
  std::string databricks, azure_imds, gcp;
  std::vector<std::string> allow_users;
};

int run_serve(Session& session, const ServeFlags& flags) {
  const std::string& databricks = flags.databricks;
  const std::string& azure_imds = flags.azure_imds;
  const std::string& gcp = flags.gcp;
  if (databricks.empty() && azure_imds.empty() && gcp.empty()) {
    throw Error(ErrorKind::usage, "tok serve needs at least one protocol to serve",
                "--databricks PROFILE, --azure-imds PROFILE or --gcp PROFILE");
  }
  const Listen listen = parse_listen(flags.listen);
  // Only the server's own user, and those named: loopback is shared by every account on the host.
  std::vector<uid_t> allowed{::geteuid()};
  for (const auto& user : flags.allow_users) allowed.push_back(user_id(user));

  // Stop on SIGINT/SIGTERM: blocked here, before any thread starts, so that every thread inherits
  // the mask and only the waiter below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  Log log(session.options);
  SystemClock clock;
  std::vector<std::unique_ptr<Served>> served;
  ServedProtocols protocols;
  const auto serve_profile = [&](const std::string& name, const char* protocol) -> ServedProfile {
    // One engine per profile, however many protocols serve it: one refresh for all of them.
    Served* existing = nullptr;
    for (auto& s : served) {
      if (s->profile.name == name) existing = s.get();
    }
    if (existing == nullptr) {
      GlobalOptions options = session.options;
      options.profile = name;
      auto s = std::make_unique<Served>();
      s->profile = resolve_profile(options);
      served.push_back(std::move(s));
      existing = served.back().get();
    }
    Served& mine = *existing;
    const KeyValues& v = mine.profile.values;
    const auto value = [&](const char* key) { return v.count(key) != 0 ? v.at(key) : std::string(); };
    ServedProfile p;
    p.name = name;
    p.host = value("host");
    p.resource = value("resource");
    p.client_id = value("client_id");
    p.gcp_account = v.count("gcp_service_account") != 0 ? v.at("gcp_service_account") : "tok@localhost";
    p.scopes = split_scopes(value("scopes"));
    if (std::string_view(protocol) == "databricks" && p.host.empty()) {
      throw Error(ErrorKind::usage,
                  fmt::format("--databricks {}: the profile has no 'host' (the workspace URL that X-Databricks-Host "
                              "must name)",
                              name));
    }
    if (std::string_view(protocol) == "azure-imds" && p.resource.empty()) {
      throw Error(ErrorKind::usage,
                  fmt::format("--azure-imds {}: the profile has no 'resource' (what IMDS clients ask a token for)", name));
    }
    p.get = [&mine] { return mine.get(); };
    return p;
  };
  if (!databricks.empty()) protocols.databricks = serve_profile(databricks, "databricks");
  if (!azure_imds.empty()) protocols.azure_imds = serve_profile(azure_imds, "azure-imds");
  if (!gcp.empty()) protocols.gcp = serve_profile(gcp, "gcp");
  protocols.databricks_secret = random_id();
  protocols.app_service_secret = random_id();

  // Engines after every profile resolved (a bad profile is exit 2 before anything starts); the
  // pool is destroyed (joined) before the engines it works for.
  ThreadPool pool(2);
  ExecutorLauncher on_pool(pool);
  for (auto& s : served) {
    Profile& profile = s->profile;
    TokenSource source = [&profile](Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token* current) {
      return profile.provider->obtain(deadline, memo, mode, current);
    };
    Diagnostics diagnostics{
        [&log, name = profile.name](const std::string& m) { log.warn(fmt::format("{}: {}", name, m)); },
        [&log, name = profile.name](const std::string& m) { log.note(fmt::format("{}: {}", name, m)); }};
    if (is_login(ProviderSettings(profile.values))) {
      s->store = std::make_unique<CacheStore>(cache_dir(session.options));
      if (auto problem = s->store->ensure_dir()) throw Error(ErrorKind::storage, *problem);
      s->store->dir_fd();  // opened now, before the server's threads share the store
      s->disk = std::make_unique<DiskRefresher>(*s->store, profile.cache_key, profile.engine, clock, std::move(source),
                                                std::move(diagnostics), &on_pool);
    } else {
      s->engine = std::make_unique<Refresher>(std::move(source), profile.engine, clock, pool, std::move(diagnostics));
    }
  }

  auto server = make_http_server();
  std::string problem;
  const int port = server->bind(listen.host, listen.port, problem);
  if (port < 0) throw Error(ErrorKind::usage, fmt::format("--listen {}: {}", flags.listen, problem));
  const std::string authority = listen.url_authority + std::to_string(port);
  // The variables each SDK reads, secrets included: on this user's own stdout, nowhere else. A
  // socket there is the journal (systemd's StandardOutput=journal), kept and read by others.
  struct stat out {};
  const bool private_stdout = ::fstat(STDOUT_FILENO, &out) == 0 && !S_ISSOCK(out.st_mode);
  const auto shown = [&](const std::string& secret) {
    return private_stdout ? secret : std::string("<secret not printed to a socket such as the journal>");
  };
  fmt::print("tok serve: listening on http://{}\n", authority);
  if (protocols.databricks) {
    fmt::print("  databricks ({}): DATABRICKS_METADATA_SERVICE_URL=http://{}{}\n", databricks, authority,
               databricks_path(shown(protocols.databricks_secret)));
  }
  if (protocols.azure_imds) {
    fmt::print("  azure-imds ({}): IDENTITY_ENDPOINT=http://{}{} IDENTITY_HEADER={} AZURE_POD_IDENTITY_AUTHORITY_HOST=http://{}\n",
               azure_imds, authority, kAppServicePath, shown(protocols.app_service_secret), authority);
  }
  if (protocols.gcp) {
    fmt::print("  gcp ({}): GCE_METADATA_HOST={} GCE_METADATA_ROOT={} GCE_METADATA_IP={}\n", gcp, authority, authority,
               authority);
  }
  std::fflush(stdout);

  std::atomic<bool> stopped{false};
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    stopped = true;
    log.note(fmt::format("stopping on {}: requests in flight finish first", signal == SIGINT ? "SIGINT" : "SIGTERM"));
    // stop() before run() started listening would be lost: repeat until run() has returned.
    while (stopped) {
      server->stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  // Without -v there is no line to write: no logger, nothing formatted per request.
  ServerLogger request_log;
  if (session.options.verbose && !session.options.quiet) {
    request_log = [&](const ServerRequest& request, const ServerResponse& response, double ms) {
      log.note(fmt::format("{} {} {} {:.1f}ms{}", printable(request.method), loggable_path(protocols, request),
                           response.status, ms, response.reason.empty() ? "" : " (" + printable(response.reason) + ")"));
    };
  }
  const bool finished = server->run(
      [&](const ServerRequest& request) { return answer_metadata_request(protocols, request, clock); }, request_log,
      [&](const sockaddr_storage& local, const sockaddr_storage& peer) {
        const std::optional<uid_t> uid = peer_socket_uid(local, peer);
        if (uid && std::find(allowed.begin(), allowed.end(), *uid) != allowed.end()) return true;
        log.note(uid ? fmt::format("refused a connection from uid {} (--allow-user admits another user)", *uid)
                     : std::string("refused a connection whose owner is unknown (closed already)"));
        return false;
      });
  if (!finished) {
    // A request was still waiting for its token after the grace period: end here, rather than
    // let a slow token source hold SIGTERM (the answer it waits for would go nowhere).
    log.note("stopping with a request still in flight");
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(0);
  }
  // run() returned without a signal: the server could not start its threads.
  const bool failed = !stopped;
  if (failed) pthread_kill(waiter.native_handle(), SIGTERM);
  while (!stopped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stopped = false;
  waiter.join();
  if (failed) throw Error(ErrorKind::internal, "the HTTP server stopped: it could not start its threads");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the profiles' tokens to SDKs as a local metadata server (Databricks, Azure, GCP)");
  cmd->add_option("--listen", flags->listen, "Loopback ADDR:PORT to listen on (default 127.0.0.1:8789; port 0: any)");
  cmd->add_option("--databricks", flags->databricks, "Profile served by the Databricks metadata-service protocol");
  cmd->add_option("--azure-imds", flags->azure_imds,
                  "Profile served by the Azure managed-identity protocols (App Service and IMDS)");
  cmd->add_option("--gcp", flags->gcp, "Profile served by the GCP metadata server protocol");
  cmd->add_option("--allow-user", flags->allow_users,
                  "Also answer this user's processes (NAME or UID; repeatable; default: only your own)")
      ->allow_extra_args(false)
      ->type_name("NAME|UID");
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_serve(session, *flags); };
  });
}

}  // namespace tok

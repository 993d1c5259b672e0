// tok serve: a local metadata server for the vendors' SDKs (docs/serve.md, docs/integrations.md "tok serve"). Each
// served profile has its own in-process engine (docs/design.md, "One flow, two configurations") on a small thread pool: a
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

#include "cli/helper_url.hpp"
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
#include "providers/metadata/azure_app_service.hpp"
#include "providers/metadata/databricks.hpp"
#include "providers/metadata/aws_ecs.hpp"
#include "providers/metadata/gcp.hpp"
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
  const auto address = read_host_port(text);
  if (!address || address->port.empty()) {
    throw Error(ErrorKind::usage, fmt::format("--listen '{}': write it as ADDR:PORT, e.g. 127.0.0.1:8789 or [::1]:8789",
                                              printable(text)));
  }
  if (!is_loopback(*address)) {
    throw Error(ErrorKind::usage,
                fmt::format("--listen '{}': tok serve listens on loopback only (127.0.0.1, [::1], localhost): it hands "
                            "tokens to whoever connects",
                            printable(text)));
  }
  Listen l;
  l.port = std::stoi(address->port);
  l.host = address->host == "[::1]" ? "::1" : address->host == "localhost" ? "127.0.0.1" : address->host;
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
  std::string databricks, azure_imds, gcp, aws_ecs;
  std::vector<std::string> allow_users;
};

int run_serve(Session& session, const ServeFlags& flags) {
  const std::string& databricks = flags.databricks;
  const std::string& azure_imds = flags.azure_imds;
  const std::string& gcp = flags.gcp;
  const std::string& aws_profile = flags.aws_ecs;
  if (databricks.empty() && azure_imds.empty() && gcp.empty() && aws_profile.empty()) {
    throw Error(ErrorKind::usage, "tok serve needs at least one protocol to serve",
                "--databricks PROFILE, --azure-imds PROFILE, --gcp PROFILE or --aws-ecs PROFILE");
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
  const World& world = session.world();
  const Clock& clock = world.clock();
  std::vector<std::unique_ptr<Served>> served;
  ServedProtocols protocols;
  // One engine per profile, however many protocols serve it: one refresh for all of them.
  const auto served_profile = [&](const std::string& name) -> Served& {
    for (auto& s : served) {
      if (s->profile.name == name) return *s;
    }
    GlobalOptions options = session.options;
    options.profile = name;
    auto s = std::make_unique<Served>();
    s->profile = resolve_profile(options);
    served.push_back(std::move(s));
    return *served.back();
  };
  const auto value = [](const Served& s, const char* key) {
    const KeyValues& v = s.profile.values;
    return v.count(key) != 0 ? v.at(key) : std::string();
  };
  const auto engine = [](Served& s) -> TokenGetter { return [&s] { return s.get(); }; };
  // The Databricks, Azure and GCP protocols hand out bearer tokens: never an AWS credential's parts.
  const auto bearer_engine = [](Served& s) -> TokenGetter {
    return [&s] {
      GetResult result = s.get();
      bearer_token(result.token, s.profile.name, "serve");
      return result;
    };
  };
  const std::string databricks_secret = random_id();
  const std::string app_service_secret = random_id();
  if (!databricks.empty()) {
    Served& s = served_profile(databricks);
    if (value(s, "host").empty()) {
      throw Error(ErrorKind::usage,
                  fmt::format("--databricks {}: the profile has no 'host' (the workspace URL that X-Databricks-Host "
                              "must name)",
                              databricks));
    }
    protocols.protocols.push_back(std::make_unique<databricks::Served>(databricks_secret, value(s, "host"), bearer_engine(s)));
  }
  if (!azure_imds.empty()) {
    Served& s = served_profile(azure_imds);
    if (value(s, "resource").empty()) {
      throw Error(ErrorKind::usage,
                  fmt::format("--azure-imds {}: the profile has no 'resource' (what IMDS clients ask a token for)",
                              azure_imds));
    }
    protocols.protocols.push_back(std::make_unique<azure::ImdsServed>(value(s, "resource"), value(s, "client_id"), bearer_engine(s)));
    protocols.protocols.push_back(std::make_unique<azure::AppServiceServed>(app_service_secret, value(s, "resource"),
                                                                            value(s, "client_id"), bearer_engine(s)));
  }
  if (!gcp.empty()) {
    Served& s = served_profile(gcp);
    const KeyValues& v = s.profile.values;
    const std::string account = value_or_default(v, "gcp_service_account");
    protocols.protocols.push_back(std::make_unique<gcp::Served>(account, split_scopes(value(s, "scopes")), bearer_engine(s)));
  }
  const std::string aws_ecs_secret = random_id();
  if (!aws_profile.empty()) {
    Served& s = served_profile(aws_profile);
    protocols.protocols.push_back(std::make_unique<aws_ecs::Served>(aws_profile, aws_ecs_secret, engine(s)));
  }

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
      s->store = std::make_unique<CacheStore>(cache_dir(session.options), world);
      if (auto problem = s->store->ensure_dir()) throw Error(ErrorKind::storage, *problem);
      s->store->dir_fd();  // opened now, before the server's threads share the store
      s->disk = std::make_unique<DiskRefresher>(*s->store, profile.cache_key, profile.engine, world, std::move(source),
                                                std::move(diagnostics), &on_pool);
    } else {
      s->engine = std::make_unique<Refresher>(std::move(source), profile.engine, world, pool, std::move(diagnostics));
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
  if (!databricks.empty()) {
    fmt::print("  databricks ({}): DATABRICKS_METADATA_SERVICE_URL=http://{}{}\n", databricks, authority,
               databricks::served_path(shown(databricks_secret)));
  }
  if (!azure_imds.empty()) {
    fmt::print("  azure-imds ({}): IDENTITY_ENDPOINT=http://{}{} IDENTITY_HEADER={} AZURE_POD_IDENTITY_AUTHORITY_HOST=http://{}\n",
               azure_imds, authority, azure::kAppServicePath, shown(app_service_secret), authority);
  }
  if (!gcp.empty()) {
    fmt::print("  gcp ({}): GCE_METADATA_HOST={} GCE_METADATA_ROOT={} GCE_METADATA_IP={}\n", gcp, authority, authority,
               authority);
  }
  if (!aws_profile.empty()) {
    fmt::print("  aws-ecs ({}): {}=http://{}{} {}={}\n", aws_profile, aws_ecs::kUriVariable, authority, aws_ecs::kPath,
               aws_ecs::kTokenVariable, shown(aws_ecs_secret));
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
      world.sleep(std::chrono::milliseconds(50));
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
      },
      world);
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
  while (!stopped) world.sleep(std::chrono::milliseconds(10));
  stopped = false;
  waiter.join();
  if (failed) throw Error(ErrorKind::internal, "the HTTP server stopped: it could not start its threads");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the profiles' tokens to SDKs as a local metadata server (Databricks, Azure, GCP, AWS)");
  cmd->add_option("--listen", flags->listen, "Loopback ADDR:PORT to listen on (default 127.0.0.1:8789; port 0: any)");
  cmd->add_option("--databricks", flags->databricks, "Profile served by the Databricks metadata-service protocol");
  cmd->add_option("--azure-imds", flags->azure_imds,
                  "Profile served by the Azure managed-identity protocols (App Service and IMDS)");
  cmd->add_option("--gcp", flags->gcp, "Profile served by the GCP metadata server protocol");
  cmd->add_option("--aws-ecs", flags->aws_ecs, "Profile served by the ECS container-credentials protocol (AWS SDKs)");
  cmd->add_option("--allow-user", flags->allow_users,
                  "Also answer this user's processes (NAME or UID; repeatable; default: only your own)")
      ->allow_extra_args(false)
      ->type_name("NAME|UID");
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_serve(session, *flags); };
  });
}

}  // namespace tok

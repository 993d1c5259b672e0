// tok serve: a local metadata server for the vendors' SDKs (docs/serve.md, docs/integrations.md "tok serve"). Each
// served profile is the same token service every other front end uses (cli/token_service.hpp): the
// shared cache entry under its cross-process locks, so a token fetched by `tok get` serves the
// SDKs and the other way round. Background refreshes run on a small thread pool; the entry's head
// is kept in memory while its file is unchanged (one fstatat per request). The protocols are one
// table (kProtocols); the secrets they carry are kept per user beside the cache (serve.secrets).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/env_lines.hpp"
#include "cli/helpers/helper_url.hpp"
#include "cli/serve/http_server.hpp"
#include "cli/serve/serve_peer.hpp"
#include "cli/serve/serve_protocols.hpp"
#include "cli/session.hpp"
#include "cli/token_service.hpp"
#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/module.hpp"
#include "providers/http.hpp"
#include "providers/jws.hpp"
#include "providers/metadata/aws_ecs.hpp"
#include "providers/metadata/azure_app_service.hpp"
#include "providers/metadata/azure_imds.hpp"
#include "providers/metadata/databricks.hpp"
#include "providers/metadata/gcp.hpp"
#include "providers/process.hpp"

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

// ---- the secrets the protocols carry, kept per user (docs/serve.md, "Secrets") ---------------

// Beside the cache entries, under a name that is no entry's (tok clear leaves it).
constexpr std::string_view kSecretsFile = "serve.secrets";

struct ServeSecrets {
  std::string databricks;   // the Databricks URL's path segment
  std::string app_service;  // IDENTITY_HEADER
  std::string aws_ecs;      // AWS_CONTAINER_AUTHORIZATION_TOKEN
};

bool is_secret(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return false;
  const auto& s = j[key].get_ref<const std::string&>();
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::optional<ServeSecrets> decode_secrets(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !is_secret(j, "databricks") || !is_secret(j, "app_service") || !is_secret(j, "aws_ecs")) {
    return std::nullopt;
  }
  return ServeSecrets{j["databricks"].get<std::string>(), j["app_service"].get<std::string>(),
                      j["aws_ecs"].get<std::string>()};
}

// The user's secrets: read from the file, made on first use (128 bits each from getrandom), made
// anew with --rotate-secrets. Every start reuses them, so a restart keeps every URL and header a
// client was given. The file is refused like a cache entry (Error(storage)) when it is a
// symlink, another user's, or readable or writable by others.
ServeSecrets user_secrets(const CacheStore& store, bool rotate, Log& log) {
  const std::string path = (store.dir() / std::string(kSecretsFile)).string();
  if (!rotate) {
    if (const auto text = store.read_file(kSecretsFile, 4096)) {
      if (auto secrets = decode_secrets(*text)) return *secrets;
      log.warn(fmt::format("{} is damaged: making new secrets (clients must take the new variables)", path));
      rotate = true;
    }
  }
  const ServeSecrets made{random_id(), random_id(), random_id()};
  const std::string text =
      nlohmann::json{{"databricks", made.databricks}, {"app_service", made.app_service}, {"aws_ecs", made.aws_ecs}}
          .dump() +
      "\n";
  bool written = false;
  if (auto problem = store.write_file(kSecretsFile, text, rotate, &written)) {
    throw Error(ErrorKind::storage, fmt::format("cannot keep tok serve's secrets: {}", *problem));
  }
  if (written) return made;
  // Another tok serve made them first: theirs.
  if (const auto theirs = store.read_file(kSecretsFile, 4096)) {
    if (auto secrets = decode_secrets(*theirs)) return *secrets;
  }
  throw Error(ErrorKind::storage, fmt::format("cannot read tok serve's secrets from {}", path));
}

// ---- the protocols: one row each --------------------------------------------------------------

// One variable an SDK reads, as the banner and --print-env give it.
struct SdkVariable {
  std::string name;
  std::string value;
  bool secret = false;  // never printed to a socket (the journal)
};

using Variables = std::vector<SdkVariable>;

std::string value_of(const Profile& profile, const char* key) {
  const auto it = profile.values.find(key);
  return it != profile.values.end() ? it->second : std::string();
}

// A protocol `tok serve` can speak: its flag, what it needs of the profile, the units that answer
// for it (providers/metadata/), the variables its SDKs read. Adding a protocol is one row.
struct ServedKind {
  const char* flag;  // --databricks
  const char* name;  // databricks, in the banner
  const char* help;
  // A usage error when the profile lacks what the protocol needs ("" when nothing is needed).
  const char* required_key;
  const char* required_why;
  // Bearer tokens only (every protocol but AWS's, which hands out an AWS credential's parts).
  bool bearer;
  void (*add)(ServedProtocols& into, const Profile& profile, const ServeSecrets& secrets, TokenGetter get);
  Variables (*variables)(const std::string& authority, const ServeSecrets& secrets);
};

constexpr std::size_t kProtocolCount = 4;
const std::array<ServedKind, kProtocolCount> kProtocols{{
    {"--databricks", "databricks", "Profile served by the Databricks metadata-service protocol", "host",
     "the workspace URL that X-Databricks-Host must name", true,
     [](ServedProtocols& into, const Profile& p, const ServeSecrets& s, TokenGetter get) {
       into.protocols.push_back(
           std::make_unique<databricks::Served>(s.databricks, value_of(p, "host"), std::move(get)));
     },
     [](const std::string& authority, const ServeSecrets& s) {
       return Variables{{"DATABRICKS_METADATA_SERVICE_URL",
                         fmt::format("http://{}{}", authority, databricks::served_path(s.databricks)), true}};
     }},
    {"--azure-imds", "azure-imds", "Profile served by the Azure managed-identity protocols (App Service and IMDS)",
     "resource", "what IMDS clients ask a token for", true,
     [](ServedProtocols& into, const Profile& p, const ServeSecrets& s, TokenGetter get) {
       into.protocols.push_back(
           std::make_unique<azure::ImdsServed>(value_of(p, "resource"), value_of(p, "client_id"), get));
       into.protocols.push_back(std::make_unique<azure::AppServiceServed>(s.app_service, value_of(p, "resource"),
                                                                          value_of(p, "client_id"), std::move(get)));
     },
     [](const std::string& authority, const ServeSecrets& s) {
       return Variables{{"IDENTITY_ENDPOINT", fmt::format("http://{}{}", authority, azure::kAppServicePath), false},
                        {"IDENTITY_HEADER", s.app_service, true},
                        {"AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://" + authority, false}};
     }},
    {"--gcp", "gcp", "Profile served by the GCP metadata server protocol", "", "", true,
     [](ServedProtocols& into, const Profile& p, const ServeSecrets&, TokenGetter get) {
       into.protocols.push_back(std::make_unique<gcp::Served>(value_or_default(p.values, "gcp_service_account"),
                                                              split_scopes(value_of(p, "scopes")), std::move(get)));
     },
     [](const std::string& authority, const ServeSecrets&) {
       return Variables{{"GCE_METADATA_HOST", authority, false},
                        {"GCE_METADATA_ROOT", authority, false},
                        {"GCE_METADATA_IP", authority, false}};
     }},
    {"--aws-ecs", "aws-ecs", "Profile served by the ECS container-credentials protocol (AWS SDKs)", "", "", false,
     [](ServedProtocols& into, const Profile& p, const ServeSecrets& s, TokenGetter get) {
       into.protocols.push_back(std::make_unique<aws_ecs::Served>(p.name, s.aws_ecs, std::move(get)));
     },
     [](const std::string& authority, const ServeSecrets& s) {
       return Variables{
           {std::string(aws_ecs::kUriVariable), fmt::format("http://{}{}", authority, aws_ecs::kPath), false},
           {std::string(aws_ecs::kTokenVariable), s.aws_ecs, true}};
     }},
}};

struct ServeFlags {
  std::string listen = "127.0.0.1:8789";
  std::array<std::string, kProtocolCount> profiles;  // by row of kProtocols; empty: not served
  std::vector<std::string> allow_users;
  bool print_env = false;
  std::string shell = "sh";
  bool rotate_secrets = false;
};

// A served profile: its token service, shared by every protocol that serves it (one refresh for
// all of them).
struct Served {
  Profile profile;
  std::unique_ptr<TokenService> service;
};

// --print-env: the lines that set the SDKs' variables, in the shell's (or CI system's) syntax, as
// `tok env` writes them: GitHub's lines are appended to $GITHUB_ENV, each secret masked first.
void print_env(const World& world, const std::string& shell, const Variables& variables) {
  std::string lines;
  for (const auto& v : variables) {
    lines += shell == "sh"     ? sh_env_line(v.name, v.value)
             : shell == "fish" ? fish_env_line(v.name, v.value)
                               : dotenv_line(v.name, v.value);
  }
  if (shell != "github") {
    fmt::print("{}", lines);
    return;
  }
  const char* github_env = world.env("GITHUB_ENV");
  if (github_env == nullptr || *github_env == '\0') {
    throw Error(ErrorKind::usage, "--shell github: $GITHUB_ENV is not set", "GitHub Actions sets it in every step");
  }
  for (const auto& v : variables) {
    if (v.secret) fmt::print("::add-mask::{}\n", v.value);
  }
  std::fflush(stdout);
  const int fd = ::open(github_env, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  const ssize_t n = fd < 0 ? -1 : ::write(fd, lines.data(), lines.size());
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (n != static_cast<ssize_t>(lines.size())) {
    throw Error(ErrorKind::usage, fmt::format("cannot write $GITHUB_ENV ({}): {}", printable(github_env),
                                              n < 0 ? std::strerror(err) : "short write"));
  }
}

// Socket activation (sd_listen_fds(3)): the listening socket systemd passed as descriptor 3, when
// LISTEN_PID names this process; -1 when none was passed. The variables are removed, so that no
// child takes them for its own.
constexpr int kListenFdsStart = 3;  // SD_LISTEN_FDS_START: the first descriptor systemd passes

int activated_socket(const World& world) {
  const char* pid = world.env("LISTEN_PID");
  const char* fds = world.env("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr) return -1;
  const bool ours = std::string(pid) == std::to_string(::getpid());
  const std::string count = fds;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!ours) return -1;
  if (count != "1") {
    throw Error(ErrorKind::usage,
                fmt::format("socket activation passed {} sockets: tok serve listens on one", printable(count)),
                "ListenStream= once in tok-serve.socket");
  }
  return kListenFdsStart;
}

// The authority (ADDR:PORT) a passed socket listens on, refused unless it is loopback.
std::string loopback_authority(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  char text[INET6_ADDRSTRLEN] = "";
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
    if (local.ss_family == AF_INET) {
      const auto& in = reinterpret_cast<const sockaddr_in&>(local);
      if ((ntohl(in.sin_addr.s_addr) >> 24) == 127 && ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text)) {
        return fmt::format("{}:{}", text, ntohs(in.sin_port));
      }
    } else if (local.ss_family == AF_INET6) {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(local);
      if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) return fmt::format("[::1]:{}", ntohs(in6.sin6_port));
    }
  }
  throw Error(ErrorKind::usage,
              "the socket passed by socket activation is not on loopback: tok serve listens on loopback only "
              "(ListenStream=127.0.0.1:PORT or [::1]:PORT)");
}

int run_serve(Session& session, const ServeFlags& flags) {
  if (std::all_of(flags.profiles.begin(), flags.profiles.end(), [](const auto& p) { return p.empty(); })) {
    throw Error(ErrorKind::usage, "tok serve needs at least one protocol to serve",
                "--databricks PROFILE, --azure-imds PROFILE, --gcp PROFILE or --aws-ecs PROFILE");
  }
  const Listen listen = parse_listen(flags.listen);
  if (flags.print_env && listen.port == 0) {
    throw Error(ErrorKind::usage, "--print-env needs the fixed port the server listens on, not port 0",
                "give the --listen ADDR:PORT of the running tok serve (default 127.0.0.1:8789)");
  }
  // Only the server's own user, and those named: loopback is shared by every account on the host.
  std::vector<uid_t> allowed{::geteuid()};
  for (const auto& user : flags.allow_users) allowed.push_back(user_id(user));

  // Stop on SIGINT/SIGTERM: blocked here, before any thread starts, so that every thread inherits
  // the mask and only the waiter below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (!flags.print_env) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  Log log(session.options);
  const World& world = session.world();
  const Clock& clock = world.clock();
  // Every profile resolved and checked first: a bad profile is exit 2 before anything starts.
  std::vector<std::unique_ptr<Served>> served;
  std::array<Served*, kProtocolCount> served_by{};
  for (std::size_t i = 0; i < kProtocols.size(); ++i) {
    const std::string& name = flags.profiles[i];
    if (name.empty()) continue;
    const ServedKind& kind = kProtocols[i];
    // Errors name the served profile (main prints the session's), never the default one.
    session.subject = printable(name);
    auto same = std::find_if(served.begin(), served.end(), [&](const auto& s) { return s->profile.name == name; });
    if (same == served.end()) {
      GlobalOptions options = session.options;
      options.profile = name;
      auto s = std::make_unique<Served>();
      s->profile = resolve_profile(options);
      served.push_back(std::move(s));
      same = served.end() - 1;
    }
    // A GCP identity token is not an access token: every served protocol hands out access
    // tokens, and an SDK would send this one where an access token goes.
    if (value_of((*same)->profile, "provider") == "metadata" &&
        !value_of((*same)->profile, "id_token_audience").empty()) {
      throw Error(ErrorKind::usage,
                  fmt::format("{} {}: the profile gives identity tokens (id_token_audience); tok serve hands out "
                              "access tokens only",
                              kind.flag, name),
                  "serve a profile without id_token_audience; tok get prints the identity token");
    }
    if (*kind.required_key != '\0' && value_of((*same)->profile, kind.required_key).empty()) {
      throw Error(ErrorKind::usage, fmt::format("{} {}: the profile has no '{}' ({})", kind.flag, name,
                                                kind.required_key, kind.required_why));
    }
    served_by[i] = same->get();
  }

  session.subject = "serve";  // what follows is the server's, not one profile's
  // The shared cache: the entries every tok process uses, and the user's secrets beside them.
  CacheStore store(cache_dir(session.options), world);
  // A cache that cannot keep what is fetched (read-only, full) would cost a fetch per request.
  if (auto problem = store.unwritable()) {
    throw Error(ErrorKind::storage, fmt::format("tok serve keeps its tokens in the cache: {}", *problem));
  }
  store.dir_fd();  // opened now, before the server's threads share the store
  const ServeSecrets secrets = user_secrets(store, flags.rotate_secrets, log);

  if (flags.print_env) {
    const std::string authority = listen.url_authority + std::to_string(listen.port);
    Variables variables;
    for (std::size_t i = 0; i < kProtocols.size(); ++i) {
      if (served_by[i] == nullptr) continue;
      for (auto& v : kProtocols[i].variables(authority, secrets)) variables.push_back(std::move(v));
    }
    print_env(world, flags.shell, variables);
    return 0;
  }

  // The token services after every profile resolved; the pool is destroyed (joined) before the
  // services it works for.
  ThreadPool pool(2);
  ExecutorLauncher on_pool(pool);
  for (auto& s : served) {
    const std::string& name = s->profile.name;
    Diagnostics diagnostics{[&log, name](const std::string& m) { log.warn(fmt::format("{}: {}", name, m)); },
                            [&log, name](const std::string& m) { log.note(fmt::format("{}: {}", name, m)); }};
    s->service = make_token_service(s->profile, store, world, std::move(diagnostics), {&on_pool, KeepCopy::yes});
  }
  ServedProtocols protocols;
  for (std::size_t i = 0; i < kProtocols.size(); ++i) {
    Served* s = served_by[i];
    if (s == nullptr) continue;
    TokenGetter get = [s] { return s->service->get(); };
    if (kProtocols[i].bearer) {
      // The Databricks, Azure and GCP protocols hand out bearer tokens: never an AWS credential's parts.
      get = [s] {
        GetResult result = s->service->get();
        bearer_token(result.token, s->profile.name, "serve");
        return result;
      };
    }
    kProtocols[i].add(protocols, s->profile, secrets, std::move(get));
  }

  auto server = make_http_server();
  std::string problem;
  std::string authority;
  if (const int fd = activated_socket(world); fd >= 0) {
    authority = loopback_authority(fd);
    if (server->adopt(fd, problem) < 0) throw Error(ErrorKind::usage, fmt::format("socket activation: {}", problem));
    log.note(fmt::format("serving on the socket passed by socket activation ({})", authority));
  } else {
    const int port = server->bind(listen.host, listen.port, problem);
    if (port < 0) throw Error(ErrorKind::usage, fmt::format("--listen {}: {}", flags.listen, problem));
    authority = listen.url_authority + std::to_string(port);
  }
  // The variables each SDK reads, secrets included: on this user's own stdout, nowhere else. A
  // socket there is the journal (systemd's StandardOutput=journal), kept and read by others:
  // `tok serve --print-env` gives them from the secrets file instead.
  struct stat out {};
  const bool private_stdout = ::fstat(STDOUT_FILENO, &out) == 0 && !S_ISSOCK(out.st_mode);
  fmt::print("tok serve: listening on http://{}\n", authority);
  for (std::size_t i = 0; i < kProtocols.size(); ++i) {
    if (served_by[i] == nullptr) continue;
    std::string line = fmt::format("  {} ({}):", kProtocols[i].name, served_by[i]->profile.name);
    for (const auto& v : kProtocols[i].variables(authority, secrets)) {
      line += fmt::format(
          " {}={}", v.name,
          v.secret && !private_stdout ? "<secret not printed to a socket: tok serve --print-env>" : v.value);
    }
    fmt::print("{}\n", line);
  }
  std::fflush(stdout);

  // Warm-up: every served profile's token is fetched (or found in the cache) now, before the first
  // client asks; a client that asks meanwhile waits for this very fetch (the entry's refresh lock).
  for (auto& s : served) {
    pool.submit([&log, s = s.get()] {
      try {
        const GetResult result = s->service->get();
        log.note(fmt::format("{}: token ready ({})", s->profile.name, to_string(result.state)));
      } catch (const std::exception& e) {
        log.warn(fmt::format("{}: no token at start: {} (clients that ask will try again)", s->profile.name, e.what()));
      }
    });
  }

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
                           response.status, ms,
                           response.reason.empty() ? "" : " (" + printable(response.reason) + ")"));
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
    end_running_processes();  // a `provider = command` program it waits for ends with us
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(0);
  }
  end_running_processes();  // a background refresh's program, if one runs
  // run() returned without a signal: the server could not start its threads.
  const bool failed = !stopped;
  if (failed) pthread_kill(waiter.native_handle(), SIGTERM);
  while (!stopped) world.sleep(std::chrono::milliseconds(10));
  stopped = false;
  waiter.join();
  if (failed) throw Error(ErrorKind::internal, "the HTTP server stopped: it could not start its threads");
  // The pool may still run a warm-up or a background refresh whose token source hangs: nothing
  // waits for it (a commit is atomic, the locks die with the process, docs/design.md).
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(0);
}

}  // namespace

void add_serve_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the profiles' tokens to SDKs as a local metadata server (Databricks, Azure, GCP, AWS)");
  cmd->add_option("--listen", flags->listen,
                  "Loopback ADDR:PORT to listen on (default 127.0.0.1:8789; port 0: any; a socket passed by systemd "
                  "socket activation takes its place)");
  for (std::size_t i = 0; i < kProtocols.size(); ++i)
    cmd->add_option(kProtocols[i].flag, flags->profiles[i], kProtocols[i].help);
  cmd->add_option("--allow-user", flags->allow_users,
                  "Also answer this user's processes (NAME or UID; repeatable; default: only your own)")
      ->allow_extra_args(false)
      ->type_name("NAME|UID");
  CLI::Option* print_env_flag =
      cmd->add_flag("--print-env", flags->print_env,
                    "Print the lines that set the SDKs' variables for the tok serve on --listen, and exit");
  cmd->add_option("--shell", flags->shell, "With --print-env: sh (default), fish, github or gitlab")
      ->check(CLI::IsMember({"sh", "fish", "github", "gitlab"}))
      ->needs(print_env_flag);
  cmd->add_flag("--rotate-secrets", flags->rotate_secrets,
                "Make new secrets (the App Service header, the AWS token, the Databricks path) instead of reusing the "
                "kept ones");
  cmd->callback([&session, flags] { session.run = [&session, flags] { return run_serve(session, *flags); }; });
}

}  // namespace tok

// tok kube-credential: a Kubernetes client-go exec credential plugin (docs/integrations.md). kubectl
// runs it from the kubeconfig's users[].user.exec and reads an ExecCredential on stdout.
//
// kubectl has no `erase`: after a 401 it runs the plugin again, in the same process, and says
// nothing else. So tok remembers which kubectl processes (pid and start time, from /proc; only
// when $KUBERNETES_EXEC_INFO says a client-go program is asking) it gave which token, and how many
// times. When the same process asks again for the token it was given, that token was refused:
// tok fetches a new one, once (a token fetched that way is not taken for refused in turn). A new
// kubectl process is a plain cache hit (docs/helpers.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/helpers/credential_input.hpp"
#include "cli/id_token.hpp"
#include "cli/session.hpp"
#include "core/descriptors.hpp"
#include "core/time_format.hpp"

namespace tok {

namespace {

// A process as /proc names it for its lifetime: the pid and its start time (clock ticks since
// boot, field 22 of /proc/PID/stat), so a reused pid is another process.
struct ProcessId {
  long pid = 0;
  unsigned long long start = 0;
  bool operator==(const ProcessId&) const = default;
};

std::optional<ProcessId> parent_process() {
  const long ppid = static_cast<long>(::getppid());
  if (ppid <= 1) return std::nullopt;
  const UniqueFd fd(::open(fmt::format("/proc/{}/stat", ppid).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  const auto stat = read_capped(fd.get(), 4096);
  if (!stat || stat->empty()) return std::nullopt;
  const std::string_view text(*stat);
  // The command name (field 2) is in parentheses and may hold anything, ')' and spaces included:
  // the fields after it start after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::istringstream fields{std::string(text.substr(close + 1))};
  std::string field;
  for (int i = 3; i <= 22 && (fields >> field); ++i) {
    if (i == 22) {
      char* end = nullptr;
      const unsigned long long start = std::strtoull(field.c_str(), &end, 10);
      if (end == field.c_str() || *end != '\0') return std::nullopt;
      return ProcessId{ppid, start};
    }
  }
  return std::nullopt;
}

// Which token a kubectl process was given: 64-bit FNV-1a of the token, enough to tell two
// tokens apart (the file sits beside the token itself, in the same 0700 directory).
std::uint64_t fingerprint(std::string_view token) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : token) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

struct KubeCall {
  ProcessId parent;
  std::uint64_t token = 0;
  int given = 0;           // how many times this process was given this token
  bool refetched = false;  // the token was fetched anew after a refusal: not refused again
};

// How many times kubectl asks for a token it keeps; one more request is a refusal.
constexpr int kKubectlAsksPerProcess = 1;

// The last calls, one line each, in `<key>.kube` of the cache directory. Concurrent kubectl
// processes each find their own line; a line lost to a race only means a plain cache hit.
constexpr std::size_t kKubeCallsKept = 16;

std::string calls_file(const Profile& profile) { return profile.cache_key + ".kube"; }

std::vector<KubeCall> read_calls(const CacheStore& store, const Profile& profile) {
  std::vector<KubeCall> calls;
  const int dfd = store.dir_fd();
  if (dfd < 0) return calls;
  const UniqueFd fd(::openat(dfd, calls_file(profile).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return calls;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) return calls;
  const auto text = read_capped(fd.get(), 4096);
  if (!text) return calls;
  std::istringstream lines{*text};
  KubeCall call;
  int refetched = 0;
  while (calls.size() < kKubeCallsKept &&
         (lines >> call.parent.pid >> call.parent.start >> call.token >> call.given >> refetched)) {
    call.refetched = refetched != 0;
    calls.push_back(call);
  }
  return calls;
}

// Replaced by rename, so a reader sees the old list or the new one. Failing to write only means
// the next call from this process is a plain cache hit.
void write_calls(const CacheStore& store, const Profile& profile, const std::vector<KubeCall>& calls) {
  const int dfd = store.dir_fd();
  if (dfd < 0) return;
  std::string text;
  for (const KubeCall& c : calls) {
    text += fmt::format("{} {} {} {} {}\n", c.parent.pid, c.parent.start, c.token, c.given, c.refetched ? 1 : 0);
  }
  const std::string tmp = fmt::format(".{}.{}.tmp", calls_file(profile), ::getpid());
  const int fd = ::openat(dfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written || ::renameat(dfd, tmp.c_str(), dfd, calls_file(profile).c_str()) != 0) ::unlinkat(dfd, tmp.c_str(), 0);
}

}  // namespace

namespace {

// What kubectl is given: the access token, or with --id-token (kube_token = id_token) the login's
// ID token, each with its own expiry (docs/integrations.md, "kubectl with OIDC").
struct KubeToken {
  std::string token;
  std::optional<TimePoint> expiry;
};

KubeToken kube_token(Session& session, ProfileContext& ctx, const GetResult& result, bool id_token) {
  if (!id_token) {
    bearer_token(result.token, ctx.profile.name, "kube-credential");
    return {result.token.access_token, result.token.expiry};
  }
  IdToken id = require_id_token(result.token, ctx.clock.now(), ctx.profile.name, ctx.profile.engine,
                                [&session](const std::string& m) { session.warn(m); });
  return {std::move(id.token), id.expiry};
}

}  // namespace

int run_kube_credential(Session& session, const FreshnessFlags& freshness, bool id_token_flag) {
  // The answer must carry the apiVersion kubectl asked for, else kubectl refuses it.
  const char* exec_info = session.world().env("KUBERNETES_EXEC_INFO");
  const ExecInfo info = read_exec_info(exec_info);
  GetOptions options = get_options(freshness);
  ProfileContext ctx(session);
  const bool id_token = id_token_flag || value_or_default(ctx.profile.values, "kube_token") == "id_token";
  if (id_token) options = id_token_options(options, ctx.profile.engine);
  GetResult result = ctx.engine(session).get(options);
  KubeToken given_token = kube_token(session, ctx, result, id_token);

  // client-go always sets the variable: without it, the caller is a person or a script
  // running tok twice, not kubectl after a 401.
  const auto parent = exec_info != nullptr ? parent_process() : std::nullopt;
  if (parent) {
    std::vector<KubeCall> calls = read_calls(ctx.store, ctx.profile);
    const auto same = std::find_if(calls.begin(), calls.end(), [&](const KubeCall& c) { return c.parent == *parent; });
    // A token tok fetched because its predecessor was refused is not taken for refused in turn:
    // kubectl sometimes asks twice with no request in between (seen right after a refusal,
    // tests/peers/test_kubectl.py), and one new token per refusal is the bound.
    const std::uint64_t given = fingerprint(given_token.token);
    const bool after_refusal =
        std::any_of(calls.begin(), calls.end(), [&](const KubeCall& c) { return c.token == given && c.refetched; });
    KubeCall now{*parent, given, 1, after_refusal};
    if (same != calls.end() && same->token == now.token) {
      now.given = same->given + 1;
      if (now.given > kKubectlAsksPerProcess && !now.refetched && !options.force_refresh) {
        session.verbose("the same kubectl process asks again for the token it was given (the server refused it): "
                        "fetching a new one");
        options.force_refresh = true;
        result = ctx.engine(session).get(options);
        given_token = kube_token(session, ctx, result, id_token);
        now = KubeCall{*parent, fingerprint(given_token.token), 1, true};
      }
    }
    if (same != calls.end()) calls.erase(same);
    calls.insert(calls.begin(), now);
    if (calls.size() > kKubeCallsKept) calls.resize(kKubeCallsKept);
    write_calls(ctx.store, ctx.profile, calls);
  }

  // kubectl reuses the token until this instant, so it is the expiry minus the buffer: it asks
  // again (and tok refreshes) before the token dies. No expiry: no timestamp, kubectl keeps it.
  std::optional<TimePoint> reuse_until;
  if (given_token.expiry) reuse_until = *given_token.expiry - ctx.profile.engine.expiry_buffer;
  fmt::print("{}", exec_credential(info.api_version, given_token.token, reuse_until));
  return 0;
}

void add_kube_credential_command(CLI::App& app, Session& session) {
  auto freshness = std::make_shared<FreshnessFlags>();
  auto id_token = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("kube-credential", "Kubernetes exec credential plugin: print an ExecCredential");
  add_freshness_flags(*cmd, *freshness);
  cmd->add_flag("--id-token", *id_token,
                "Hand kubectl the login's OpenID Connect ID token (an OIDC cluster; kube_token = id_token)");
  cmd->callback([&session, freshness, id_token] {
    session.run = [&session, freshness, id_token] { return run_kube_credential(session, *freshness, *id_token); };
  });
}

}  // namespace tok

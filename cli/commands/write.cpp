// tok write PATH: the profile's token, as `tok get` prints it, written to a file for programs that
// read a token from a file (docs/files.md, "A token file as a sink").
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/arguments.hpp"
#include "cli/atomic_file.hpp"
#include "cli/session.hpp"
#include "core/descriptors.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/jws.hpp"
#include "providers/process.hpp"

namespace tok {

namespace {

struct WriteFlags {
  GetFlags get;
  std::string path;
  std::string mode = "0600";
  bool keep = false;
  std::string exec;  // --exec: a shell command run after each rewrite (--keep)
};

// --mode: octal, no more than rw for anyone, and never writable by group or others (another user
// could then put their own token in).
mode_t parse_write_mode(const std::string& text) {
  mode_t mode = 0;
  bool ok = !text.empty() && text.size() <= 4;
  for (char c : text) {
    if (c < '0' || c > '7') ok = false;
    mode = mode * 8 + static_cast<mode_t>(c - '0');
  }
  if (!ok || mode > 0777) throw Error(ErrorKind::usage, "--mode: an octal file mode such as 0600 or 0640");
  if ((mode & 0022) != 0) {
    throw Error(ErrorKind::usage, fmt::format("--mode {}: group or others could write the token file", text),
                "drop the w for group and others (e.g. 0640)");
  }
  if ((mode & 0400) == 0) throw Error(ErrorKind::usage, fmt::format("--mode {}: you could not read it", text));
  return mode;
}

[[noreturn]] void write_fail(const std::string& what, const std::filesystem::path& path, int error) {
  file_write_failed(path, what, error);
}

// The directory `path` is written in, opened once: it must be the user's and not writable by
// group or others (the cache's rule: docs/design.md, "Cache file and locks"). Checked before any
// token is asked for.
struct TargetDir {
  std::filesystem::path path;
  std::string name;
  UniqueFd fd;
};

TargetDir open_target_dir(const std::filesystem::path& path) {
  TargetDir target;
  target.path = path;
  target.name = path.filename().string();
  if (target.name.empty() || target.name == "." || target.name == "..") {
    throw Error(ErrorKind::usage, fmt::format("tok write {}: not a file name", path.string()));
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  target.fd = UniqueFd(above_stdio(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
  if (!target.fd) write_fail("cannot open its directory", path, errno);
  struct stat st {};
  if (::fstat(target.fd.get(), &st) != 0) write_fail("cannot stat its directory", path, errno);
  if (st.st_uid != ::geteuid()) {
    throw Error(ErrorKind::storage, fmt::format("refusing to write {}: its directory {} is owned by uid {}, not by you",
                                                path.string(), dir.string(), st.st_uid));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw Error(ErrorKind::storage,
                fmt::format("refusing to write {}: group or others may write its directory {} (mode {:o})",
                            path.string(), dir.string(), st.st_mode & 07777),
                fmt::format("chmod go-w {}", dir.string()));
  }
  return target;
}

// Atomically replaces the file with `text`: a temporary file beside it (a random name, never the
// token's), fsync, rename over the old file, fsync of the directory. A reader sees the old file or
// the new one, whole, never an empty or partial one; a failure leaves the old one as it was.
void write_atomically(const TargetDir& target, const std::string& text, mode_t mode) {
  replace_file_atomically(target.fd.get(), target.name, text, mode, target.path);
}

// ---- tok write --keep (docs/files.md, "Keeping the file valid") -------------------------------

// SIGTERM and SIGINT end the loop with exit status 0 within a second. While it waits or replaces
// the file, the handler only says so through a self-pipe (the wait wakes; a replacement finishes,
// so no temporary file is left behind); at any other moment (a fetch that may wait a minute for
// a service that is down, the --exec command) it ends the process at once: the cache's locks are
// flocks, released by the kernel, and the file is left whole.
std::atomic<int> stop_pipe_write{-1};
volatile std::sig_atomic_t stop_deferred = 0;
volatile std::sig_atomic_t stop_asked = 0;

extern "C" void on_stop_signal(int) {
  const int saved = errno;
  stop_asked = 1;
  if (stop_deferred == 0) ::_exit(0);
  if (const int fd = stop_pipe_write.load(); fd >= 0) {
    const char byte = 's';
    [[maybe_unused]] const auto n = ::write(fd, &byte, 1);
  }
  errno = saved;
}

// The pipe and the handlers, for the life of the loop.
struct StopSignals {
  UniqueFd read_end, write_end;
  StopSignals() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw Error(ErrorKind::internal, fmt::format("tok write --keep: cannot make a pipe: {}", std::strerror(errno)));
    }
    read_end = UniqueFd(fds[0]);
    write_end = UniqueFd(fds[1]);
    stop_pipe_write.store(write_end.get());
    struct sigaction on_stop {};
    on_stop.sa_handler = on_stop_signal;
    sigemptyset(&on_stop.sa_mask);
    on_stop.sa_flags = SA_RESTART;
    for (int signal : {SIGTERM, SIGINT}) ::sigaction(signal, &on_stop, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  ~StopSignals() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int signal : {SIGTERM, SIGINT}) ::sigaction(signal, &dfl, nullptr);
    stop_pipe_write.store(-1);
  }
};

// Marks a stretch in which a stop waits for the stretch's end (the handler only writes the pipe).
struct DeferStop {
  DeferStop() { stop_deferred = 1; }
  ~DeferStop() { stop_deferred = 0; }
  DeferStop(const DeferStop&) = delete;
  DeferStop& operator=(const DeferStop&) = delete;
};

// The longest the loop waits between two looks at the cache (a cache hit: no request), so a
// token another caller refreshed, or a token file that changed, reaches the file within it.
constexpr Duration kLongestWait = std::chrono::minutes(1);
// The shortest: a token that is already due again (its provider's tokens are shorter than
// expiry_buffer) must not turn the loop into a stream of requests.
constexpr Duration kShortestWait = std::chrono::seconds(1);
// Retries after a failure: 1 s, doubling, at most 30 s (each with up to 10% more, drawn).
constexpr Duration kFirstRetry = std::chrono::seconds(1);
constexpr Duration kLongestRetry = std::chrono::seconds(30);
// The --exec command's time limit.
constexpr Duration kExecTimeout = std::chrono::seconds(60);

// When the file's token must be replaced: the entry's stale_after (the engine's own point, jitter
// included), or earlier so that it still has --min-valid (and expiry_buffer) left. A token that
// cannot have that much (the provider's tokens are shorter than asked: the engine warned) is
// replaced at its stale point or expiry_buffer before it expires, not at once again and again.
std::optional<TimePoint> due_at(const GetResult& result, const EngineSettings& settings, Duration min_valid,
                                TimePoint now) {
  const Token& token = result.token;
  if (!token.expiry) return std::nullopt;
  std::optional<TimePoint> stale = result.stale_after;
  if (!stale) stale = compute_stale_after(token, now, settings);
  const TimePoint due = std::min(*stale, *token.expiry - settings.expiry_buffer - min_valid);
  if (due > now) return due;
  return std::min(*stale, *token.expiry - settings.expiry_buffer);
}

// The command gets the file, not what mints the token: the profile's secret variables are taken
// out of its environment, as tok exec does.
void run_reload(Session& session, const std::string& command, const std::string& path,
                const std::vector<std::string>& secrets) {
  ProcessRequest request;
  request.argv = {"/bin/sh", "-c", command};
  request.unset_env = secrets;
  request.deadline = session.world().steady_now() + kExecTimeout;
  const ProcessResult result = system_process_runner().run(request);
  if (result.succeeded()) {
    session.verbose(fmt::format("--exec after writing {}: {}", path, result.summary()));
    return;
  }
  const std::string why = first_line(result.err);
  session.warn(fmt::format("--exec after writing {}: {}{}", path, result.summary(),
                           why.empty() ? std::string() : ": " + printable(why)));
}

int run_keep(Session& session, const WriteFlags& flags, const TargetDir& target, mode_t mode) {
  StopSignals stop;
  ProfileContext ctx(session);
  TokenService& service = ctx.engine(session);
  const std::vector<std::string> secrets = secret_variables(ctx.profile);
  const World& world = session.world();
  const EngineSettings& settings = ctx.profile.engine;
  GetOptions options = get_flags_options(flags.get, ctx);
  const Duration min_valid = options.min_valid;
  // At its stale point the token is refreshed while the caller waits, under the entry's single
  // flight: a token another caller (or another tok write --keep) stored meanwhile is taken as it
  // is, without a request.
  options.also_expired = [](const CacheEntry& entry, TimePoint now) {
    return entry.stale_after && *entry.stale_after <= now;
  };
  session.verbose(fmt::format("keeping {} valid; cache entry {}", flags.path,
                              ctx.store.entry_path(ctx.profile.cache_key).string()));
  std::string written;
  bool first = true;
  int failures = 0;
  for (;;) {
    Duration wait = kLongestWait;
    try {
      const GetResult result = service.get(options);
      options.force_refresh = false;  // --force-refresh: the first fetch only
      const std::string text = format_get_result(session, ctx, flags.get, result);
      const TimePoint now = world.now();
      if (text != written) {
        {
          DeferStop defer;
          if (stop_asked) return 0;
          write_atomically(target, text, mode);
        }
        written = text;
        std::string life = "no expiry";
        if (result.token.expiry) {
          life = "valid for " + format_duration(std::chrono::floor<std::chrono::seconds>(*result.token.expiry - now));
        }
        session.verbose(fmt::format("wrote {} ({} bytes, mode {:04o}; token {})", flags.path, text.size(), mode, life));
        if (stop_asked) return 0;
        if (!flags.exec.empty()) run_reload(session, flags.exec, flags.path, secrets);
      }
      if (failures > 0) session.verbose(fmt::format("the token service answers again after {} failures", failures));
      failures = 0;
      first = false;
      if (const auto due = due_at(result, settings, min_valid, now)) {
        wait = std::clamp(std::chrono::duration_cast<Duration>(*due - now), kShortestWait, kLongestWait);
        session.verbose(fmt::format("next rewrite in {}", format_duration(std::chrono::ceil<std::chrono::seconds>(wait))));
      }
    } catch (const Error& e) {
      // Nothing written yet: the profile or the service is wrong now, and the caller should hear
      // it as from tok write. Later: the last good file stays while the loop retries.
      if (first) throw;
      ++failures;
      Duration backoff = kFirstRetry;
      for (int i = 1; i < failures && backoff < kLongestRetry; ++i) backoff *= 2;
      backoff = std::min(backoff, kLongestRetry);
      backoff += std::chrono::duration_cast<Duration>(backoff * 0.1 * world.random().uniform());
      if (failures == 1) session.warn(fmt::format("cannot refresh the token; {} keeps the last one written", flags.path));
      session.verbose(fmt::format("refresh failed ({}): {}; retrying in {}", failures, e.what(),
                                  format_duration(std::chrono::ceil<std::chrono::seconds>(backoff))));
      wait = backoff;
    }
    DeferStop defer;
    if (stop_asked || world.sleep_unless_readable(std::chrono::ceil<std::chrono::milliseconds>(wait), stop.read_end.get())) {
      session.verbose("stopping on a signal");
      return 0;
    }
  }
}

int run_write(Session& session, const WriteFlags& flags) {
  const mode_t mode = parse_write_mode(flags.mode);
  if (!flags.exec.empty() && !flags.keep) throw Error(ErrorKind::usage, "--exec: only with --keep");
  const TargetDir target = open_target_dir(flags.path);
  if (flags.keep) return run_keep(session, flags, target, mode);
  const std::string text = get_output(session, flags.get);
  write_atomically(target, text, mode);
  session.verbose(fmt::format("wrote {} ({} bytes, mode {:04o})", flags.path, text.size(), mode));
  return 0;
}

}  // namespace

void add_write_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<WriteFlags>();
  CLI::App* cmd = app.add_subcommand("write", "Write the token to a file, atomically (as tok get prints it)");
  cmd->add_option("path", flags->path, "The file to write (replaced atomically)")->required();
  cmd->add_option("--format", flags->get.format, "token (default), json, header, or credential-process (AWS)")
      ->check(CLI::IsMember({"token", "json", "header", "credential-process"}));
  cmd->add_option("--mode", flags->mode, "The file's mode, octal (default 0600; never writable by group or others)");
  cmd->add_flag("--force-refresh", flags->get.force_refresh, "Fetch a new token now, whatever the cache holds");
  cmd->add_option("--min-valid", flags->get.min_valid,
                  "Refresh first unless the token stays valid this long (e.g. 10m); with --keep, rewrite early enough "
                  "that the file's token always does");
  cmd->add_flag("--keep", flags->keep,
                "Stay running: rewrite the file before its token goes stale, keep the last good file through an "
                "outage, end on SIGTERM or SIGINT (exit 0)");
  cmd->add_option("--exec", flags->exec,
                  "With --keep: a shell command run after each rewrite (a reload, e.g. 'systemctl reload app'); the token is "
                  "never in its arguments, and the profile's secret variables are taken out of its environment");
  cmd->callback([&session, flags] { session.run = [&session, flags] { return run_write(session, *flags); }; });
}

}  // namespace tok

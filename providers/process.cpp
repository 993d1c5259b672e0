#include "providers/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "core/descriptors.hpp"
#include "core/error.hpp"
#include "core/file_trust.hpp"
#include "providers/http.hpp"

namespace tok {

std::string ProcessResult::summary() const {
  if (not_found) return "not found";
  if (!spawn_error.empty()) return "could not start: " + spawn_error;
  if (timed_out) return "killed at the deadline";
  if (exit_status) return "exit " + std::to_string(*exit_status);
  return "signal " + std::to_string(signal);
}

void check_program(const std::string& program, std::string_view key) {
  if (program.find('/') == std::string::npos) return;
  struct stat st {};
  if (::stat(program.c_str(), &st) != 0) return;
  const std::string why = untrusted_because(st, TrustedOwners::you_or_root);
  if (why.empty()) return;
  throw Error(ErrorKind::usage, fmt::format("key '{}': refusing to run {}: {}", key, printable(program), why),
              trust_advice(st, TrustedOwners::you_or_root, printable(program)));
}

namespace {

using std::chrono::milliseconds;

// Both ends above 0-2: the caller may have closed those (everything from outside is hostile,
// including them), and a pipe end there makes the child's dup2 onto 0-2 a dup2 onto itself or
// onto another of our pipes, where whether close-on-exec survives differs between C libraries.
bool make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  read_end.reset(p[0]);
  write_end.reset(p[1]);
  read_end.reset(above_stdio(read_end.release()));
  write_end.reset(above_stdio(write_end.release()));
  if (read_end.get() < 0 || write_end.get() < 0) return false;
  // Only our end is non-blocking: the child's writes block as a program expects.
  const int flags = ::fcntl(read_end.get(), F_GETFL);
  return flags >= 0 && ::fcntl(read_end.get(), F_SETFL, flags | O_NONBLOCK) == 0;
}

struct Capture {
  UniqueFd fd;
  std::string* text;
  std::size_t cap;
  bool* truncated;
  bool open() const { return fd.get() >= 0; }
  // Reads what is there now; closes at end of file or on an error.
  void drain() {
    char buf[16384];
    while (open()) {
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n > 0) {
        const std::size_t room = cap - std::min(cap, text->size());
        text->append(buf, std::min(room, static_cast<std::size_t>(n)));
        if (static_cast<std::size_t>(n) > room) *truncated = true;  // the rest is read and dropped
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      fd.reset();  // end of file, or an error we cannot do better with
    }
  }
};

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  // Readable when the child exits, so the wait needs no polling loop. Linux 5.3+; without it
  // (older kernels, seccomp filters) we poll every few milliseconds instead.
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

// A caller that ignores SIGCHLD (dispositions survive exec: some daemons start programs so) makes
// the kernel reap children itself, and waitpid could then never report ours: every run would
// wait for its deadline. Children must be waitable, so that disposition is put back to default.
void make_children_waitable() {
  struct sigaction current {};
  if (::sigaction(SIGCHLD, nullptr, &current) != 0) return;
  if (current.sa_handler == SIG_IGN || (current.sa_flags & SA_NOCLDWAIT) != 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(SIGCHLD, &dfl, nullptr);
  }
}

// The process groups of the programs running now (0: a free slot), read by a signal handler:
// lock-free atomics only. More programs at once than slots run unlisted.
constexpr std::size_t kGroupSlots = 64;
std::atomic<pid_t> running_groups[kGroupSlots];
std::mutex spawning;  // a spawn and its listing, against end_running_processes()
bool ending = false;  // under `spawning`: no program starts any more

void kill_running_groups() noexcept {  // async-signal-safe
  for (auto& slot : running_groups) {
    if (const pid_t group = slot.load(); group > 0) ::kill(-group, SIGKILL);
  }
}

std::atomic<pid_t>* list_group(pid_t group) {
  for (auto& slot : running_groups) {
    pid_t free = 0;
    if (slot.compare_exchange_strong(free, group)) return &slot;
  }
  return nullptr;
}

constexpr int kEndSignals[] = {SIGINT, SIGTERM, SIGHUP};

// SA_RESETHAND: the default disposition is back when the handler runs, and the signal, blocked
// while it runs, is delivered again as it returns: tok ends as the signal says.
extern "C" void end_on_signal(int signal) {
  const int saved = errno;
  kill_running_groups();
  ::raise(signal);
  errno = saved;
}

void install_end_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int signal : kEndSignals) {
      struct sigaction current {};
      // A caller's handler or SIG_IGN (nohup) is theirs: kept.
      if (::sigaction(signal, nullptr, &current) != 0 || current.sa_handler != SIG_DFL ||
          (current.sa_flags & SA_SIGINFO) != 0) {
        continue;
      }
      struct sigaction end {};
      end.sa_handler = end_on_signal;
      sigemptyset(&end.sa_mask);
      end.sa_flags = SA_RESETHAND | SA_RESTART;
      ::sigaction(signal, &end, nullptr);
    }
  });
}

void record_status(int status, ProcessResult& result) {
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
}

class SystemProcessRunner final : public ProcessRunner {
 public:
  explicit SystemProcessRunner(const World& world) : world_(world) {}
  ProcessResult run(const ProcessRequest& request) override {
    ProcessResult result;
    if (request.argv.empty() || request.argv[0].empty()) {
      result.not_found = true;
      return result;
    }
    if (world_.steady_now() >= request.deadline) {
      result.timed_out = true;
      return result;
    }
    make_children_waitable();
    UniqueFd out_read, out_write, err_read, err_write;
    if (!make_pipe(out_read, out_write) || !make_pipe(err_read, err_write)) {
      result.spawn_error = std::strerror(errno);
      return result;
    }

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
    ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
    // Descriptors the caller left inheritable (a lock, a socket) must not reach the program: a
    // lingering grandchild holding our cache lock would stall every later refresh.
    ::posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    ::posix_spawnattr_setpgroup(&attr, 0);  // its own group: a timeout kills its children too
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setsigdefault(&attr, &all);

    // The world's environment, less the variables the caller takes out (a secret the program
    // must not see).
    char* const* envp = world_.environment();
    std::vector<char*> kept;
    if (!request.unset_env.empty()) {
      for (char* const* e = envp; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const std::string_view name = entry.substr(0, entry.find('='));
        if (std::find(request.unset_env.begin(), request.unset_env.end(), name) == request.unset_env.end()) {
          kept.push_back(*e);
        }
      }
      kept.push_back(nullptr);
      envp = kept.data();
    }
    std::vector<char*> argv;
    argv.reserve(request.argv.size() + 1);
    for (const auto& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    install_end_handlers();
    std::atomic<pid_t>* listed = nullptr;
    int rc = 0;
    {
      // Listed before a signal can end tok: the end signals wait until the group is listed.
      sigset_t ends, before;
      sigemptyset(&ends);
      for (int signal : kEndSignals) sigaddset(&ends, signal);
      ::pthread_sigmask(SIG_BLOCK, &ends, &before);
      std::lock_guard lock(spawning);
      if (ending) {
        rc = ECANCELED;
      } else {
        // posix_spawnp never falls back to /bin/sh for a file without a #! line (glibc >= 2.15).
        rc =
            ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp);
        if (rc == 0) listed = list_group(pid);
      }
      ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
    }
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    out_write.reset();
    err_write.reset();
    if (rc != 0) {
      if (rc == ENOENT || rc == ENOTDIR) {
        result.not_found = true;
      } else {
        result.spawn_error = std::strerror(rc);
      }
      return result;
    }

    Capture captures[2] = {{std::move(out_read), &result.out, request.max_stdout, &result.out_truncated},
                           {std::move(err_read), &result.err, request.max_stderr, &result.err_truncated}};
    UniqueFd pidfd(open_pidfd(pid));
    int status = 0;
    for (;;) {
      // Seen exited but not reaped yet (WNOWAIT): unlisted while its id is still its own.
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
        if (listed) listed->store(0);
        listed = nullptr;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        // Everything it wrote before exiting is in the pipes already; a grandchild that kept
        // them open is not waited for.
        for (auto& c : captures) c.drain();
        record_status(status, result);
        return result;
      }
      const auto left = std::chrono::ceil<milliseconds>(request.deadline - world_.steady_now());
      if (left <= milliseconds(0)) break;
      pollfd fds[3];
      nfds_t n = 0;
      for (auto& c : captures) {
        if (c.open()) fds[n++] = {c.fd.get(), POLLIN, 0};
      }
      if (pidfd.get() >= 0) fds[n++] = {pidfd.get(), POLLIN, 0};
      const milliseconds wait = pidfd.get() >= 0 ? left : std::min(left, milliseconds(10));
      const int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(wait.count(), 60'000)));
      if (ready < 0 && errno != EINTR) break;  // cannot watch it any more: treat as a timeout
      for (auto& c : captures) c.drain();
    }

    // The deadline: kill the whole group (and the child itself, should it have left the group),
    // then reap it so that no zombie is left behind.
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    if (listed) listed->store(0);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    for (auto& c : captures) c.drain();
    result.timed_out = true;
    record_status(status, result);
    return result;
  }

 private:
  const World& world_;
};

}  // namespace

ProcessRunner& system_process_runner() {
  static SystemProcessRunner runner(real_world());
  return runner;
}

void end_running_processes() {
  std::lock_guard lock(spawning);
  ending = true;
  kill_running_groups();
}

std::string first_line(std::string_view text, std::string_view prefer) {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
  };
  std::string_view first;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty()) continue;
    if (prefer.empty()) return std::string(line);
    if (line.rfind(prefer, 0) == 0) return std::string(line);
    if (first.empty()) first = line;
  }
  return std::string(first);
}

}  // namespace tok

// Standard streams may be closed when tok starts: nothing the engine keeps may land on 0-2.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <poll.h>
#include <sys/stat.h>

#include <string>

#include "core/cache_store.hpp"
#include "core/launcher.hpp"
#include "core/descriptors.hpp"
#include "temp_dir.hpp"

namespace {

// Closes standard input for the scope of a test and puts it back afterwards.
struct StdinClosed {
  int saved = ::dup(0);
  StdinClosed() {
    REQUIRE(saved >= 0);
    ::close(0);
  }
  ~StdinClosed() {
    ::dup2(saved, 0);
    ::close(saved);
  }
};

bool cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

}  // namespace

TEST_SUITE("descriptors") {

TEST_CASE("above_stdio moves 0-2 to a close-on-exec descriptor >= 3 and leaves others alone") {
  StdinClosed closed;
  const int low = ::open("/dev/null", O_RDONLY);
  REQUIRE(low == 0);
  const int high = tok::above_stdio(low);
  CHECK(high >= 3);
  CHECK(cloexec(high));
  CHECK(::fcntl(0, F_GETFD) == -1);  // the low one was closed
  CHECK(tok::above_stdio(high) == high);
  CHECK(tok::above_stdio(-1) == -1);
  ::close(high);
}

TEST_CASE("with stdin closed, the cache's lock and directory descriptors are never 0") {
  tok_test::TempDir tmp;
  StdinClosed closed;
  const tok::CacheStore store(tmp.path / "cache");
  REQUIRE_FALSE(store.ensure_dir().has_value());
  auto lock = store.try_lock("k", tok::LockName::background);
  REQUIRE(lock.has_value());
  REQUIRE(lock->held());
  CHECK(lock->fd() >= 3);
  CHECK(cloexec(lock->fd()));
  CHECK(::fcntl(0, F_GETFD) == -1);  // still closed: nothing of ours sits there
}

TEST_CASE("fill_closed_stdio opens /dev/null, read-only, where a stream is closed") {
  StdinClosed closed;
  CHECK(tok::fill_closed_stdio() == 1u);
  CHECK(::fcntl(0, F_GETFD) >= 0);
  char c;
  CHECK(::read(0, &c, 1) == 0);  // /dev/null
  CHECK(::write(0, "x", 1) == -1);  // read-only: a token written to a closed stream still fails
  CHECK(tok::fill_closed_stdio() == 0u);
}

TEST_CASE("the detached launcher: a new session, stdio on /dev/null, only the kept descriptors") {
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  const int kept = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int dropped = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(kept >= 3);
  REQUIRE(dropped >= 3);
  struct stat null_st {};
  REQUIRE(::stat("/dev/null", &null_st) == 0);
  const pid_t caller_session = ::getsid(0);

  tok::DetachedProcessLauncher launcher;
  const int report = pipe_fds[1];
  CHECK(launcher.launch({report, kept}, [&] {
    std::string line;
    line += ::fcntl(kept, F_GETFD) >= 0 ? "kept " : "lost ";
    line += ::fcntl(dropped, F_GETFD) >= 0 ? "leaked " : "closed ";
    line += ::fcntl(pipe_fds[0], F_GETFD) >= 0 ? "leaked " : "closed ";
    for (int fd = 0; fd <= 2; ++fd) {
      struct stat st {};
      line += ::fstat(fd, &st) == 0 && st.st_rdev == null_st.st_rdev && S_ISCHR(st.st_mode) ? "null " : "other ";
    }
    line += ::getsid(0) != caller_session ? "own-session" : "caller-session";
    [[maybe_unused]] const ssize_t n = ::write(report, line.data(), line.size());
  }));
  ::close(pipe_fds[1]);
  // The launcher has already reaped its direct child; the grandchild answers through the pipe.
  std::string got;
  pollfd p{pipe_fds[0], POLLIN, 0};
  char buf[256];
  while (::poll(&p, 1, 10'000) > 0) {
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  ::close(kept);
  ::close(dropped);
  CHECK(got == "kept closed closed null null null own-session");
}

// The middle process's fork of the refresher fails: nothing runs, and the caller must not be told
// a refresh started (it would wait for a commit that never comes, and say so in -v).
pid_t fork_then_fail() {
  static int calls = 0;  // a copy in the child: its first call is the second fork
  return calls++ == 0 ? ::fork() : -1;
}

TEST_CASE("the detached launcher: a failed second fork is reported as nothing started") {
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  tok::DetachedProcessLauncher launcher(fork_then_fail);
  const int report = pipe_fds[1];
  CHECK_FALSE(launcher.launch({report}, [&] { [[maybe_unused]] const ssize_t n = ::write(report, "ran", 3); }));
  ::close(pipe_fds[1]);
  char buf[8];
  CHECK(::read(pipe_fds[0], buf, sizeof buf) == 0);  // the work never ran: end of file at once
  ::close(pipe_fds[0]);
}

TEST_CASE("the detached launcher: a failed first fork is reported as nothing started") {
  tok::DetachedProcessLauncher launcher([]() -> pid_t { return -1; });
  CHECK_FALSE(launcher.launch({}, [] {}));
}

}  // TEST_SUITE

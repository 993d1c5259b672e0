// providers/process: the real runner against real programs (sh, sleep, head). Its own ctest entry
// because these tests spawn processes and wait on short real deadlines (a few hundred ms), which
// the pure unit suite never does.
#include <doctest/doctest.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "providers/process.hpp"

using namespace std::chrono_literals;
using tok::ProcessRequest;
using tok::ProcessResult;

namespace {

ProcessResult run(std::vector<std::string> argv, std::chrono::milliseconds within = 10s,
                  std::size_t max_out = std::size_t{1} << 20) {
  ProcessRequest r;
  r.argv = std::move(argv);
  r.deadline = std::chrono::steady_clock::now() + within;
  r.max_stdout = max_out;
  return tok::system_process_runner().run(r);
}

std::set<std::string> open_fds() {
  std::set<std::string> fds;
  DIR* d = ::opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  const int own = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != ".." && name != std::to_string(own)) fds.insert(name);
  }
  ::closedir(d);
  return fds;
}

// 'R', 'S', 'Z'... from /proc/PID/stat, or 0 when the process is gone.
char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return 0;
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? 0 : stat[close + 2];
}

// Orphaned grandchildren come to this process, so a test can see how they ended.
struct Subreaper {
  Subreaper() { REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0); }
  ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/tok-unit-process-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text, mode_t mode) const {
    const auto p = path / name;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p.string();
  }
};

}  // namespace

TEST_SUITE("process") {

TEST_CASE("stdout, stderr and the exit status") {
  const auto r = run({"sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 7"});
  CHECK(r.ran());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_status == 7);
  CHECK(r.signal == 0);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK_FALSE(r.succeeded());
  CHECK(run({"true"}).succeeded());
}

TEST_CASE("arguments reach the program as they are: no shell parses them") {
  const std::string nasty = "$(touch /tmp/tok-pwned); `id` | & ; > * ~ 'q' \"dq\" \\ \n end";
  const auto r = run({"printf", "%s", nasty});
  CHECK(r.succeeded());
  CHECK(r.out == nasty);
  CHECK_FALSE(std::filesystem::exists("/tmp/tok-pwned"));
}

TEST_CASE("a program that does not exist is not_found, one that cannot run is a spawn_error") {
  CHECK(run({"tok-test-no-such-program"}).not_found);
  CHECK(run({"/nonexistent/dir/prog"}).not_found);
  CHECK(run({""}).not_found);
  TempDir dir;
  const auto r = run({dir.write("not-executable", "#!/bin/sh\necho hi\n", 0600)});
  CHECK_FALSE(r.ran());
  CHECK_FALSE(r.not_found);
  CHECK_FALSE(r.spawn_error.empty());
  // A file without #! is not handed to /bin/sh either (the old execvp fallback): no shell, ever.
  const auto script = run({dir.write("no-shebang", "echo ran-by-a-shell\n", 0700)});
  CHECK_FALSE(script.ran());
  CHECK(script.out.empty());
}

TEST_CASE("stdin is /dev/null") {
  const auto r = run({"sh", "-c", "readlink /proc/$$/fd/0; cat; echo eof"});
  CHECK(r.out == "/dev/null\neof\n");
}

TEST_CASE("the program inherits no descriptor but 0, 1 and 2, and the runner leaks none") {
  const int inheritable = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC, as a careless caller's
  REQUIRE(inheritable > 2);
  const auto before = open_fds();
  // ls lists the shell's descriptors from outside (`; true` keeps dash from exec'ing ls itself).
  const auto r = run({"sh", "-c", "ls /proc/$$/fd; true"});
  CHECK(r.succeeded());
  CHECK(r.out == "0\n1\n2\n");
  CHECK(open_fds() == before);
  ::close(inheritable);
}

TEST_CASE("signals ignored by the caller are back to default in the program") {
  struct sigaction old {};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  const auto r = run({"sh", "-c", "kill -PIPE $$; echo survived"});
  ::sigaction(SIGPIPE, &old, nullptr);
  CHECK(r.signal == SIGPIPE);
  CHECK_FALSE(r.exit_status.has_value());
  CHECK(r.out.empty());
}

TEST_CASE("a caller that ignores SIGCHLD still gets the exit status, at once") {
  struct sigaction old {};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGCHLD, &ignore, &old);
  const auto started = std::chrono::steady_clock::now();
  const auto r = run({"sh", "-c", "exit 3"}, 5s);
  const auto took = std::chrono::steady_clock::now() - started;
  ::sigaction(SIGCHLD, &old, nullptr);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_status == 3);
  CHECK(took < 2s);
}

TEST_CASE("at the deadline the whole group is killed and the child reaped: no zombie, no stray") {
  Subreaper subreaper;
  const auto started = std::chrono::steady_clock::now();
  // The shell starts a grandchild in its group, reports both pids, then hangs.
  const auto r = run({"sh", "-c", "sleep 30 & echo $$ $!; wait"}, 300ms);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.timed_out);
  CHECK(r.signal == SIGKILL);
  CHECK(took >= 300ms);
  CHECK(took < 5s);
  const auto space = r.out.find(' ');
  REQUIRE(space != std::string::npos);
  const pid_t child = std::stoi(r.out.substr(0, space));
  const pid_t grandchild = std::stoi(r.out.substr(space + 1));
  CHECK(process_state(child) == 0);  // reaped by the runner: not even a zombie
  // The orphaned grandchild came to us: it died of the group's SIGKILL.
  int status = 0;
  REQUIRE(::waitpid(grandchild, &status, 0) == grandchild);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(::waitpid(-1, &status, WNOHANG) == -1);  // nothing else left to reap
}

TEST_CASE("the runner returns when the program exits, even if a grandchild keeps its pipes") {
  Subreaper subreaper;
  const auto started = std::chrono::steady_clock::now();
  const auto r = run({"sh", "-c", "sleep 30 & echo $!"}, 20s);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(r.succeeded());
  const pid_t grandchild = std::stoi(r.out);
  ::kill(grandchild, SIGKILL);
  int status = 0;
  CHECK(::waitpid(grandchild, &status, 0) == grandchild);
}

TEST_CASE("output beyond the cap is read and dropped, and flagged") {
  const auto r = run({"head", "-c", "3000000", "/dev/zero"}, 10s, 1000);
  CHECK(r.succeeded());  // drained, so the writer never blocked
  CHECK(r.out.size() == 1000);
  CHECK(r.out_truncated);
  ProcessRequest req;
  req.argv = {"sh", "-c", "head -c 100000 /dev/zero >&2"};
  req.deadline = std::chrono::steady_clock::now() + 10s;
  req.max_stderr = 10;
  const auto e = tok::system_process_runner().run(req);
  CHECK(e.err.size() == 10);
  CHECK(e.err_truncated);
  CHECK_FALSE(e.out_truncated);
}

TEST_CASE("a deadline already passed runs nothing") {
  ProcessRequest r;
  r.argv = {"sh", "-c", "echo ran"};
  r.deadline = std::chrono::steady_clock::now() - 1ms;
  const auto result = tok::system_process_runner().run(r);
  CHECK(result.timed_out);
  CHECK(result.out.empty());
}

TEST_CASE("a caller with descriptors 0-2 closed still gets the program's output") {
  // In a forked copy of this process: close 0-2, run, report through a pipe above them.
  int report[2];
  REQUIRE(::pipe(report) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(report[0]);
    ::close(0);
    ::close(1);
    ::close(2);
    ProcessRequest req;
    req.argv = {"sh", "-c", "printf out; printf err >&2"};
    req.deadline = std::chrono::steady_clock::now() + 10s;
    const auto r = tok::system_process_runner().run(req);
    const char verdict = r.succeeded() && r.out == "out" && r.err == "err" ? 'y' : 'n';
    (void)!::write(report[1], &verdict, 1);
    ::_exit(0);
  }
  ::close(report[1]);
  char verdict = '?';
  CHECK(::read(report[0], &verdict, 1) == 1);
  ::close(report[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(verdict == 'y');
}

TEST_CASE("first_line") {
  CHECK(tok::first_line("") == "");
  CHECK(tok::first_line("\n  \n  hello  \nworld") == "hello");
  CHECK(tok::first_line("one\r\ntwo") == "one");
  const std::string az = "WARNING: something\nERROR: Please run 'az login' to setup account.\n";
  CHECK(tok::first_line(az) == "WARNING: something");
  CHECK(tok::first_line(az, "ERROR:") == "ERROR: Please run 'az login' to setup account.");
  CHECK(tok::first_line("WARNING: only\n", "ERROR:") == "WARNING: only");
}

}  // TEST_SUITE

#include "core/launcher.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace tok {

bool ExecutorLauncher::launch(std::vector<int> /*keep*/, std::function<void()> work) {
  executor_.submit(std::move(work));
  return true;
}

bool DetachedProcessLauncher::launch(std::vector<int> keep, std::function<void()> work) {
  std::sort(keep.begin(), keep.end());
  const pid_t child = fork_();
  if (child < 0) return false;
  if (child == 0) {
    ::setsid();
    const pid_t refresher = fork_();
    if (refresher != 0) ::_exit(refresher > 0 ? 0 : 1);
    // The descriptors the engine keeps are >= 3 (docs/engine.md, "Standard streams"), so these dup2s can never
    // close the lock that makes this process the single refresher.
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      for (int fd = 0; fd <= 2; ++fd) {
        if (devnull != fd) ::dup2(devnull, fd);
      }
      if (devnull > 2 && !std::binary_search(keep.begin(), keep.end(), devnull)) ::close(devnull);
    }
    // Close every other inherited descriptor (a caller's pipe would otherwise stay open) but the
    // ones the work needs; 0-2 now point at /dev/null.
    unsigned from = 3;
    for (const int fd : keep) {
      if (fd < 3) continue;
      if (static_cast<unsigned>(fd) > from) ::close_range(from, static_cast<unsigned>(fd) - 1, 0);
      from = static_cast<unsigned>(fd) + 1;
    }
    ::close_range(from, ~0U, 0);
    try {
      work();
    } catch (...) {
    }
    ::_exit(0);
  }
  int status = 0;
  pid_t reaped = -1;
  do {
    reaped = ::waitpid(child, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  return reaped == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace tok

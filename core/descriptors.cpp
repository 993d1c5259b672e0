#include "core/descriptors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace tok {

int above_stdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int err = errno;
  ::close(fd);
  errno = err;
  return high;
}

unsigned fill_closed_stdio() {
  unsigned closed = 0;
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    closed |= 1u << fd;
    // open() returns the lowest free descriptor, which is `fd` itself. Read-only even for 1 and
    // 2: writing to them still fails (EBADF) as it did while they were closed, so a token never
    // silently goes nowhere, but nothing else can land there.
    const int opened = ::open("/dev/null", O_RDONLY);
    if (opened >= 0 && opened != fd) ::close(opened);
  }
  return closed;
}

}  // namespace tok

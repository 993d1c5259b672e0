#include "core/descriptors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace tok {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::optional<std::string> read_capped(int fd, std::size_t cap) {
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > cap) return std::nullopt;
  }
}

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

#include "cli/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/descriptors.hpp"
#include "core/error.hpp"
#include "providers/jws.hpp"

namespace tok {

void file_write_failed(const std::filesystem::path& path, std::string_view what, int error) {
  throw Error(ErrorKind::storage, fmt::format("writing {}: {}: {}", path.string(), what, std::strerror(error)));
}

void replace_file_atomically(int dir_fd, const std::string& name, std::string_view text, mode_t mode,
                             const std::filesystem::path& shown) {
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 8 && !fd; ++attempt) {
    tmp = fmt::format(".{}.tok-{}", name.substr(0, 64), random_id().substr(0, 12));
    // 0600 while it is written; its own mode is set once it is whole, before it replaces the old.
    fd = UniqueFd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd && errno != EEXIST) file_write_failed(shown, "cannot create a temporary file beside it", errno);
  }
  if (!fd) file_write_failed(shown, "cannot create a temporary file beside it", EEXIST);
  const auto discard = [&](const char* what) {
    const int error = errno;
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    file_write_failed(shown, what, error);
  };
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) discard("cannot write it");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) discard("cannot sync it");
  if (::fchmod(fd.get(), mode) != 0) discard("cannot set its mode");
  fd.reset();
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) discard("cannot replace it");
  ::fsync(dir_fd);
}

}  // namespace tok

#pragma once
// Standard streams may be closed when tok starts (credential helpers and CI runners do that).
// A descriptor the program keeps must then not land on 0, 1 or 2: a later dup2 of /dev/null
// would close it, and a token printed to "stdout" would go into it (docs/engine.md, "Standard
// streams may be closed").

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace tok {

// Owns one descriptor: closed when dropped or replaced.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Reads `fd` to its end, at most `cap` bytes; nullopt when there is more (or a read fails).
// Everything tok reads from a file is small, and a file that is not is damage or an attack.
std::optional<std::string> read_capped(int fd, std::size_t cap);

// Moves `fd` to the lowest free descriptor >= 3 (close-on-exec) when it is 0, 1 or 2; returns
// the descriptor to use (or -1 when it was -1 or cannot be moved: then it is closed).
int above_stdio(int fd);

// Opens /dev/null (read-only) on whichever of 0, 1 and 2 is closed, so that nothing else lands
// there; writes to a stream that was closed still fail.
// Returns a bit mask of the streams that were closed (1 << fd).
unsigned fill_closed_stdio();

}  // namespace tok

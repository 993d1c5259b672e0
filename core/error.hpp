#pragma once
// One error type for the whole program. The kind decides the exit code (see exit_code()).
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace tok {

enum class ErrorKind {
  usage,        // bad flags, bad config: exit 2
  refused,      // the provider said no (bad credentials, not logged in): exit 3
  unavailable,  // the provider could not be reached or answered nonsense: exit 4
  storage,      // unsafe local storage refused: exit 5
  internal,     // a bug: exit 1
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string advice = {})
      : std::runtime_error(std::move(message)), kind_(kind), advice_(std::move(advice)) {}
  ErrorKind kind() const noexcept { return kind_; }
  // One optional line telling the user what to do about it ("run 'az login'").
  const std::string& advice() const noexcept { return advice_; }
  // How long the server asked us to wait (its Retry-After on a 429 or 503): the engine keeps an
  // unavailability that long, within limits (docs/fleet.md).
  const std::optional<std::chrono::milliseconds>& retry_after() const noexcept { return retry_after_; }
  Error& set_retry_after(std::optional<std::chrono::milliseconds> wait) noexcept {
    retry_after_ = wait;
    return *this;
  }

 private:
  ErrorKind kind_;
  std::string advice_;
  std::optional<std::chrono::milliseconds> retry_after_;
};

// The only place where an error kind becomes a process exit code (cli.md, "Errors and exit codes").
int exit_code(ErrorKind kind) noexcept;

}  // namespace tok

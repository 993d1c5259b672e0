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
  // An outage of the token source: 5xx, 408, 429, a network error, a timeout. Narrower than
  // `unavailable` (which also covers a malformed answer or a missing program, things a user may
  // fix a second later): only an outage is kept to answer later callers (docs/fleet.md).
  bool outage() const noexcept { return outage_; }
  // How long the server asked us to wait (its Retry-After on a 429 or 503): the engine keeps the
  // outage that long, within limits.
  const std::optional<std::chrono::milliseconds>& retry_after() const noexcept { return retry_after_; }
  // The token source refused the secret the cached entry carries (a login's refresh token:
  // invalid_grant). The engine forgets it, so no request is ever sent with it again; the user
  // has to log in anew (docs/login.md).
  bool login_ended() const noexcept { return login_ended_; }
  Error& mark_login_ended() noexcept {
    login_ended_ = true;
    return *this;
  }
  Error& mark_outage(std::optional<std::chrono::milliseconds> retry_after = std::nullopt) noexcept {
    outage_ = true;
    retry_after_ = retry_after;
    return *this;
  }

 private:
  ErrorKind kind_;
  std::string advice_;
  bool outage_ = false;
  bool login_ended_ = false;
  std::optional<std::chrono::milliseconds> retry_after_;
};

// The only place where an error kind becomes a process exit code (cli.md, "Errors and exit codes").
int exit_code(ErrorKind kind) noexcept;

}  // namespace tok

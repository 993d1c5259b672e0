#pragma once
// One error type for the whole program. The kind decides the exit code (see exit_code()).
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

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
  // The RFC 6749 5.2 error code of the server's answer ("invalid_grant", "slow_down"), read from
  // the `error` member of its JSON; empty when it sent none. Decisions read this, never the
  // message, which quotes server text (docs/login.md).
  const std::string& oauth_error() const noexcept { return oauth_error_; }
  Error& with_oauth_error(std::string code) {
    oauth_error_ = std::move(code);
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
  std::string oauth_error_;
  std::optional<std::chrono::milliseconds> retry_after_;
};

// The only place where an error kind becomes a process exit code (docs/tok.1, EXIT STATUS).
int exit_code(ErrorKind kind) noexcept;

// The exit statuses that are no error kind's, each set by a protocol or a convention; with
// exit_code() these are every status tok exits with (a unit test compares them with docs/tok.1).
inline constexpr int kExitDockerHelperFailure = 1;  // Docker reads a helper's failure as non-zero only
inline constexpr int kExitNoUsableToken = 6;        // tok status --check: no usable token
inline constexpr int kExitCannotRun = 126;          // tok exec: a shell's status for a command it cannot run
inline constexpr int kExitNotFound = 127;           // tok exec: a shell's status for a command it cannot find

// The same error with `context` before its message ("fetching a token from URL: ..."): its kind,
// advice, outage and OAuth error code kept. Providers wrap what a parser threw with this, never by hand.
Error in_context(const Error& error, std::string_view context);

}  // namespace tok

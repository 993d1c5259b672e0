#include "core/disk_refresher.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <exception>

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/error.hpp"

namespace tok {

DiskRefresher::DiskRefresher(const CacheStore& store, std::string key, EngineSettings settings, const Clock& clock,
                             TokenSource source, Warn warn, TokenSource background_source)
    : store_(store),
      key_(std::move(key)),
      settings_(settings),
      clock_(clock),
      source_(std::move(source)),
      background_source_(background_source ? std::move(background_source) : source_),
      warn_(std::move(warn)) {}

CacheEntry DiskRefresher::read_or_empty() {
  auto read = store_.read(key_);
  if (read.warning) warn_(*read.warning);
  return read.entry ? std::move(*read.entry) : CacheEntry{};
}

GetResult DiskRefresher::get(const GetOptions& options) {
  CacheEntry entry = read_or_empty();
  const TokenState state = state_of(entry, clock_.now(), settings_, options.min_valid);
  switch (decide_get(state, settings_, options)) {
    case GetAction::serve: return {*entry.token, state};
    case GetAction::serve_and_refresh_in_background:
      if (auto lock = store_.try_lock(key_, LockName::background); lock && lock->held()) {
        start_background_refresh(std::move(*lock));
      }  // else: a refresher is already running (or the cache cannot hold locks): start nothing
      return {*entry.token, state};
    case GetAction::refresh_blocking: break;
  }
  return {refresh_blocking(options), state};
}

Token DiskRefresher::refresh_blocking(const GetOptions& options) {
  const Deadline deadline = std::chrono::steady_clock::now() + settings_.refresh_timeout;
  bool cache_usable = true;
  if (auto problem = store_.ensure_dir()) {
    warn_(*problem);
    cache_usable = false;
  }
  FileLock lock;
  ProviderMemo memo;
  if (cache_usable) {
    auto taken = store_.lock(key_, LockName::refresh, deadline);
    if (!taken) {
      throw Error(ErrorKind::unavailable,
                  fmt::format("timed out after {} waiting for another tok process to refresh the token",
                              format_duration(settings_.refresh_timeout)),
                  "raise refresh_timeout, or check the token service");
    }
    lock = std::move(*taken);
    // Another process may have refreshed while we waited: then its token is ours too.
    CacheEntry current = read_or_empty();
    if (!options.force_refresh &&
        state_of(current, clock_.now(), settings_, options.min_valid) != TokenState::expired) {
      return *current.token;
    }
    memo = std::move(current.memo);
  }
  Token token = source_(deadline, memo);  // an error propagates; nothing was written

  if (!cache_usable) return token;
  CacheEntry entry = read_or_empty();  // we hold the commit lock; re-read in case of `tok clear`
  store_token(entry, token, clock_.now(), settings_);
  entry.memo = std::move(memo);
  if (auto problem = store_.write(key_, entry)) warn_(*problem);
  return token;
}

void DiskRefresher::start_background_refresh(FileLock background_lock) {
  // Double fork: the refresher is nobody's child, so `tok exec`'s command never reaps a stranger,
  // and it runs in its own session with stdio on /dev/null, so `$(tok get)` and git see end of
  // output as soon as we exit. The grandchild inherits the flock, the single-flight token.
  const pid_t child = ::fork();
  if (child < 0) {
    warn_("cannot start a background refresh: fork failed");
    return;
  }
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
      if (devnull > STDERR_FILENO) ::close(devnull);
    }
    // Close every other inherited descriptor (a caller's pipe would otherwise stay open) but the
    // lock's.
    const int keep = background_lock.fd();
    if (keep > 3) ::close_range(3, static_cast<unsigned>(keep - 1), 0);
    ::close_range(static_cast<unsigned>(keep + 1), ~0U, 0);
    try {
      run_background_refresh();
    } catch (...) {
    }
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  // Our copy of the lock descriptor closes here; the grandchild's copy keeps the flock held.
}

void DiskRefresher::run_background_refresh() {
  CacheEntry entry = read_or_empty();
  // Not STALE any more: another refresher finished between our parent's read and now.
  if (state_of(entry, clock_.now(), settings_) != TokenState::stale) return;
  const std::uint64_t started_generation = entry.generation;
  ProviderMemo memo = entry.memo;
  const Deadline deadline = std::chrono::steady_clock::now() + settings_.refresh_timeout;
  std::optional<Token> token;
  std::string failure;
  try {
    token = background_source_(deadline, memo);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  // Commit under the refresh lock, which blocking refreshers hold while they fetch: if one is
  // running, we wait for it and then find the generation moved.
  auto lock = store_.lock(key_, LockName::refresh, std::chrono::steady_clock::now() + settings_.refresh_timeout);
  if (!lock || !lock->held()) return;
  CacheEntry current = read_or_empty();
  const TimePoint now = clock_.now();
  bool applied;
  if (token) {
    applied = apply_background_success(current, started_generation, std::move(*token), now, settings_);
    if (applied) current.memo = std::move(memo);
  } else {
    applied = apply_background_failure(current, started_generation, std::move(failure), now, settings_);
  }
  if (applied) store_.write(key_, current);
}

}  // namespace tok

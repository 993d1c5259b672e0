#include "core/refresher.hpp"

#include <exception>

#include "core/error.hpp"

namespace tok {

Refresher::Refresher(TokenSource source, EngineSettings settings, const Clock& clock, Executor& executor)
    : shared_(std::make_shared<Shared>()), executor_(&executor) {
  shared_->source = std::move(source);
  shared_->settings = settings;
  shared_->clock = &clock;
}

GetResult Refresher::get(const GetOptions& options) {
  TokenState state;
  GetAction action;
  Token cached;
  bool start_background = false;
  std::uint64_t started_generation = 0;
  ProviderMemo memo;
  {
    std::lock_guard lock(shared_->mutex);
    state = state_of(shared_->entry, shared_->clock->now(), shared_->settings, options.min_valid);
    action = decide_get(state, shared_->settings, options);
    if (shared_->entry.token) cached = *shared_->entry.token;
    // Decide and claim the single background slot under the same lock: a refresh finishing in
    // between must not let this caller start a second one for an entry that is fresh again.
    if (action == GetAction::serve_and_refresh_in_background && !shared_->background_running) {
      shared_->background_running = true;
      start_background = true;
      started_generation = shared_->entry.generation;
      memo = shared_->entry.memo;
    }
  }
  switch (action) {
    case GetAction::serve: return {cached, state};
    case GetAction::serve_and_refresh_in_background:
      if (start_background) start_background_refresh(started_generation, std::move(memo));
      return {cached, state};
    case GetAction::refresh_blocking: break;
  }
  return {refresh_blocking(options), state};
}

Token Refresher::refresh_blocking(const GetOptions& options) {
  Shared& s = *shared_;
  std::lock_guard blocking(s.blocking_mutex);
  ProviderMemo memo;
  {
    std::lock_guard lock(s.mutex);
    // Another caller may have refreshed while we waited for the blocking lock.
    if (!options.force_refresh &&
        state_of(s.entry, s.clock->now(), s.settings, options.min_valid) != TokenState::expired) {
      return *s.entry.token;
    }
    memo = s.entry.memo;
  }
  const Deadline deadline = std::chrono::steady_clock::now() + s.settings.refresh_timeout;
  Token token = s.source(deadline, memo);  // an error propagates and leaves the entry as it was
  std::lock_guard lock(s.mutex);
  store_token(s.entry, token, s.clock->now(), s.settings);
  s.entry.memo = std::move(memo);
  return token;
}

void Refresher::start_background_refresh(std::uint64_t started_generation, ProviderMemo memo) {
  executor_->submit([shared = shared_, started_generation, memo = std::move(memo)]() mutable {
    Shared& s = *shared;
    const Deadline deadline = std::chrono::steady_clock::now() + s.settings.refresh_timeout;
    std::optional<Token> token;
    std::string failure;
    try {
      token = s.source(deadline, memo);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown error";
    }
    std::lock_guard lock(s.mutex);
    const TimePoint now = s.clock->now();
    if (token) {
      if (apply_background_success(s.entry, started_generation, std::move(*token), now, s.settings)) {
        s.entry.memo = std::move(memo);
      }
    } else {
      apply_background_failure(s.entry, started_generation, std::move(failure), now, s.settings);
    }
    s.background_running = false;
  });
}

CacheEntry Refresher::snapshot() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->entry;
}

bool Refresher::background_refresh_running() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->background_running;
}

}  // namespace tok

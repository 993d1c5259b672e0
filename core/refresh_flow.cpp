#include "core/refresh_flow.hpp"

#include <exception>

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"

namespace tok {

namespace {

std::string waited_for(Deadline since, Deadline now) {
  return format_duration(std::chrono::duration_cast<Duration>(now - since));
}

}  // namespace

RefreshFlow::RefreshFlow(std::unique_ptr<EntryStore> store, Launcher& launcher, TokenSource source,
                         EngineSettings settings, const World& world, Diagnostics diagnostics)
    : store_(std::move(store)),
      launcher_(launcher),
      source_(std::move(source)),
      settings_(settings),
      world_(world),
      diagnostics_(std::move(diagnostics)) {
  if (!diagnostics_.warn) diagnostics_.warn = [](const std::string&) {};
  if (!diagnostics_.note) diagnostics_.note = [](const std::string&) {};
}

double RefreshFlow::draw() {
  // Only when jitter is on: a flow without it never touches the system's entropy.
  if (settings_.refresh_jitter <= 0.0) return 0.0;
  return world_.random().uniform();
}

double RefreshFlow::retry_after_draw() {
  // The old exact-Retry-After policy, for bench/fleet.py's comparison only (core/policy.hpp).
  if (const char* v = world_.env(kBenchExactRetryAfter); v != nullptr && *v != '\0' && *v != '0') return 0.0;
  return world_.random().uniform();
}

CacheEntry RefreshFlow::read_entry(EntryPart part) {
  auto read = part == EntryPart::head ? store_->read_head() : store_->read();
  if (read.warning) diagnostics_.warn(*read.warning);
  return read.entry ? std::move(*read.entry) : CacheEntry{};
}

GetResult RefreshFlow::get(const GetOptions& options) {
  // A hit needs everything but the memo, the entry's largest part: it is read without it. A
  // blocking refresh needs the memo (discovered endpoints, a login's state), so it reads again,
  // whole, and decides on what it read.
  CacheEntry seen = read_entry(source_check_ ? EntryPart::whole : EntryPart::head);
  TimePoint now = world_.now();
  TokenState state = state_of(seen, now, settings_, options.min_valid);
  if (state != TokenState::expired && source_changed(seen)) {
    diagnostics_.note("the token's source changed since it was read; reading it again");
    std::optional<TimePoint> stale_after;
    Token token = refresh_blocking(options, seen, stale_after);
    return {std::move(token), TokenState::expired, std::nullopt, std::nullopt, stale_after};
  }
  if (state != TokenState::expired && options.also_expired && options.also_expired(seen, now)) {
    state = TokenState::expired;
  }
  if (seen.memo_unread && decide_get(state, settings_, options) == GetAction::refresh_blocking) {
    seen = read_entry();
    now = world_.now();
    state = state_of(seen, now, settings_, options.min_valid);
    if (state != TokenState::expired && options.also_expired && options.also_expired(seen, now)) {
      state = TokenState::expired;
    }
  }
  switch (decide_get(state, settings_, options, cooling_down(seen, now))) {
    case GetAction::serve: break;
    case GetAction::serve_and_refresh_in_background: start_background(seen); break;
    case GetAction::refresh_blocking: {
      std::optional<TimePoint> stale_after;
      Token token = refresh_blocking(options, seen, stale_after);
      return {std::move(token), state, std::nullopt, std::nullopt, stale_after};
    }
  }
  GetResult result{*seen.token, state, std::nullopt, std::nullopt, seen.stale_after};
  if (const auto until = cooldown_until(seen, now)) {
    result.failing = seen.last_error;
    result.retry_at = until;
  }
  return result;
}

void RefreshFlow::start_background(const CacheEntry& seen) {
  // A result nobody can keep (read-only or full disk) would be fetched again by every call.
  if (auto why = store_->unwritable()) {
    diagnostics_.note(fmt::format("no background refresh: {}", *why));
    return;
  }
  std::shared_ptr<Hold> slot = store_->try_hold_background();
  if (!slot) {
    diagnostics_.note("a background refresh is already running");
    return;
  }
  const std::uint64_t generation = seen.generation;
  std::vector<int> keep = store_->descriptors();
  keep.push_back(slot->fd());
  const bool started = launcher_.launch(std::move(keep), [self = shared_from_this(), slot, generation]() mutable {
    self->run_background(generation);
    slot.reset();  // the single flight ends only once the result is committed
  });
  diagnostics_.note(started ? "started a background refresh" : "could not start a background refresh");
}

bool RefreshFlow::still_due(const CacheEntry& entry, std::uint64_t started_generation) {
  const TimePoint now = world_.now();
  // A caller that read the entry before another refresher's failure was committed starts us
  // during that failure's cooldown: the cooldown holds.
  return entry.generation == started_generation && state_of(entry, now, settings_) == TokenState::stale &&
         !cooling_down(entry, now);
}

void RefreshFlow::run_background(std::uint64_t started_generation) {
  CacheEntry entry = read_entry();
  // Another refresher finished between our caller's read and now: nothing left to do.
  if (!still_due(entry, started_generation)) return;
  // A refresh token may be good for one use only (rotation): a refresh that sends one holds the
  // refresh lock from the read to the commit, as a blocking refresh does, so a blocking caller
  // that comes meanwhile waits and takes our result instead of sending the same token again.
  std::unique_ptr<Hold> hold;
  if (carries_refresh_token(entry)) {
    hold = store_->hold_refresh(world_.steady_now() + settings_.refresh_timeout);
    if (!hold) return;
    entry = read_entry();
    if (!still_due(entry, started_generation)) return;
  }
  ProviderMemo memo = entry.memo;
  std::optional<Token> token;
  std::string failure;
  bool login_ended = false;
  try {
    token = source_(world_.steady_now() + settings_.refresh_timeout, memo, FetchMode::background,
                    entry.token ? &*entry.token : nullptr);
  } catch (const Error& e) {
    failure = e.what();
    login_ended = e.login_ended();
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "the token source failed with an unknown error";
  }
  // Commit under the refresh lock, which a blocking refresher holds while it fetches: if one
  // runs, wait for it, then find the generation moved. A blocking refresher holds the lock for at
  // most its own refresh_timeout, so this wait normally ends well before ours.
  if (!hold) hold = store_->hold_refresh(world_.steady_now() + 2 * settings_.refresh_timeout);
  if (!hold) return;
  CacheEntry current = read_entry();
  const TimePoint now = world_.now();
  BackgroundOutcome outcome;
  if (token) {
    outcome = apply_background_success(current, started_generation, std::move(*token), now, settings_, draw());
    if (outcome == BackgroundOutcome::stored) current.memo = std::move(memo);
  } else {
    outcome = apply_background_failure(current, started_generation, std::move(failure), now, settings_, draw());
    if (login_ended && outcome != BackgroundOutcome::discarded) forget_login(current);
  }
  if (outcome != BackgroundOutcome::discarded) store_->write(current);
}

bool carries_refresh_token(const CacheEntry& entry) {
  return entry.token && entry.token->fields.count(kRefreshTokenField) != 0;
}

void RefreshFlow::forget_login(CacheEntry& current) {
  if (current.token) current.token->fields.erase(kRefreshTokenField);
  diagnostics_.note("the provider refused the refresh token: forgotten, no request will send it again");
}

Token RefreshFlow::refresh_blocking(const GetOptions& options, const CacheEntry& seen,
                                    std::optional<TimePoint>& stale_after) {
  const Deadline deadline = world_.steady_now() + settings_.refresh_timeout;
  if (auto why = store_->unwritable()) {
    // Sending a rotating refresh token whose successor cannot be kept would end the login.
    if (carries_refresh_token(seen)) {
      throw Error(ErrorKind::storage, fmt::format("{}: the login's rotated refresh token could not be kept", *why),
                  "make the cache directory writable");
    }
    diagnostics_.warn(fmt::format("{}; the new token will not be cached", *why));
    ProviderMemo memo = seen.memo;
    return fetch(deadline, memo, FetchMode::blocking, seen.token ? &*seen.token : nullptr, options);
  }
  const auto failure_before = store_->last_failure();
  const std::uint64_t failures_before = failure_before ? failure_before->seq : 0;
  // An outage answered a moment ago answers now, without a request: N callers (or N processes,
  // or N hosts' worth of retries) cost the token service one request series per failure_cache.
  if (!options.force_refresh && failure_before &&
      failure_answers(failure_before->at, failure_before->until, world_.now())) {
    // Said in the message: no request was sent, so the failure must not read as a live one.
    throw Error(failure_before->kind,
                fmt::format("{} ({})", failure_before->message,
                            kept_failure_note(failure_before->at, *failure_before->until, world_.now())),
                failure_before->advice);
  }
  const auto wait_start = world_.steady_now();
  const auto hold = store_->hold_refresh(deadline);
  if (!hold) {
    throw Error(ErrorKind::unavailable,
                fmt::format("timed out after {} waiting for another tok process to refresh the token",
                            format_duration(settings_.refresh_timeout)),
                "raise refresh_timeout, or check the token service");
  }
  if (world_.steady_now() - wait_start >= std::chrono::milliseconds(1)) {
    diagnostics_.note(fmt::format("waited {} for the refresh lock", waited_for(wait_start, world_.steady_now())));
  }

  CacheEntry current = read_entry();
  const TimePoint now = world_.now();
  if (!options.force_refresh) {
    // Another caller may have refreshed while we waited: then its token is ours too...
    const bool changed = source_changed(current);
    if (state_of(current, now, settings_, options.min_valid) != TokenState::expired && !changed &&
        !(options.also_expired && options.also_expired(current, now))) {
      stale_after = current.stale_after;
      return *current.token;
    }
    // ...even when it is shorter than asked: a herd must never become one request per caller.
    if (current.generation != seen.generation && really_valid(current, now) && !changed) {
      diagnostics_.note("taking the token another caller just fetched");
      tell_if_short(*current.token, now, options);
      stale_after = current.stale_after;
      return *current.token;
    }
    // ...and when its refresh failed, we fail with it rather than ask the service again.
    if (const auto failure = store_->last_failure(); failure && failure->seq != failures_before) {
      diagnostics_.note("the refresh another caller made while we waited failed; failing with it");
      throw Error(failure->kind, failure->message, failure->advice);
    }
  }

  ProviderMemo memo = current.memo;
  Token token;
  try {
    token = fetch(deadline, memo, FetchMode::blocking, current.token ? &*current.token : nullptr, options);
  } catch (const Error& e) {
    if (e.login_ended() && carries_refresh_token(current)) {
      forget_login(current);
      store_->write(current);
    }
    const auto last = store_->last_failure();
    const TimePoint at = world_.now();
    // A Retry-After is a floor: the window's end is drawn whatever refresh_jitter says.
    const bool kept = e.outage() && settings_.failure_cache > Duration{0};
    const double failure_draw = !kept ? 0.0 : e.retry_after() ? retry_after_draw() : draw();
    store_->record_failure(*hold,
                           SharedFailure{(last ? last->seq : 0) + 1, e.kind(), e.what(), e.advice(), at,
                                         failure_kept_until(e.outage(), e.retry_after(), at, settings_, failure_draw)});
    throw;
  }
  // A fetch that got through (a forced one, or one after the window) ends a kept failure.
  if (auto last = store_->last_failure(); last && last->until) {
    last->until.reset();
    store_->record_failure(*hold, *last);
  }
  store_token(current, token, world_.now(), settings_, draw());
  current.memo = std::move(memo);
  if (auto problem = store_->write(current)) {
    diagnostics_.warn(*problem);
  } else {
    stale_after = current.stale_after;
  }
  return token;
}

Token RefreshFlow::fetch(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token* current,
                         const GetOptions& options) {
  const auto start = world_.steady_now();
  Token token = source_(deadline, memo, mode, current);
  diagnostics_.note(fmt::format("fetched a new token in {}", waited_for(start, world_.steady_now())));
  tell_if_short(token, world_.now(), options);
  return token;
}

void RefreshFlow::tell_if_short(const Token& token, TimePoint now, const GetOptions& options) {
  if (!shorter_than_asked(token, now, settings_, options.min_valid) || told_short_.exchange(true)) return;
  const auto left = std::chrono::floor<std::chrono::seconds>(*token.expiry - now);
  std::string asked = fmt::format("expiry_buffer ({})", format_duration(settings_.expiry_buffer));
  if (options.min_valid > Duration{0}) asked += fmt::format(" + --min-valid ({})", format_duration(options.min_valid));
  diagnostics_.warn(fmt::format("the provider's token lives {}, less than {} asks; using it while it is valid",
                                format_duration(std::max(left, std::chrono::seconds{0})), asked));
}

bool RefreshFlow::expire(const std::string& only_if) {
  const auto hold = store_->hold_refresh(world_.steady_now() + settings_.refresh_timeout);
  if (!hold) return false;
  CacheEntry current = read_entry();
  if (!current.token || (!only_if.empty() && current.token->access_token != only_if)) return false;
  current.token->expiry = world_.now();
  current.stale_after.reset();
  current.retry_after.reset();
  return !store_->write(current);
}

bool RefreshFlow::clear() {
  const auto hold = store_->hold_refresh(world_.steady_now() + settings_.refresh_timeout);
  return hold && store_->remove();
}

}  // namespace tok

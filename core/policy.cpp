#include "core/policy.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace tok {

const char* to_string(TokenState state) noexcept {
  switch (state) {
    case TokenState::fresh: return "fresh";
    case TokenState::stale: return "stale";
    case TokenState::expired: return "expired";
  }
  return "expired";
}

TokenState state_of(const CacheEntry& entry, TimePoint now, const EngineSettings& settings, Duration min_valid) {
  if (!entry.token || entry.token->access_token.empty()) return TokenState::expired;
  const Token& token = *entry.token;
  if (!token.expiry) return TokenState::fresh;
  if (*token.expiry - settings.expiry_buffer - min_valid < now) return TokenState::expired;
  if (entry.stale_after && *entry.stale_after < now) return TokenState::stale;
  return TokenState::fresh;
}

namespace {

// `share` x `d`, for a share in [0, 1] (anything else, NaN included, counts as 0).
Duration part_of(Duration d, double share) {
  if (!(share > 0.0)) return Duration{0};
  if (share >= 1.0) return d;
  // Rounded to the nearest tick by hand, not std::llround: that one call was all `tok` took from
  // libm, and a library less to map and relocate is a cache hit's start made shorter.
  const double ticks = static_cast<double>(d.count()) * share;
  const double half = ticks < 0.0 ? -0.5 : 0.5;
  return Duration{static_cast<Duration::rep>(ticks + half)};
}

double jitter_share(const EngineSettings& settings, double draw) {
  const double j = std::clamp(settings.refresh_jitter, 0.0, 1.0);  // NaN-safe below: part_of
  const double u = draw >= 0.0 && draw <= 1.0 ? draw : 0.0;
  return j * u;
}

}  // namespace

std::optional<TimePoint> compute_stale_after(const Token& token, TimePoint now, const EngineSettings& settings,
                                             double draw) {
  if (!token.expiry) return std::nullopt;
  const TimePoint expiry = *token.expiry;
  Duration window;
  if (settings.stale_window) {
    window = *settings.stale_window;
  } else {
    const auto ttl = std::chrono::duration_cast<Duration>(expiry - now);
    window = std::clamp<Duration>(ttl / 2, Duration{0}, settings.max_stale_window);
  }
  const TimePoint seed_point = expiry - window;
  const TimePoint drawn = seed_point - part_of(window, jitter_share(settings, draw));
  // Never later than the seed's point, never before the fetch (a fixed window longer than the
  // token's life already puts the seed's point in the past: then it stays as it is).
  return std::max(drawn, std::min(seed_point, now));
}

Duration jittered_backoff(const EngineSettings& settings, double draw) {
  return settings.retry_backoff + part_of(settings.retry_backoff, jitter_share(settings, draw));
}

std::optional<TimePoint> failure_kept_until(bool outage, std::optional<Duration> retry_after, TimePoint at,
                                            const EngineSettings& settings, double draw) {
  if (!outage || settings.failure_cache <= Duration{0}) return std::nullopt;
  Duration window = settings.failure_cache;
  if (!retry_after) return at + window + part_of(window, jitter_share(settings, draw));
  window = std::max(window, std::min(*retry_after, settings.retry_backoff));
  return at + window + part_of(window, draw >= 0.0 && draw <= 1.0 ? draw : 0.0);
}

bool failure_answers(TimePoint at, std::optional<TimePoint> until, TimePoint now) {
  return until && at <= now && now < *until;
}

std::string kept_failure_note(TimePoint failed_at, TimePoint retry_at, TimePoint now) {
  using std::chrono::seconds;
  const std::string until = format_rfc3339(retry_at);  // 2026-11-28T15:04:05Z
  // The time of day while that is unambiguous, the whole instant beyond.
  const std::string when = retry_at - now < std::chrono::hours(20) ? until.substr(11, 8) + " UTC" : until;
  return fmt::format("failed {} ago; not retried until {}; --force-refresh asks now",
                     format_duration(std::chrono::floor<seconds>(std::max(now - failed_at, TimePoint::duration{0}))),
                     when);
}

GetAction decide_get(TokenState state, const EngineSettings& settings, const GetOptions& options,
                     bool cooling_down) {
  if (options.force_refresh || state == TokenState::expired) return GetAction::refresh_blocking;
  if (state == TokenState::stale && !cooling_down && settings.async_refresh && options.allow_async) {
    return GetAction::serve_and_refresh_in_background;
  }
  return GetAction::serve;
}

void store_token(CacheEntry& entry, Token token, TimePoint now, const EngineSettings& settings, double draw) {
  // stale_after is recomputed on every store, so a token without expiry never keeps an old one.
  // The draw is stored with it: every process of the host agrees on it.
  entry.stale_after = compute_stale_after(token, now, settings, draw);
  entry.token = std::move(token);
  entry.generation += 1;
  entry.last_error.reset();
  entry.retry_after.reset();
}

BackgroundOutcome apply_background_success(CacheEntry& entry, std::uint64_t started_generation, Token token,
                                           TimePoint now, const EngineSettings& settings, double draw) {
  if (entry.generation != started_generation) return BackgroundOutcome::discarded;
  const bool cached_expires = entry.token && entry.token->expiry;
  if (cached_expires && token.expiry && *token.expiry < *entry.token->expiry) {
    // The service now issues shorter tokens (or answered with an old one): keep ours while it
    // lasts, and ask again after the cooldown rather than at every call.
    entry.retry_after = now + jittered_backoff(settings, draw);
    return BackgroundOutcome::backed_off;
  }
  store_token(entry, std::move(token), now, settings, draw);
  return BackgroundOutcome::stored;
}

BackgroundOutcome apply_background_failure(CacheEntry& entry, std::uint64_t started_generation, std::string message,
                                           TimePoint now, const EngineSettings& settings, double draw) {
  if (entry.generation != started_generation) return BackgroundOutcome::discarded;
  // Absolute, not added to the old value; it may land past the expiry, which is harmless
  // because EXPIRED is checked first. stale_after stays: the token is stale, and says so.
  entry.retry_after = now + jittered_backoff(settings, draw);
  entry.last_error = BackgroundError{std::move(message), now};
  return BackgroundOutcome::backed_off;
}

bool cooling_down(const CacheEntry& entry, TimePoint now) { return entry.retry_after && now <= *entry.retry_after; }

std::optional<TimePoint> cooldown_until(const CacheEntry& entry, TimePoint now) {
  if (entry.last_error && cooling_down(entry, now)) return entry.retry_after;
  return std::nullopt;
}

bool really_valid(const CacheEntry& entry, TimePoint now) {
  if (!entry.token || entry.token->access_token.empty()) return false;
  return !entry.token->expiry || now < *entry.token->expiry;
}

bool shorter_than_asked(const Token& token, TimePoint now, const EngineSettings& settings, Duration min_valid) {
  return token.expiry && *token.expiry - settings.expiry_buffer - min_valid < now;
}

}  // namespace tok

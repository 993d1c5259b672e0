#include "core/policy.hpp"

#include <algorithm>

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

std::optional<TimePoint> compute_stale_after(const Token& token, TimePoint now, const EngineSettings& settings) {
  if (!token.expiry) return std::nullopt;
  const TimePoint expiry = *token.expiry;
  if (settings.stale_window) return expiry - *settings.stale_window;
  const auto ttl = std::chrono::duration_cast<Duration>(expiry - now);
  const Duration window = std::clamp<Duration>(ttl / 2, Duration{0}, settings.max_stale_window);
  return expiry - window;
}

GetAction decide_get(TokenState state, const EngineSettings& settings, const GetOptions& options) {
  if (options.force_refresh || state == TokenState::expired) return GetAction::refresh_blocking;
  if (state == TokenState::stale && settings.async_refresh && options.allow_async) {
    return GetAction::serve_and_refresh_in_background;
  }
  return GetAction::serve;
}

void store_token(CacheEntry& entry, Token token, TimePoint now, const EngineSettings& settings) {
  // stale_after is recomputed on every store, so a token without expiry never keeps an old one.
  entry.stale_after = compute_stale_after(token, now, settings);
  entry.token = std::move(token);
  entry.generation += 1;
  entry.last_error.reset();
}

BackgroundOutcome apply_background_success(CacheEntry& entry, std::uint64_t started_generation, Token token,
                                           TimePoint now, const EngineSettings& settings) {
  if (entry.generation != started_generation) return BackgroundOutcome::discarded;
  const bool cached_expires = entry.token && entry.token->expiry;
  if (cached_expires && token.expiry && *token.expiry < *entry.token->expiry) {
    // The service now issues shorter tokens (or answered with an old one): keep ours while it
    // lasts, and ask again after the cooldown rather than at every call.
    entry.stale_after = now + settings.retry_backoff;
    return BackgroundOutcome::backed_off;
  }
  store_token(entry, std::move(token), now, settings);
  return BackgroundOutcome::stored;
}

BackgroundOutcome apply_background_failure(CacheEntry& entry, std::uint64_t started_generation, std::string message,
                                           TimePoint now, const EngineSettings& settings) {
  if (entry.generation != started_generation) return BackgroundOutcome::discarded;
  // Absolute, not added to the old value; it may land past the expiry, which is harmless
  // because EXPIRED is checked first.
  entry.stale_after = now + settings.retry_backoff;
  entry.last_error = BackgroundError{std::move(message), now};
  return BackgroundOutcome::backed_off;
}

std::optional<TimePoint> cooldown_until(const CacheEntry& entry, TimePoint now) {
  if (entry.last_error && entry.stale_after && *entry.stale_after >= now) return entry.stale_after;
  return std::nullopt;
}

bool really_valid(const CacheEntry& entry, TimePoint now) {
  if (!entry.token || entry.token->access_token.empty()) return false;
  return !entry.token->expiry || now < *entry.token->expiry;
}

bool shorter_than_asked(const Token& token, TimePoint now, const EngineSettings& settings, Duration min_valid) {
  return token.expiry && *token.expiry - settings.expiry_buffer - min_valid < now;
}

bool plausible_instant(TimePoint t) {
  using namespace std::chrono;
  constexpr auto kLatest = sys_days{year{2200} / January / 1};  // as instant_from_epoch_seconds
  return t >= TimePoint{} && t <= kLatest;
}

}  // namespace tok

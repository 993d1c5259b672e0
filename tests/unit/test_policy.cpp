// core/policy: the pure decisions of docs/design.md ("Token states" to "Generation guard").
#include <doctest/doctest.h>

#include "core/policy.hpp"
#include "core/time_format.hpp"

using namespace std::chrono_literals;
using tok::CacheEntry;
using tok::Duration;
using tok::EngineSettings;
using tok::GetAction;
using tok::GetOptions;
using tok::TimePoint;
using tok::Token;
using tok::TokenState;

namespace {

const TimePoint kT0{std::chrono::hours(24 * 365 * 56)};
constexpr Duration kTick = 1ms;

Token token_expiring(TimePoint expiry, std::string access = "tok-1") {
  Token t;
  t.access_token = std::move(access);
  t.expiry = expiry;
  return t;
}

Token token_without_expiry(std::string access = "forever") {
  Token t;
  t.access_token = std::move(access);
  return t;
}

// An entry as stored at kT0 with the default settings.
CacheEntry stored(Token token, const EngineSettings& settings = {}, TimePoint at = kT0) {
  CacheEntry e;
  tok::store_token(e, std::move(token), at, settings);
  return e;
}

}  // namespace

TEST_SUITE("policy") {

TEST_CASE("to_string names every state") {
  CHECK(std::string(tok::to_string(TokenState::fresh)) == "fresh");
  CHECK(std::string(tok::to_string(TokenState::stale)) == "stale");
  CHECK(std::string(tok::to_string(TokenState::expired)) == "expired");
}

TEST_CASE("default settings match the spec's table") {
  const EngineSettings s;
  CHECK(s.expiry_buffer == 40s);
  CHECK(s.max_stale_window == 20min);
  CHECK_FALSE(s.stale_window.has_value());
  CHECK(s.retry_backoff == 1min);
  CHECK(s.async_refresh);
  CHECK(s.refresh_timeout == 60s);
}

TEST_CASE("no token, or an empty access token, is EXPIRED") {
  const EngineSettings s;
  CacheEntry none;
  CHECK(tok::state_of(none, kT0, s) == TokenState::expired);

  CacheEntry empty = stored(token_expiring(kT0 + 1h, ""));
  CHECK(tok::state_of(empty, kT0, s) == TokenState::expired);

  CacheEntry empty_forever = stored(token_without_expiry(""));
  CHECK(tok::state_of(empty_forever, kT0, s) == TokenState::expired);
}

TEST_CASE("a token without expiry is FRESH forever, even with a stale_after left over") {
  const EngineSettings s;
  CacheEntry e = stored(token_without_expiry());
  CHECK_FALSE(e.stale_after.has_value());
  CHECK(tok::state_of(e, kT0, s) == TokenState::fresh);
  CHECK(tok::state_of(e, kT0 + 24h * 365 * 100, s) == TokenState::fresh);
  CHECK(tok::state_of(e, kT0 + 24h * 365 * 100, s, 24h) == TokenState::fresh);
  // Even a hand-made entry with a past stale_after: FRESH is checked before STALE.
  e.stale_after = kT0 - 1h;
  CHECK(tok::state_of(e, kT0, s) == TokenState::fresh);
}

TEST_CASE("state boundaries are strict: at the instant itself the earlier state") {
  const EngineSettings s;  // 60 min token: stale at +40 min, expired after +60 min - 40 s
  const CacheEntry e = stored(token_expiring(kT0 + 60min));
  REQUIRE(e.stale_after == kT0 + 40min);
  const TimePoint stale_at = *e.stale_after;
  const TimePoint expired_at = kT0 + 60min - s.expiry_buffer;

  CHECK(tok::state_of(e, kT0, s) == TokenState::fresh);
  CHECK(tok::state_of(e, stale_at - kTick, s) == TokenState::fresh);
  CHECK(tok::state_of(e, stale_at, s) == TokenState::fresh);
  CHECK(tok::state_of(e, stale_at + kTick, s) == TokenState::stale);

  CHECK(tok::state_of(e, expired_at - kTick, s) == TokenState::stale);
  CHECK(tok::state_of(e, expired_at, s) == TokenState::stale);
  CHECK(tok::state_of(e, expired_at + kTick, s) == TokenState::expired);
  CHECK(tok::state_of(e, kT0 + 60min, s) == TokenState::expired);
  CHECK(tok::state_of(e, kT0 + 600min, s) == TokenState::expired);
}

TEST_CASE("expiry boundary with the token fresh up to it (no stale_after)") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 10min));
  e.stale_after.reset();
  const TimePoint expired_at = kT0 + 10min - 40s;
  CHECK(tok::state_of(e, expired_at - kTick, s) == TokenState::fresh);
  CHECK(tok::state_of(e, expired_at, s) == TokenState::fresh);
  CHECK(tok::state_of(e, expired_at + kTick, s) == TokenState::expired);
}

TEST_CASE("expiry_buffer is configurable, including zero") {
  EngineSettings s;
  s.expiry_buffer = 0ms;
  CacheEntry e = stored(token_expiring(kT0 + 10min), s);
  CHECK(tok::state_of(e, kT0 + 10min, s) == TokenState::stale);
  CHECK(tok::state_of(e, kT0 + 10min + kTick, s) == TokenState::expired);

  s.expiry_buffer = 5min;
  CHECK(tok::state_of(e, kT0 + 5min, s) == TokenState::fresh);  // == stale_after, == expiry - buffer
  CHECK(tok::state_of(e, kT0 + 5min + kTick, s) == TokenState::expired);  // EXPIRED wins over STALE
}

TEST_CASE("EXPIRED is checked before STALE") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 10min));
  e.stale_after = kT0 - 1h;
  CHECK(tok::state_of(e, kT0 + 11min, s) == TokenState::expired);
  CHECK(tok::state_of(e, kT0 + 1min, s) == TokenState::stale);
}

TEST_CASE("min_valid widens EXPIRED to tokens with less remaining life (after the buffer)") {
  const EngineSettings s;
  const CacheEntry e = stored(token_expiring(kT0 + 60min));
  // Remaining life after the buffer at kT0: 60 min - 40 s = 59 min 20 s.
  CHECK(tok::state_of(e, kT0, s, 0ms) == TokenState::fresh);
  CHECK(tok::state_of(e, kT0, s, 59min + 20s) == TokenState::fresh);  // exactly enough left
  CHECK(tok::state_of(e, kT0, s, 59min + 20s + kTick) == TokenState::expired);
  CHECK(tok::state_of(e, kT0, s, 2h) == TokenState::expired);
  // Later: 20 min - 40 s left at +40 min.
  CHECK(tok::state_of(e, kT0 + 40min, s, 19min + 20s) == TokenState::fresh);
  CHECK(tok::state_of(e, kT0 + 40min, s, 19min + 20s + kTick) == TokenState::expired);
  // A stale token with enough life left stays STALE.
  CHECK(tok::state_of(e, kT0 + 41min, s, 1min) == TokenState::stale);
}

TEST_CASE("compute_stale_after: dynamic window, the spec's examples") {
  const EngineSettings s;
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 60min), kT0, s) == kT0 + 40min);  // capped at 20 min
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 10min), kT0, s) == kT0 + 5min);
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 90s), kT0, s) == kT0 + 45s);
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 40min), kT0, s) == kT0 + 20min);  // half == cap
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 24h), kT0, s) == kT0 + 24h - 20min);
}

TEST_CASE("compute_stale_after: dynamic window clamps a negative TTL to zero") {
  const EngineSettings s;
  CHECK(tok::compute_stale_after(token_expiring(kT0 - 5min), kT0, s) == kT0 - 5min);
  CHECK(tok::compute_stale_after(token_expiring(kT0), kT0, s) == kT0);
}

TEST_CASE("compute_stale_after: max_stale_window is configurable") {
  EngineSettings s;
  s.max_stale_window = 5min;
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 60min), kT0, s) == kT0 + 55min);
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 6min), kT0, s) == kT0 + 3min);
}

TEST_CASE("compute_stale_after: fixed (legacy) window") {
  EngineSettings s;
  s.stale_window = 5min;
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 60min), kT0, s) == kT0 + 55min);
  s.stale_window = 0ms;
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 10min), kT0, s) == kT0 + 10min);
  // The fixed window ignores max_stale_window.
  s.stale_window = 30min;
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 60min), kT0, s) == kT0 + 30min);
}

TEST_CASE("compute_stale_after: none for a token without expiry") {
  EngineSettings s;
  CHECK_FALSE(tok::compute_stale_after(token_without_expiry(), kT0, s).has_value());
  s.stale_window = 5min;
  CHECK_FALSE(tok::compute_stale_after(token_without_expiry(), kT0, s).has_value());
}

TEST_CASE("store_token: recomputes stale_after, increments generation, clears last_error") {
  const EngineSettings s;
  CacheEntry e;
  CHECK(e.generation == 0);
  tok::store_token(e, token_expiring(kT0 + 60min, "a"), kT0, s);
  CHECK(e.generation == 1);
  REQUIRE(e.token);
  CHECK(e.token->access_token == "a");
  CHECK(e.stale_after == kT0 + 40min);

  e.last_error = tok::BackgroundError{"boom", kT0};
  tok::store_token(e, token_expiring(kT0 + 10min + 10min, "b"), kT0 + 10min, s);
  CHECK(e.generation == 2);
  CHECK(e.token->access_token == "b");
  CHECK(e.stale_after == kT0 + 15min);
  CHECK_FALSE(e.last_error.has_value());
}

TEST_CASE("store_token: a token without expiry resets stale_after to none") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 60min));
  REQUIRE(e.stale_after.has_value());
  tok::store_token(e, token_without_expiry(), kT0 + 1min, s);
  CHECK_FALSE(e.stale_after.has_value());
  CHECK(e.generation == 2);
  CHECK(tok::state_of(e, kT0 + 10 * 24h, s) == TokenState::fresh);
}

TEST_CASE("store_token keeps the memo") {
  const EngineSettings s;
  CacheEntry e;
  e.memo["token_endpoint"] = "https://x/token";
  tok::store_token(e, token_expiring(kT0 + 60min), kT0, s);
  CHECK(e.memo.at("token_endpoint") == "https://x/token");
}

TEST_CASE("decide_get: every state x async on/off x force x allow_async") {
  for (TokenState state : {TokenState::fresh, TokenState::stale, TokenState::expired}) {
    for (bool async : {true, false}) {
      for (bool force : {false, true}) {
        for (bool allow_async : {true, false}) {
          CAPTURE(tok::to_string(state));
          CAPTURE(async);
          CAPTURE(force);
          CAPTURE(allow_async);
          EngineSettings s;
          s.async_refresh = async;
          GetOptions o;
          o.force_refresh = force;
          o.allow_async = allow_async;
          GetAction expected;
          if (force || state == TokenState::expired) {
            expected = GetAction::refresh_blocking;
          } else if (state == TokenState::stale && async && allow_async) {
            expected = GetAction::serve_and_refresh_in_background;
          } else {
            expected = GetAction::serve;
          }
          CHECK(tok::decide_get(state, s, o) == expected);
        }
      }
    }
  }
}

TEST_CASE("decide_get: the named cases") {
  EngineSettings s;
  CHECK(tok::decide_get(TokenState::fresh, s, {}) == GetAction::serve);
  CHECK(tok::decide_get(TokenState::stale, s, {}) == GetAction::serve_and_refresh_in_background);
  CHECK(tok::decide_get(TokenState::expired, s, {}) == GetAction::refresh_blocking);
  s.async_refresh = false;
  CHECK(tok::decide_get(TokenState::stale, s, {}) == GetAction::serve);  // STALE behaves like FRESH
  CHECK(tok::decide_get(TokenState::expired, s, {}) == GetAction::refresh_blocking);
}

TEST_CASE("apply_background_success: applied at the same generation") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 60min, "old"));
  const auto g = e.generation;
  e.last_error = tok::BackgroundError{"earlier failure", kT0};
  CHECK(tok::apply_background_success(e, g, token_expiring(kT0 + 41min + 10min + 20min, "new"), kT0 + 41min, s) ==
        tok::BackgroundOutcome::stored);
  CHECK(e.token->access_token == "new");
  CHECK(e.generation == g + 1);
  CHECK(e.stale_after == kT0 + 41min + 15min);
  CHECK_FALSE(e.last_error.has_value());
}

TEST_CASE("apply_background_success: a late success is discarded") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 60min, "old"));
  const auto started = e.generation;
  tok::store_token(e, token_expiring(kT0 + 61min + 10min, "blocking"), kT0 + 61min, s);  // newer, expires sooner
  const CacheEntry before = e;
  CHECK(tok::apply_background_success(e, started, token_expiring(kT0 + 3h, "late"), kT0 + 62min, s) ==
        tok::BackgroundOutcome::discarded);
  CHECK(e.token == before.token);
  CHECK(e.generation == before.generation);
  CHECK(e.stale_after == before.stale_after);
}

TEST_CASE("apply_background_failure: the cooldown is absolute, now + retry_backoff, and stale_after stays") {
  EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 60min));
  const auto g = e.generation;
  const auto stale_after = e.stale_after;
  const TimePoint failed_at = kT0 + 45min;
  CHECK(tok::apply_background_failure(e, g, "network down", failed_at, s) == tok::BackgroundOutcome::backed_off);
  CHECK(e.retry_after == failed_at + 1min);  // not old retry_after + 1 min
  CHECK(e.stale_after == stale_after);       // the state is never bent
  CHECK(e.generation == g);                  // a backoff does not change the generation
  REQUIRE(e.last_error);
  CHECK(e.last_error->message == "network down");
  CHECK(e.last_error->at == failed_at);
  CHECK(e.token->access_token == "tok-1");

  // STALE throughout; the cooldown holds the next attempt back up to retry_after, not 1 ms after.
  CHECK(tok::state_of(e, failed_at, s) == TokenState::stale);
  CHECK(tok::state_of(e, failed_at + 1min, s) == TokenState::stale);
  CHECK(tok::cooling_down(e, failed_at));
  CHECK(tok::cooling_down(e, failed_at + 1min - kTick));
  CHECK(tok::cooling_down(e, failed_at + 1min));
  CHECK_FALSE(tok::cooling_down(e, failed_at + 1min + kTick));

  // A second failure: again absolute from its own time.
  CHECK(tok::apply_background_failure(e, g, "still down", failed_at + 2min, s) == tok::BackgroundOutcome::backed_off);
  CHECK(e.retry_after == failed_at + 3min);
  CHECK(e.last_error->message == "still down");

  // A configured backoff.
  s.retry_backoff = 30s;
  CHECK(tok::apply_background_failure(e, g, "x", failed_at + 5min, s) == tok::BackgroundOutcome::backed_off);
  CHECK(e.retry_after == failed_at + 5min + 30s);
  CHECK(e.stale_after == stale_after);
}

TEST_CASE("apply_background_failure: the backoff may land past the expiry, EXPIRED still wins") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 10min));
  const TimePoint failed_at = kT0 + 9min;
  CHECK(tok::apply_background_failure(e, e.generation, "down", failed_at, s) == tok::BackgroundOutcome::backed_off);
  CHECK(e.retry_after == kT0 + 10min);  // == expiry, past expiry - buffer
  const TimePoint expired_at = kT0 + 10min - 40s;
  CHECK(tok::state_of(e, expired_at, s) == TokenState::stale);
  CHECK(tok::cooling_down(e, expired_at + kTick));
  CHECK(tok::state_of(e, expired_at + kTick, s) == TokenState::expired);

  CacheEntry f = stored(token_expiring(kT0 + 10min));
  CHECK(tok::apply_background_failure(f, f.generation, "down", kT0 + 9min + 59s, s) == tok::BackgroundOutcome::backed_off);
  CHECK(f.retry_after == kT0 + 10min + 59s);  // beyond the expiry itself
  CHECK(tok::state_of(f, kT0 + 10min, s) == TokenState::expired);
}

TEST_CASE("apply_background_failure: a late failure does not push back a newer stale_after") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 60min, "old"));
  const auto started = e.generation;
  tok::store_token(e, token_expiring(kT0 + 61min + 10min, "blocking"), kT0 + 61min, s);
  const CacheEntry before = e;
  REQUIRE(e.stale_after == kT0 + 66min);
  CHECK(tok::apply_background_failure(e, started, "late failure", kT0 + 65min, s) == tok::BackgroundOutcome::discarded);
  CHECK(e.stale_after == before.stale_after);
  CHECK_FALSE(e.retry_after.has_value());
  CHECK(e.generation == before.generation);
  CHECK_FALSE(e.last_error.has_value());
  CHECK(e.token == before.token);
}

TEST_CASE("apply_background_success: a shorter token is not stored, the cooldown starts instead") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 60min, "long"));
  const CacheEntry before = e;
  const TimePoint now = kT0 + 45min;
  CHECK(tok::apply_background_success(e, e.generation, token_expiring(now + 30s, "short"), now, s) ==
        tok::BackgroundOutcome::backed_off);
  CHECK(e.token == before.token);
  CHECK(e.generation == before.generation);
  CHECK(e.retry_after == now + 1min);
  CHECK(e.stale_after == before.stale_after);
  CHECK(tok::cooling_down(e, now));
  CHECK_FALSE(e.last_error.has_value());
  CHECK_FALSE(tok::cooldown_until(e, now).has_value());  // not a failure
  // As long or longer is stored; so is a token without expiry.
  CacheEntry same = stored(token_expiring(kT0 + 60min, "a"));
  CHECK(tok::apply_background_success(same, same.generation, token_expiring(kT0 + 60min, "b"), now, s) ==
        tok::BackgroundOutcome::stored);
  CacheEntry forever = stored(token_expiring(kT0 + 60min, "a"));
  CHECK(tok::apply_background_success(forever, forever.generation, Token{"f", "Bearer", std::nullopt, {}}, now, s) ==
        tok::BackgroundOutcome::stored);
}

TEST_CASE("cooldown_until: only while a recorded failure's backoff runs") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 60min));
  CHECK_FALSE(tok::cooldown_until(e, kT0 + 45min).has_value());
  tok::apply_background_failure(e, e.generation, "down", kT0 + 45min, s);
  CHECK(tok::cooldown_until(e, kT0 + 45min) == kT0 + 46min);
  CHECK(tok::cooldown_until(e, kT0 + 46min) == kT0 + 46min);
  CHECK_FALSE(tok::cooldown_until(e, kT0 + 46min + kTick).has_value());
}

TEST_CASE("decide_get: a STALE token in its cooldown is served without a background refresh") {
  const EngineSettings s;
  CHECK(tok::decide_get(TokenState::stale, s, {}, /*cooling_down=*/true) == GetAction::serve);
  CHECK(tok::decide_get(TokenState::stale, s, {}, /*cooling_down=*/false) ==
        GetAction::serve_and_refresh_in_background);
  // The cooldown holds background refreshes only: an expired token or a forced one is fetched.
  CHECK(tok::decide_get(TokenState::expired, s, {}, true) == GetAction::refresh_blocking);
  GetOptions force;
  force.force_refresh = true;
  CHECK(tok::decide_get(TokenState::stale, s, force, true) == GetAction::refresh_blocking);
}

TEST_CASE("store_token: clears the cooldown") {
  const EngineSettings s;
  CacheEntry e = stored(token_expiring(kT0 + 60min));
  tok::apply_background_failure(e, e.generation, "down", kT0 + 45min, s);
  REQUIRE(e.retry_after);
  tok::store_token(e, token_expiring(kT0 + 2h), kT0 + 46min, s);
  CHECK_FALSE(e.retry_after.has_value());
  CHECK_FALSE(tok::cooling_down(e, kT0 + 46min));
}

TEST_CASE("really_valid: a non-empty token before its true expiry, whatever the buffer") {
  CacheEntry e = stored(token_expiring(kT0 + 30s));
  CHECK(tok::really_valid(e, kT0));
  CHECK(tok::really_valid(e, kT0 + 30s - kTick));
  CHECK_FALSE(tok::really_valid(e, kT0 + 30s));
  CHECK_FALSE(tok::really_valid(CacheEntry{}, kT0));
  e.token->access_token.clear();
  CHECK_FALSE(tok::really_valid(e, kT0));
  CacheEntry forever = stored(Token{"f", "Bearer", std::nullopt, {}});
  CHECK(tok::really_valid(forever, kT0 + 24h * 3650));
}

TEST_CASE("shorter_than_asked: the buffer plus --min-valid") {
  const EngineSettings s;
  CHECK(tok::shorter_than_asked(token_expiring(kT0 + 30s), kT0, s, 0s));
  CHECK_FALSE(tok::shorter_than_asked(token_expiring(kT0 + 40s), kT0, s, 0s));  // exactly the buffer: still usable
  CHECK(tok::shorter_than_asked(token_expiring(kT0 + 60min), kT0, s, 2h));
  CHECK_FALSE(tok::shorter_than_asked(Token{"f", "Bearer", std::nullopt, {}}, kT0, s, 2h));
}

// ---- fleets and outages (docs/fleet.md) ------------------------------------------------------

TEST_CASE("jitter: stale_after lies in the last refresh_jitter share of the window before the seed's point") {
  EngineSettings s;
  s.refresh_jitter = 0.1;
  const Token t = token_expiring(kT0 + 60min);  // window 20 min, seed's point +40 min
  CHECK(tok::compute_stale_after(t, kT0, s, 0.0) == kT0 + 40min);
  CHECK(tok::compute_stale_after(t, kT0, s, 0.5) == kT0 + 39min);
  CHECK(tok::compute_stale_after(t, kT0, s, 1.0) == kT0 + 38min);
  // Draws outside [0, 1] (a broken source) are the seed's point, never outside the band.
  CHECK(tok::compute_stale_after(t, kT0, s, 7.0) == kT0 + 40min);
  CHECK(tok::compute_stale_after(t, kT0, s, -1.0) == kT0 + 40min);
  // Fixed window: 5 min on a 60 min token, band [+54.5 min, +55 min].
  s.stale_window = 5min;
  CHECK(tok::compute_stale_after(t, kT0, s, 1.0) == kT0 + 54min + 30s);
  // A whole-window jitter reaches the fetch itself, never before it.
  s.stale_window.reset();
  s.refresh_jitter = 1.0;
  CHECK(tok::compute_stale_after(t, kT0, s, 1.0) == kT0 + 20min);
  s.stale_window = 60min;  // the seed's point is the fetch: nothing earlier
  CHECK(tok::compute_stale_after(t, kT0, s, 1.0) == kT0);
  s.stale_window = 90min;  // the seed's point is before the fetch: it stays (never later)
  CHECK(tok::compute_stale_after(t, kT0, s, 1.0) == kT0 - 30min);
}

TEST_CASE("jitter 0: the five cases of section 2 exactly, whatever the draw") {
  EngineSettings s;
  s.refresh_jitter = 0;
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 60min), kT0, s, 1.0) == kT0 + 40min);
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 10min), kT0, s, 1.0) == kT0 + 5min);
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 90s), kT0, s, 1.0) == kT0 + 45s);
  s.stale_window = 5min;
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 60min), kT0, s, 1.0) == kT0 + 55min);
  s.stale_window = 0min;
  CHECK(tok::compute_stale_after(token_expiring(kT0 + 10min), kT0, s, 1.0) == kT0 + 10min);
  CHECK(tok::jittered_backoff(s, 1.0) == 1min);
}

TEST_CASE("jitter: the background cooldown is retry_backoff x [1, 1 + j], stored by the failure") {
  EngineSettings s;
  s.refresh_jitter = 0.1;
  CHECK(tok::jittered_backoff(s, 0.0) == 60s);
  CHECK(tok::jittered_backoff(s, 1.0) == 66s);
  CacheEntry e = stored(token_expiring(kT0 + 60min), s);
  const TimePoint now = kT0 + 45min;
  CHECK(tok::apply_background_failure(e, e.generation, "down", now, s, 0.5) == tok::BackgroundOutcome::backed_off);
  CHECK(e.retry_after == now + 63s);
}

TEST_CASE("failure cache: only an unavailability, failure_cache long, Retry-After up to retry_backoff, jittered") {
  EngineSettings s;
  s.refresh_jitter = 0;
  CHECK_FALSE(tok::failure_kept_until(false, std::nullopt, kT0, s, 0).has_value());  // a refusal
  CHECK(tok::failure_kept_until(true, std::nullopt, kT0, s, 0) == kT0 + 5s);
  CHECK(tok::failure_kept_until(true, Duration{30s}, kT0, s, 0) == kT0 + 30s);
  CHECK(tok::failure_kept_until(true, Duration{10min}, kT0, s, 0) == kT0 + 1min);
  CHECK(tok::failure_kept_until(true, Duration{1s}, kT0, s, 0) == kT0 + 5s);
  s.refresh_jitter = 0.1;
  CHECK(tok::failure_kept_until(true, std::nullopt, kT0, s, 1.0) == kT0 + 5500ms);
  s.failure_cache = Duration{0};
  CHECK_FALSE(tok::failure_kept_until(true, Duration{30s}, kT0, s, 1.0).has_value());
}

TEST_CASE("failure cache: a Retry-After is a floor, the window ends at a draw from [W, 2W], whatever the jitter") {
  EngineSettings s;
  for (const double jitter : {0.0, 0.1}) {
    CAPTURE(jitter);
    s.refresh_jitter = jitter;
    CHECK(tok::failure_kept_until(true, Duration{30s}, kT0, s, 0.0) == kT0 + 30s);
    CHECK(tok::failure_kept_until(true, Duration{30s}, kT0, s, 0.5) == kT0 + 45s);
    CHECK(tok::failure_kept_until(true, Duration{30s}, kT0, s, 1.0) == kT0 + 60s);
    CHECK(tok::failure_kept_until(true, Duration{10min}, kT0, s, 1.0) == kT0 + 2min);  // W: retry_backoff
    CHECK(tok::failure_kept_until(true, Duration{1s}, kT0, s, 0.5) == kT0 + 7500ms);   // W: failure_cache
    CHECK(tok::failure_kept_until(true, Duration{30s}, kT0, s, 3.0) == kT0 + 30s);     // outside [0, 1]: 0
  }
  // Without a Retry-After, jitter 0 keeps the seed's window exactly, whatever the draw.
  s.refresh_jitter = 0;
  CHECK(tok::failure_kept_until(true, std::nullopt, kT0, s, 1.0) == kT0 + 5s);
}

TEST_CASE("failure cache: answers from the failure to just before its end, not when the clock went back") {
  const auto until = std::optional<TimePoint>(kT0 + 5s);
  CHECK(tok::failure_answers(kT0, until, kT0));
  CHECK(tok::failure_answers(kT0, until, kT0 + 5s - kTick));
  CHECK_FALSE(tok::failure_answers(kT0, until, kT0 + 5s));
  CHECK_FALSE(tok::failure_answers(kT0, until, kT0 - kTick));
  CHECK_FALSE(tok::failure_answers(kT0, std::nullopt, kT0));
}

TEST_CASE("a kept failure says it is kept: how old, when it is asked again, how to ask now") {
  CHECK(tok::kept_failure_note(kT0, kT0 + 65s, kT0 + 1500ms) ==
        "failed 1s ago; not retried until 00:01:05 UTC; --force-refresh asks now");
  // Far away, the time of day alone would be ambiguous: the whole instant.
  CHECK(tok::kept_failure_note(kT0, kT0 + 25h, kT0) ==
        "failed 0s ago; not retried until " + tok::format_rfc3339(kT0 + 25h) + "; --force-refresh asks now");
  // A clock that went back never says "-3s ago".
  CHECK(tok::kept_failure_note(kT0, kT0 + 5s, kT0 - 3s) ==
        "failed 0s ago; not retried until 00:00:05 UTC; --force-refresh asks now");
}

}  // TEST_SUITE

#pragma once
// The refresh policy (docs/engine.md, "The engine"; jitter and kept failures: docs/fleet.md): pure
// functions of an entry, the settings and the time. No I/O, no threads, no clock reads: both
// engines (in-process Refresher and the on-disk cache of `tok get`) make every decision here.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/token.hpp"

namespace tok {

using namespace std::chrono_literals;

// The environment variable (read through the world) that brings back the old policy of waiting a
// Retry-After exactly, in the HTTP retries and the kept failure: for bench/fleet.py's comparison
// only (docs/fleet.md), never for production.
inline constexpr const char* kBenchExactRetryAfter = "TOK_BENCH_EXACT_RETRY_AFTER";

struct EngineSettings {
  Duration expiry_buffer = 40s;  // some services reject a token with 30 s or less left
  Duration max_stale_window = 20min;
  std::optional<Duration> stale_window;  // fixed (legacy) window instead of the dynamic one
  Duration retry_backoff = 1min;
  bool async_refresh = true;
  Duration refresh_timeout = 60s;
  // How long a blocking fetch that failed with unavailability answers later callers; 0: not at all.
  Duration failure_cache = 5s;
  // The share of the stale window by which stale_after may come early (and by which the
  // cooldowns may stretch), so that hosts that fetched together refresh apart. 0: the seed exactly.
  double refresh_jitter = 0.1;
};

enum class TokenState { fresh, stale, expired };
const char* to_string(TokenState state) noexcept;

struct BackgroundError {
  std::string message;
  TimePoint at;
};

struct CacheEntry {
  std::optional<Token> token;
  std::optional<TimePoint> stale_after;
  // The cooldown (docs/design.md, "Cooldown"): no background refresh starts until it has passed.
  // Set when a background refresh failed or brought a shorter token, cleared by every store;
  // stale_after is never moved by it, so the state stays the truth.
  std::optional<TimePoint> retry_after;
  std::uint64_t generation = 0;
  std::optional<BackgroundError> last_error;
  ProviderMemo memo;
  // Read without its memo (a cache hit's read, EntryPart::head): such an entry is never written
  // back (encode_entry throws), so a memo can never be lost by it.
  bool memo_unread = false;
};

// State of the entry at `now`. `min_valid` (--min-valid) widens EXPIRED to tokens whose remaining
// life after the buffer is shorter than it. Comparisons are strict: at the very instant of a
// boundary the token is still in the earlier state.
TokenState state_of(const CacheEntry& entry, TimePoint now, const EngineSettings& settings,
                    Duration min_valid = Duration{0});

// When a token stored at `now` goes stale (section 2); none for a token without expiry. `draw`
// (in [0, 1], from a RandomSource) places it in the jitter band: the seed's point minus
// draw x refresh_jitter x the stale window, never before `now`. Draw 0 (or no jitter) is the
// seed's point exactly.
std::optional<TimePoint> compute_stale_after(const Token& token, TimePoint now, const EngineSettings& settings,
                                             double draw = 0);

// retry_backoff stretched by the jitter: retry_backoff x (1 + draw x refresh_jitter).
Duration jittered_backoff(const EngineSettings& settings, double draw);

// Until when a blocking fetch that failed at `at` answers later callers without a request: only
// an outage (a refusal, or a malformed answer, may be fixed by the user a second later), for a
// window W of failure_cache, or of the server's Retry-After when that is longer (at most
// retry_backoff). Without a Retry-After the window is stretched by the jitter (W x (1 + draw x
// refresh_jitter)); with one, W is a floor, never a beat: the window ends at W x (1 + draw), a
// point drawn from [W, 2W] whatever refresh_jitter says, as the HTTP retries wait (docs/fleet.md).
// None when nothing is kept.
std::optional<TimePoint> failure_kept_until(bool outage, std::optional<Duration> retry_after, TimePoint at,
                                            const EngineSettings& settings, double draw);
// True when a failure kept until `until` (recorded at `at`) still answers at `now`. A clock that
// went back before the failure does not extend it.
bool failure_answers(TimePoint at, std::optional<TimePoint> until, TimePoint now);
// What a caller answered by a kept failure (or served while its background refresh fails) is
// told, so that the failure never looks live: "failed 3s ago; not retried until 10:02:03 UTC;
// --force-refresh asks now". One wording for the blocking and the background path.
std::string kept_failure_note(TimePoint failed_at, TimePoint retry_at, TimePoint now);

struct GetOptions {
  bool force_refresh = false;
  Duration min_valid{0};
  bool allow_async = true;  // false for --no-async
  // A caller's own reason to take the entry for EXPIRED (an ID token past its own expiry or
  // stale point, docs/login.md): a blocking refresh under the same single flight, so the callers
  // that waited take the holder's result. Unset: the token's state alone decides.
  std::function<bool(const CacheEntry& entry, TimePoint now)> also_expired;
};

enum class GetAction {
  serve,                            // FRESH (or STALE with async off)
  serve_and_refresh_in_background,  // STALE: answer now, one background refresh
  refresh_blocking,                 // EXPIRED or forced
};

// `cooling_down`: a STALE token's cooldown runs (cooling_down() below), so it is served without
// starting a background refresh.
GetAction decide_get(TokenState state, const EngineSettings& settings, const GetOptions& options,
                     bool cooling_down = false);

// Stores a token fetched by a blocking refresh (or the first fetch): new stale_after, next
// generation, the last background error and the cooldown cleared.
void store_token(CacheEntry& entry, Token token, TimePoint now, const EngineSettings& settings, double draw = 0);

enum class BackgroundOutcome {
  stored,      // the new token replaced the cached one
  backed_off,  // not stored: retry_after = now + retry_backoff (a failure, or a shorter token)
  discarded,   // the generation moved while it ran: nothing changes
};

// A background refresh that started at `started_generation` fetched `token`. Discarded when the
// generation has moved since (a newer token was stored meanwhile); backed off, keeping the cached
// token, when the new one expires sooner than it (a background refresh never shortens a token:
// docs/engine.md, "A background refresh never shortens a token"); stored otherwise.
// `draw` jitters the new stale_after or the cooldown (retry_after).
BackgroundOutcome apply_background_success(CacheEntry& entry, std::uint64_t started_generation, Token token,
                                           TimePoint now, const EngineSettings& settings, double draw = 0);
// The same refresh failed: the error is recorded and the cooldown starts, unless discarded.
BackgroundOutcome apply_background_failure(CacheEntry& entry, std::uint64_t started_generation, std::string message,
                                           TimePoint now, const EngineSettings& settings, double draw = 0);

// True while the entry's cooldown runs: up to and including retry_after (strict, as every
// boundary: at that very instant no refresh starts yet).
bool cooling_down(const CacheEntry& entry, TimePoint now);
// The cooldown after a failed background refresh, while it runs: the instant of the next try.
// None for the cooldown of a shorter token (nothing failed).
std::optional<TimePoint> cooldown_until(const CacheEntry& entry, TimePoint now);

// Usable at all: a non-empty token before its true expiry (no buffer). A caller that waited for
// another caller's refresh takes such a token even when it is shorter than asked
// (docs/engine.md, "Waiters take what the holder committed").
bool really_valid(const CacheEntry& entry, TimePoint now);

// True when a token fetched at `now` lives no longer than the buffer plus --min-valid: the
// provider's tokens are shorter than asked, and callers should hear it once.
bool shorter_than_asked(const Token& token, TimePoint now, const EngineSettings& settings, Duration min_valid);

}  // namespace tok

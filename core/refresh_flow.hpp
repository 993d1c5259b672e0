#pragma once
// The one refresh flow (docs/engine.md, "The engine"): read, decide, serve, start one background
// refresh, block under single flight, re-check, fetch, commit under the generation guard, record
// a failure and its cooldown. Written once over two seams (EntryStore: where the entry lives and
// how exclusion works; Launcher: how background work starts); every decision is core/policy's.
// The in-process Refresher and the on-disk DiskRefresher are two configurations of it.
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/entry_store.hpp"
#include "core/launcher.hpp"
#include "core/policy.hpp"
#include "core/token.hpp"
#include "core/world.hpp"

namespace tok {

// Fetches a new token before the deadline or throws tok::Error. May read and update the memo.
// `current` is the entry's token as read under the refresh lock (null when there is none): a
// login refreshes with the refresh token in its fields, and an answer without a new one keeps it.
using TokenSource = std::function<Token(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token* current)>;

struct GetResult {
  Token token;
  TokenState state;  // as seen at the start of the call
  // Set when the token was served while its background refresh is failing (the cooldown runs):
  // the last error, and when the next background attempt is due.
  std::optional<BackgroundError> failing = std::nullopt;
  std::optional<TimePoint> retry_at = std::nullopt;
  // The entry's stale_after once the call is done (the served token's, or the one just stored);
  // none for a token without expiry or one that could not be cached. A caller that keeps a copy
  // of the token (tok write --keep) comes back then.
  std::optional<TimePoint> stale_after = std::nullopt;
};

// Where the flow reports what a user may want to know. Warnings are shown unless --quiet;
// notes only with --verbose. Never tokens or secrets.
struct Diagnostics {
  std::function<void(const std::string&)> warn;
  std::function<void(const std::string&)> note;
};

// Whether the entry's token carries a login's refresh token (kRefreshTokenField).
bool carries_refresh_token(const CacheEntry& entry);

class RefreshFlow : public std::enable_shared_from_this<RefreshFlow> {
 public:
  // Time, waiting and the jitter's draws come from `world` (a draw only when jitter is on, never
  // on the cache-hit path).
  RefreshFlow(std::unique_ptr<EntryStore> store, Launcher& launcher, TokenSource source, EngineSettings settings,
              const World& world, Diagnostics diagnostics);

  // FRESH: the cached token, nothing else. STALE: the cached token now, and one background
  // refresh unless one runs (and unless its result could not be kept). EXPIRED or forced: wait
  // for the refresh lock, re-check, fetch only if still needed, commit; a failure leaves the entry
  // as it was and reaches the caller (and the callers that waited for it); an unavailability also
  // answers later callers for failure_cache, without a request (unless forced).
  GetResult get(const GetOptions& options = {});

  // A forced expiry (a credential helper's erase): the entry stays, but is EXPIRED for the next
  // get. Only when `only_if` is empty or is the cached token. True when something changed.
  bool expire(const std::string& only_if = {});
  // Forgets the entry, under the refresh lock. False when there was none (or the lock timed out).
  bool clear();

  EntryStore& store() { return *store_; }

  // Whether the source behind a cached token changed since the fetch that left `memo` (a token
  // file rewritten): such a token is refreshed at once, as an expired one. Set only for sources
  // that can change so; then a hit reads the entry whole (the memo too).
  using SourceCheck = std::function<bool(const ProviderMemo& memo)>;
  void set_source_check(SourceCheck check) { source_check_ = std::move(check); }

 private:
  // `stale_after` is set to the entry's once the token it returns is the entry's.
  Token refresh_blocking(const GetOptions& options, const CacheEntry& seen, std::optional<TimePoint>& stale_after);
  void start_background(const CacheEntry& seen);
  // The entry is still the one a background refresh was started for, STALE and out of its cooldown.
  bool still_due(const CacheEntry& entry, std::uint64_t started_generation);
  void run_background(std::uint64_t started_generation);
  CacheEntry read_entry(EntryPart part = EntryPart::whole);
  Token fetch(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token* current, const GetOptions& options);
  void forget_login(CacheEntry& current);
  void tell_if_short(const Token& token, TimePoint now, const GetOptions& options);
  double draw();
  bool source_changed(const CacheEntry& entry) const { return source_check_ && entry.token && source_check_(entry.memo); }
  double retry_after_draw();

  std::unique_ptr<EntryStore> store_;
  Launcher& launcher_;
  TokenSource source_;
  EngineSettings settings_;
  const World& world_;
  Diagnostics diagnostics_;
  std::atomic<bool> told_short_{false};  // callers of one in-process engine are threads
  SourceCheck source_check_;
};

}  // namespace tok

#pragma once
// The in-process engine (spec/refresh-engine.md 6a): one cache entry in memory, background
// refreshes on an Executor, every decision made by core/policy. Used by `tok serve` and tests.
#include <functional>
#include <memory>
#include <mutex>

#include "core/clock.hpp"
#include "core/executor.hpp"
#include "core/policy.hpp"
#include "core/token.hpp"

namespace tok {

// Fetches a new token before the deadline or throws tok::Error. May read and update the memo.
using TokenSource = std::function<Token(Deadline deadline, ProviderMemo& memo)>;

struct GetResult {
  Token token;
  TokenState state;  // as seen at the start of the call
};

class Refresher {
 public:
  Refresher(TokenSource source, EngineSettings settings, const Clock& clock, Executor& executor);

  // FRESH: the cached token. STALE: the cached token, plus one background refresh unless one is
  // running. EXPIRED (or forced): a blocking refresh; its error reaches the caller and leaves the
  // entry as it was.
  GetResult get(const GetOptions& options = {});

  // What is cached now (for status pages and tests).
  CacheEntry snapshot() const;
  bool background_refresh_running() const;

 private:
  struct Shared {
    TokenSource source;
    EngineSettings settings;
    const Clock* clock;
    mutable std::mutex mutex;  // guards entry and background_running
    CacheEntry entry;
    bool background_running = false;
    std::mutex blocking_mutex;  // one blocking refresh at a time; the others wait and re-check
  };

  Token refresh_blocking(const GetOptions& options);
  // Called with the background slot already claimed (background_running set by get()).
  void start_background_refresh(std::uint64_t started_generation, ProviderMemo memo);

  // Background work holds the shared state, so a refresh still queued when the Refresher goes
  // away touches nothing freed.
  std::shared_ptr<Shared> shared_;
  Executor* executor_;
};

}  // namespace tok

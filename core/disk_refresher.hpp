#pragma once
// The cross-process engine of spec/refresh-engine.md 6b: the entry lives in the CacheStore, the
// single flight is a flock, and the "background thread" is a detached child process. Every
// decision is core/policy's, exactly as in the in-process Refresher.
#include <functional>
#include <string>

#include "core/cache_store.hpp"
#include "core/clock.hpp"
#include "core/policy.hpp"
#include "core/refresher.hpp"

namespace tok {

using Warn = std::function<void(const std::string&)>;

class DiskRefresher {
 public:
  // `background_source` serves the detached refresher; empty means `source`. (The CLI passes one
  // that makes a single attempt: the cooldown is the retry.)
  DiskRefresher(const CacheStore& store, std::string key, EngineSettings settings, const Clock& clock,
                TokenSource source, Warn warn, TokenSource background_source = {});

  // FRESH: read one file, no lock, no child. STALE: the cached token now, and a detached child
  // refreshes it unless one already does. EXPIRED or forced: wait for the refresh lock, re-read,
  // fetch only if still needed, commit. A failure leaves the entry exactly as it was.
  GetResult get(const GetOptions& options = {});

 private:
  Token refresh_blocking(const GetOptions& options);
  void start_background_refresh(FileLock background_lock);
  void run_background_refresh();  // the detached child's whole life
  CacheEntry read_or_empty();

  const CacheStore& store_;
  std::string key_;
  EngineSettings settings_;
  const Clock& clock_;
  TokenSource source_;
  TokenSource background_source_;
  Warn warn_;
};

}  // namespace tok

#pragma once
// The two configurations of the one refresh flow (core/refresh_flow.hpp):
// - Refresher, in process (docs/design.md, "One flow, two configurations"): the entry in memory, background refreshes on an
//   Executor (a thread pool in `tok serve`, the manual executor in tests);
// - DiskRefresher, across processes (6b): the entry in the cache directory, flock'ed lock files,
//   background refreshes in a detached process (or, in tests, any Launcher).
#include <memory>
#include <string>

#include "core/cache_store.hpp"
#include "core/executor.hpp"
#include "core/launcher.hpp"
#include "core/memory_store.hpp"
#include "core/refresh_flow.hpp"

namespace tok {

class Refresher {
 public:
  Refresher(TokenSource source, EngineSettings settings, const World& world, Executor& executor,
            Diagnostics diagnostics = {});
  Refresher(const Refresher&) = delete;
  Refresher& operator=(const Refresher&) = delete;
  GetResult get(const GetOptions& options = {}) { return flow_->get(options); }
  bool expire(const std::string& only_if = {}) { return flow_->expire(only_if); }
  // What is cached now (for status pages and tests).
  CacheEntry snapshot() const;
  bool background_refresh_running() const { return store_->background_held(); }
  void set_source_check(RefreshFlow::SourceCheck check) { flow_->set_source_check(std::move(check)); }

 private:
  ExecutorLauncher launcher_;
  MemoryEntryStore* store_;  // owned by the flow
  // Queued background work holds the flow, so a refresh still queued when the Refresher goes
  // away touches nothing freed.
  std::shared_ptr<RefreshFlow> flow_;
};

class DiskRefresher {
 public:
  // `launcher` null: a detached process (what `tok get` uses). `keep` KeepCopy::yes: the entry's
  // head is kept in memory while its file stays the same (tok serve; core/cache_store.hpp).
  DiskRefresher(const CacheStore& store, std::string key, EngineSettings settings, const World& world,
                TokenSource source, Diagnostics diagnostics, Launcher* launcher = nullptr,
                KeepCopy keep = KeepCopy::no);
  GetResult get(const GetOptions& options = {}) { return flow_->get(options); }
  bool expire(const std::string& only_if = {}) { return flow_->expire(only_if); }
  bool clear() { return flow_->clear(); }
  void set_source_check(RefreshFlow::SourceCheck check) { flow_->set_source_check(std::move(check)); }

 private:
  std::shared_ptr<RefreshFlow> flow_;
};

}  // namespace tok

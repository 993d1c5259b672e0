#include "core/refresher.hpp"

namespace tok {

Refresher::Refresher(TokenSource source, EngineSettings settings, const Clock& clock, Executor& executor,
                     Diagnostics diagnostics, RandomSource* random)
    : launcher_(executor) {
  auto store = std::make_unique<MemoryEntryStore>();
  store_ = store.get();
  flow_ = std::make_shared<RefreshFlow>(std::move(store), launcher_, std::move(source), settings, clock,
                                        std::move(diagnostics), random);
}

CacheEntry Refresher::snapshot() const { return store_->read().entry.value_or(CacheEntry{}); }

namespace {
DetachedProcessLauncher detached;  // stateless
}  // namespace

DiskRefresher::DiskRefresher(const CacheStore& store, std::string key, EngineSettings settings, const Clock& clock,
                             TokenSource source, Diagnostics diagnostics, Launcher* launcher, RandomSource* random,
                             KeepCopy keep)
    : flow_(std::make_shared<RefreshFlow>(std::make_unique<DiskEntryStore>(store, std::move(key), keep),
                                          launcher != nullptr ? *launcher : detached, std::move(source), settings,
                                          clock, std::move(diagnostics), random)) {}

}  // namespace tok

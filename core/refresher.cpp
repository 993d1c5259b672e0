#include "core/refresher.hpp"

namespace tok {

Refresher::Refresher(TokenSource source, EngineSettings settings, const World& world, Executor& executor,
                     Diagnostics diagnostics)
    : launcher_(executor) {
  auto store = std::make_unique<MemoryEntryStore>();
  store_ = store.get();
  flow_ = std::make_shared<RefreshFlow>(std::move(store), launcher_, std::move(source), settings, world,
                                        std::move(diagnostics));
}

CacheEntry Refresher::snapshot() const { return store_->read().entry.value_or(CacheEntry{}); }

namespace {
DetachedProcessLauncher detached;  // stateless
}  // namespace

DiskRefresher::DiskRefresher(const CacheStore& store, std::string key, EngineSettings settings, const World& world,
                             TokenSource source, Diagnostics diagnostics, Launcher* launcher, KeepCopy keep)
    : flow_(std::make_shared<RefreshFlow>(std::make_unique<DiskEntryStore>(store, std::move(key), keep),
                                          launcher != nullptr ? *launcher : detached, std::move(source), settings,
                                          world, std::move(diagnostics))) {}

}  // namespace tok

#pragma once
// The in-process EntryStore (docs/design.md, "One flow, two configurations"): the entry in memory behind a mutex, a flag
// with a condition variable as the refresh lock (waited for until a deadline), a flag as the
// single background slot. (Not std::timed_mutex: its timed lock is pthread_mutex_clocklock,
// which ThreadSanitizer does not see, so every unlock would look like a bug.)
#include <condition_variable>
#include <memory>
#include <mutex>

#include "core/entry_store.hpp"

namespace tok {

class MemoryEntryStore final : public EntryStore {
 public:
  MemoryEntryStore();
  Read read() override;
  std::optional<std::string> unwritable() override { return std::nullopt; }
  std::optional<std::string> write(const CacheEntry& entry) override;
  bool remove() override;
  std::unique_ptr<Hold> try_hold_background() override;
  std::unique_ptr<Hold> hold_refresh(Deadline deadline) override;
  std::optional<SharedFailure> last_failure() override;
  void record_failure(Hold& refresh, const SharedFailure& failure) override;

  bool background_held() const;

 private:
  struct State {
    mutable std::mutex mutex;  // guards everything below
    std::optional<CacheEntry> entry;
    std::optional<SharedFailure> failure;
    bool background = false;
    bool refreshing = false;
    std::condition_variable refresh_released;
  };
  class FlagHold;
  // Holds keep the state alive: a background job may outlive the store that started it.
  std::shared_ptr<State> state_;
};

}  // namespace tok

#include "core/memory_store.hpp"

namespace tok {

// Clears its flag of the state when dropped; the refresh flag's waiters are woken.
class MemoryEntryStore::FlagHold final : public Hold {
 public:
  FlagHold(std::shared_ptr<State> state, bool State::*flag) : state_(std::move(state)), flag_(flag) {}
  ~FlagHold() override {
    {
      std::lock_guard lock(state_->mutex);
      (*state_).*flag_ = false;
    }
    if (flag_ == &State::refreshing) state_->refresh_released.notify_one();
  }

 private:
  std::shared_ptr<State> state_;
  bool State::*flag_;
};

MemoryEntryStore::MemoryEntryStore() : state_(std::make_shared<State>()) {}

EntryStore::Read MemoryEntryStore::read() {
  std::lock_guard lock(state_->mutex);
  return Read{state_->entry, std::nullopt};
}

std::optional<std::string> MemoryEntryStore::write(const CacheEntry& entry) {
  std::lock_guard lock(state_->mutex);
  state_->entry = entry;
  return std::nullopt;
}

bool MemoryEntryStore::remove() {
  std::lock_guard lock(state_->mutex);
  const bool had = state_->entry.has_value();
  state_->entry.reset();
  return had;
}

std::unique_ptr<Hold> MemoryEntryStore::try_hold_background() {
  std::lock_guard lock(state_->mutex);
  if (state_->background) return nullptr;
  state_->background = true;
  return std::make_unique<FlagHold>(state_, &State::background);
}

std::unique_ptr<Hold> MemoryEntryStore::hold_refresh(Deadline deadline) {
  std::unique_lock lock(state_->mutex);
  if (!state_->refresh_released.wait_until(lock, deadline, [this] { return !state_->refreshing; })) return nullptr;
  state_->refreshing = true;
  return std::make_unique<FlagHold>(state_, &State::refreshing);
}

std::optional<SharedFailure> MemoryEntryStore::last_failure() {
  std::lock_guard lock(state_->mutex);
  return state_->failure;
}

void MemoryEntryStore::record_failure(Hold& /*refresh*/, const SharedFailure& failure) {
  std::lock_guard lock(state_->mutex);
  state_->failure = failure;
}

bool MemoryEntryStore::background_held() const {
  std::lock_guard lock(state_->mutex);
  return state_->background;
}

}  // namespace tok

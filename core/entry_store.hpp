#pragma once
// The first seam of the refresh flow (docs/engine.md, "The engine"): where one cache entry lives and
// how exclusion works. Two implementations: MemoryEntryStore (a mutex; `tok serve`, tests) and
// DiskEntryStore (a cache file and flock'ed lock files; `tok get`).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/policy.hpp"

namespace tok {

// Exclusion held until destroyed: the refresh lock, or the single background slot.
class Hold {
 public:
  virtual ~Hold() = default;
  // The descriptor a detached process must keep to go on holding it; -1 when not a descriptor.
  virtual int fd() const { return -1; }
};

// The last failure of a blocking refresh, kept beside the entry (never in it: a failed refresh
// leaves the entry, and any valid token in it, byte for byte) so that callers who waited for
// that refresh fail with it instead of each retrying in turn. `seq` grows by one per recorded
// failure. An unavailability also answers every later caller until `until` (the failure cache,
// docs/fleet.md), in any process.
struct SharedFailure {
  std::uint64_t seq = 0;
  ErrorKind kind = ErrorKind::unavailable;
  std::string message;
  std::string advice;
  TimePoint at;
  std::optional<TimePoint> until = std::nullopt;
};

// What a read needs: the whole entry, or its head: all but the memo, which a cache hit never uses
// and which is an entry's largest part (a login's discovered endpoints).
enum class EntryPart { whole, head };

class EntryStore {
 public:
  virtual ~EntryStore() = default;

  struct Read {
    std::optional<CacheEntry> entry;     // none when missing or damaged
    std::optional<std::string> warning;  // why a damaged entry was ignored
  };
  // Takes no lock: a reader sees the old entry or the new one, never a torn one.
  virtual Read read() = 0;
  // The same without the memo where that is cheaper (the disk's entry: core/cache_store.hpp,
  // EntryPart::head); the entry then says memo_unread. For a cache hit, which never uses it.
  virtual Read read_head() { return read(); }

  // Why a result could not be kept now (read-only or full file system, no directory), or
  // nullopt when it can. Only a hint: a write may still fail, and then says so.
  virtual std::optional<std::string> unwritable() = 0;
  // Replaces the entry; the caller holds the refresh lock. An error message on failure, the old
  // entry untouched.
  virtual std::optional<std::string> write(const CacheEntry& entry) = 0;
  // Forgets the entry; the caller holds the refresh lock. False when there was none.
  virtual bool remove() = 0;

  // The single background slot, without waiting; null when another refresher holds it.
  virtual std::unique_ptr<Hold> try_hold_background() = 0;
  // The refresh lock (blocking refreshes and every commit), waiting until the deadline; null on
  // timeout.
  virtual std::unique_ptr<Hold> hold_refresh(Deadline deadline) = 0;

  // Descriptors a detached background refresher must keep to go on using this store.
  virtual std::vector<int> descriptors() const { return {}; }

  virtual std::optional<SharedFailure> last_failure() = 0;
  // The caller holds `refresh` (from hold_refresh).
  virtual void record_failure(Hold& refresh, const SharedFailure& failure) = 0;
};

}  // namespace tok

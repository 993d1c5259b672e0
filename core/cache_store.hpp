#pragma once
// The on-disk cache (docs/engine.md, "The cache"): one JSON file per cache
// key, written atomically; flock-based lock files per entry; refusal of unsafe storage. The
// directory is opened once (O_DIRECTORY|O_NOFOLLOW), checked through that descriptor, and every
// entry, lock and temporary file is opened relative to it, so swapping the directory for a
// symlink after the check changes nothing.
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/descriptors.hpp"
#include "core/entry_store.hpp"
#include "core/policy.hpp"
#include "core/world.hpp"

namespace tok {

inline constexpr int kEntrySchema = 1;

// The memo is written last. Throws std::logic_error for an entry read without its memo.
std::string encode_entry(const CacheEntry& entry);
// EntryPart::head (core/entry_store.hpp): the parser stops where the memo begins, so a hit does
// not pay to read it. An entry whose memo is not its last first-level member (one written by an
// older tok, in sorted order) is read whole.
// nullopt when the text is not a valid entry of this schema (truncated, garbage, other version,
// instants outside 1970..2200).
std::optional<CacheEntry> decode_entry(std::string_view text, EntryPart part = EntryPart::whole);

std::string encode_failure(const SharedFailure& failure);
std::optional<SharedFailure> decode_failure(std::string_view text);

// A held flock on a lock file; released when destroyed (or when the process dies).
class FileLock {
 public:
  FileLock() = default;
  explicit FileLock(int fd) : fd_(fd) {}
  bool held() const { return static_cast<bool>(fd_); }
  int fd() const { return fd_.get(); }
  // Closing the last descriptor of the lock file releases the flock.
  void release() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

enum class LockName {
  refresh,     // blocking refreshes and every commit to the entry; holds the last failure
  background,  // held by the one background refresher of the entry
};

class CacheStore {
 public:
  // The lock's poll waits and reads the time through `world` (a fake world steps it at once).
  explicit CacheStore(std::filesystem::path dir, const World& world = real_world())
      : dir_(std::move(dir)), world_(world) {}
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path entry_path(std::string_view key) const;

  // Throws Error(storage) when the directory exists but is unsafe (a symlink, another user's,
  // writable by group or others). Returns false when it does not exist (or cannot be reached).
  bool check_dir() const;
  // Creates the directory (0700, parents as needed) if missing and checks it. Returns an error
  // message when it cannot be created (read-only file system): the cache is then unusable, which
  // is not fatal. Throws Error(storage) when it is unsafe.
  std::optional<std::string> ensure_dir() const;
  // Why nothing could be written now (no directory, read-only or full file system, no write
  // permission), or nullopt. One statvfs; not on the cache-hit path.
  std::optional<std::string> unwritable() const;

  // Takes no lock: entries are replaced by rename, so a reader sees the old or the new one.
  // Throws Error(storage) when the entry is a symlink, another user's, or writable by others.
  EntryStore::Read read(std::string_view key, EntryPart part = EntryPart::whole) const;

  // Atomic replace: temporary file in the same directory, fsync, rename. Returns an error message
  // on failure (read-only directory, full disk); the old entry is then untouched.
  std::optional<std::string> write(std::string_view key, const CacheEntry& entry) const;

  // Removes the entry and the records kept beside it: files `<key>.<letters>` other than its
  // locks (`<key>.kube`, kubectl's calls). The caller holds the refresh lock (docs/design.md,
  // "Cache file and locks"). False when there was no entry.
  bool remove(std::string_view key) const;
  struct Removed {
    std::size_t entries = 0;  // removed, with their records
    std::size_t busy = 0;     // left alone: their refresh lock stayed held for all of `wait`
  };
  // Removes every entry, each under its refresh lock (waiting at most `wait` in all), the lock
  // files nobody holds, and the temporary files a killed writer left.
  Removed remove_all(std::chrono::milliseconds wait = std::chrono::seconds(5)) const;
  // The same for the entries whose key `doomed` says (and their idle lock files); temporaries of
  // writers that are gone go too.
  Removed remove_if(const std::function<bool(std::string_view key)>& doomed,
                    std::chrono::milliseconds wait = std::chrono::seconds(5)) const;
  std::vector<std::string> keys() const;

  // Waits for the lock until the deadline (nullopt on timeout). Throws Error(storage) if the lock
  // file is unsafe; returns an empty (not held) lock if it cannot be created at all.
  std::optional<FileLock> lock(std::string_view key, LockName name, Deadline deadline) const;
  // Does not wait: nullopt when someone else holds it.
  std::optional<FileLock> try_lock(std::string_view key, LockName name) const;

  // The failure recorded in the entry's refresh lock file, if any.
  std::optional<SharedFailure> read_failure(std::string_view key) const;
  // Replaces what the held refresh lock file records.
  static void write_failure(const FileLock& refresh, const SharedFailure& failure);

  // The directory's descriptor (>= 3), opened and checked on first use; -1 when it does not
  // exist. Throws Error(storage) when it is unsafe.
  int dir_fd() const;

  // A small file of the user's kept beside the entries that is no entry (tok serve's secrets,
  // docs/serve.md): `name` is not of the form `<key>.json`, so tok clear leaves it. Read with the
  // entries' rules (a symlink, another user's, readable or writable by others: Error(storage));
  // nullopt when missing or larger than `cap`.
  std::optional<std::string> read_file(std::string_view name, std::size_t cap) const;
  // Written as an entry is (0600, a temporary file, fsync, rename). With `replace` false an
  // existing file is kept, and `written` says whether ours is the one in place (the first of two
  // writers wins). An error message on failure.
  std::optional<std::string> write_file(std::string_view name, std::string_view text, bool replace,
                                        bool* written = nullptr) const;

 private:
  std::filesystem::path dir_;
  const World& world_;
  mutable UniqueFd dir_fd_;  // opened once, on first use
};

// Whether a DiskEntryStore keeps the head it last read in memory (docs/design.md, "A copy in
// memory"): a long-lived process answering many reads a second (tok serve) does; a command that
// reads once does not.
enum class KeepCopy { no, yes };

// One entry of a CacheStore as the refresh flow sees it: flock'ed lock files for exclusion.
class DiskEntryStore final : public EntryStore {
 public:
  DiskEntryStore(const CacheStore& store, std::string key, KeepCopy keep = KeepCopy::no)
      : store_(store), key_(std::move(key)), keep_(keep) {}
  Read read() override { return store_.read(key_); }
  // With KeepCopy::yes: one fstatat, and the copy of the last head read while the entry's file is
  // the very one it was read from (same inode, size, mtime and ctime, owner and mode); any
  // commit replaces the file (a rename: a new inode), so another process's commit is seen at the
  // next read. Thread-safe.
  Read read_head() override;
  std::optional<std::string> unwritable() override { return store_.unwritable(); }
  std::optional<std::string> write(const CacheEntry& entry) override { return store_.write(key_, entry); }
  bool remove() override { return store_.remove(key_); }
  std::unique_ptr<Hold> try_hold_background() override;
  std::unique_ptr<Hold> hold_refresh(Deadline deadline) override;
  std::vector<int> descriptors() const override { return {store_.dir_fd()}; }
  std::optional<SharedFailure> last_failure() override { return store_.read_failure(key_); }
  void record_failure(Hold& refresh, const SharedFailure& failure) override;

 private:
  struct Copy {
    struct stat seen;
    CacheEntry entry;
  };
  const CacheStore& store_;
  std::string key_;
  KeepCopy keep_;
  // Swapped under the mutex, read outside it: a request holds the mutex only to take a reference.
  std::mutex copy_mutex_;
  std::shared_ptr<const Copy> copy_;
};

}  // namespace tok

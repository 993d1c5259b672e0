#pragma once
// The on-disk cache of spec/refresh-engine.md 6b and cli.md "The cache": one JSON file per cache
// key, written atomically; flock-based lock files per entry; refusal of unsafe storage.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/policy.hpp"

namespace tok {

inline constexpr int kEntrySchema = 1;

std::string encode_entry(const CacheEntry& entry);
// nullopt when the text is not a valid entry of this schema (truncated, garbage, other version).
std::optional<CacheEntry> decode_entry(std::string_view text);

// A held flock on a lock file; released when destroyed (or when the process dies).
class FileLock {
 public:
  FileLock() = default;
  explicit FileLock(int fd) : fd_(fd) {}
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();
  bool held() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void release();

 private:
  int fd_ = -1;
};

enum class LockName {
  refresh,     // blocking refreshes and every commit to the entry
  background,  // held by the one background refresher of the entry
};

class CacheStore {
 public:
  explicit CacheStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path entry_path(std::string_view key) const;

  // Throws Error(storage) when the directory exists but is unsafe (a symlink, another user's,
  // writable by group or others). Returns false when it does not exist.
  bool check_dir() const;
  // Creates the directory (0700, parents as needed) if missing and checks it. Returns an error
  // message when it cannot be created (read-only file system): the cache is then unusable, which
  // is not fatal. Throws Error(storage) when it is unsafe.
  std::optional<std::string> ensure_dir() const;

  struct ReadResult {
    std::optional<CacheEntry> entry;
    std::optional<std::string> warning;  // set when a damaged entry was ignored
  };
  // Takes no lock: entries are replaced by rename, so a reader sees the old or the new one.
  // Throws Error(storage) when the entry is a symlink, another user's, or writable by others.
  ReadResult read(std::string_view key) const;

  // Atomic replace: temporary file in the same directory, fsync, rename. Returns an error message
  // on failure (read-only directory, full disk); the old entry is then untouched.
  std::optional<std::string> write(std::string_view key, const CacheEntry& entry) const;

  bool remove(std::string_view key) const;
  // Removes every entry file (and its lock files); returns how many entries went.
  std::size_t remove_all() const;
  std::vector<std::string> keys() const;

  // Waits for the lock until the deadline (nullopt on timeout). Throws Error(storage) if the lock
  // file is unsafe; returns an empty (not held) lock if it cannot be created at all.
  std::optional<FileLock> lock(std::string_view key, LockName name, Deadline deadline) const;
  // Does not wait: nullopt when someone else holds it.
  std::optional<FileLock> try_lock(std::string_view key, LockName name) const;

 private:
  std::filesystem::path lock_path(std::string_view key, LockName name) const;
  std::filesystem::path dir_;
};

}  // namespace tok

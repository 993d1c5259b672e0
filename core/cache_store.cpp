#include "core/cache_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/time_format.hpp"

namespace tok {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- entry codec ----------------------------------------------------------------------------

namespace {

json optional_ms(const std::optional<TimePoint>& t) { return t ? json(to_epoch_ms(*t)) : json(nullptr); }

std::optional<TimePoint> read_optional_ms(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return from_epoch_ms(it->get<std::int64_t>());
}

}  // namespace

std::string encode_entry(const CacheEntry& entry) {
  json j;
  j["schema"] = kEntrySchema;
  if (entry.token) {
    j["token"] = {{"access_token", entry.token->access_token},
                  {"token_type", entry.token->token_type},
                  {"expiry_ms", optional_ms(entry.token->expiry)}};
  } else {
    j["token"] = nullptr;
  }
  j["stale_after_ms"] = optional_ms(entry.stale_after);
  j["generation"] = entry.generation;
  if (entry.last_error) {
    j["last_error"] = {{"message", entry.last_error->message}, {"at_ms", to_epoch_ms(entry.last_error->at)}};
  } else {
    j["last_error"] = nullptr;
  }
  j["memo"] = entry.memo;
  return j.dump() + "\n";
}

std::optional<CacheEntry> decode_entry(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    if (j.at("schema").get<int>() != kEntrySchema) return std::nullopt;
    CacheEntry entry;
    const json& token = j.at("token");
    if (!token.is_null()) {
      Token t;
      t.access_token = token.at("access_token").get<std::string>();
      t.token_type = token.at("token_type").get<std::string>();
      t.expiry = read_optional_ms(token, "expiry_ms");
      entry.token = std::move(t);
    }
    entry.stale_after = read_optional_ms(j, "stale_after_ms");
    entry.generation = j.at("generation").get<std::uint64_t>();
    const json& err = j.at("last_error");
    if (!err.is_null()) {
      entry.last_error = BackgroundError{err.at("message").get<std::string>(), from_epoch_ms(err.at("at_ms"))};
    }
    if (const auto it = j.find("memo"); it != j.end()) entry.memo = it->get<ProviderMemo>();
    return entry;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

// ---- locks ----------------------------------------------------------------------------------

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() {
  if (fd_ >= 0) {
    ::close(fd_);  // closing the last descriptor releases the flock
    fd_ = -1;
  }
}

// ---- the store ------------------------------------------------------------------------------

namespace {

std::string errno_text(int err) { return std::strerror(err); }

[[noreturn]] void refuse(const fs::path& path, std::string_view why) {
  throw Error(ErrorKind::storage, fmt::format("refusing to use {}: {}", path.string(), why),
              "fix its owner and permissions (chmod 700 for the directory, 600 for files) or remove it");
}

// The ssh rule: a file or directory that another user could have written is not trusted.
void check_owner_and_mode(const fs::path& path, const struct stat& st) {
  if (st.st_uid != ::geteuid()) refuse(path, fmt::format("it is owned by uid {}, not by you", st.st_uid));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    refuse(path, fmt::format("it is writable by group or others (mode {:o})", st.st_mode & 07777));
  }
}

// Opens a lock or entry file without following symlinks and checks it; -1 with errno on failure.
int open_checked(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ELOOP) refuse(path, "it is a symlink");
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    refuse(path, "it is not a regular file");
  }
  try {
    check_owner_and_mode(path, st);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

std::string lock_suffix(LockName name) { return name == LockName::refresh ? ".lock" : ".bg.lock"; }

// Takes the flock once. A lock file may be unlinked (tok clear --all) between our open and our
// flock; a lock on an unlinked file excludes nobody, so check that the path still names the very
// file we locked, and try again if it does not.
enum class TryLock { held, busy, unusable };
TryLock try_lock_once(const fs::path& path, FileLock& out) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = open_checked(path, O_RDWR | O_CREAT);
    if (fd < 0) return TryLock::unusable;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return TryLock::busy;
    }
    struct stat held {}, named {};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      out = FileLock(fd);
      return TryLock::held;
    }
    ::close(fd);
  }
  return TryLock::busy;
}

}  // namespace

fs::path CacheStore::entry_path(std::string_view key) const { return dir_ / (std::string(key) + ".json"); }

fs::path CacheStore::lock_path(std::string_view key, LockName name) const {
  return dir_ / (std::string(key) + lock_suffix(name));
}

bool CacheStore::check_dir() const {
  struct stat st {};
  // Missing, or unreachable (a parent that is a file, no search permission): not unsafe, merely
  // absent; ensure_dir() then says why it cannot be created, and the token is still printed.
  if (::lstat(dir_.c_str(), &st) != 0) return false;
  if (S_ISLNK(st.st_mode)) refuse(dir_, "the cache directory is a symlink");
  if (!S_ISDIR(st.st_mode)) refuse(dir_, "it is not a directory");
  check_owner_and_mode(dir_, st);
  return true;
}

std::optional<std::string> CacheStore::ensure_dir() const {
  if (check_dir()) return std::nullopt;
  std::error_code ec;
  if (dir_.has_parent_path()) fs::create_directories(dir_.parent_path(), ec);
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return fmt::format("cannot create cache directory {}: {}", dir_.string(), errno_text(errno));
  }
  check_dir();
  return std::nullopt;
}

CacheStore::ReadResult CacheStore::read(std::string_view key) const {
  ReadResult result;
  if (!check_dir()) return result;
  const fs::path path = entry_path(key);
  const int fd = open_checked(path, O_RDONLY);
  if (fd < 0) {
    if (errno != ENOENT) result.warning = fmt::format("cannot read cache entry {}: {}", path.string(), errno_text(errno));
    return result;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (1u << 20)) break;  // an entry is a few hundred bytes; a huge file is damage
  }
  ::close(fd);
  result.entry = decode_entry(text);
  if (!result.entry) {
    result.warning = fmt::format("ignoring damaged cache entry {}; fetching a new token", path.string());
  }
  return result;
}

std::optional<std::string> CacheStore::write(std::string_view key, const CacheEntry& entry) const {
  if (auto problem = ensure_dir()) return problem;
  static std::atomic<unsigned> counter{0};
  const fs::path final_path = entry_path(key);
  const fs::path tmp = dir_ / fmt::format(".{}.json.{}.{}.tmp", key, ::getpid(), counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("cannot write cache entry {}: {}", final_path.string(), errno_text(errno));
  const std::string text = encode_entry(entry);
  std::size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), final_path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return fmt::format("cannot write cache entry {}: {}", final_path.string(), errno_text(err));
  }
  // Make the rename itself durable; a failure here loses at most this new entry, never the old.
  if (const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::nullopt;
}

bool CacheStore::remove(std::string_view key) const {
  if (!check_dir()) return false;
  return ::unlink(entry_path(key).c_str()) == 0;
}

std::vector<std::string> CacheStore::keys() const {
  std::vector<std::string> out;
  if (!check_dir()) return out;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(dir_, ec)) {
    const std::string name = item.path().filename().string();
    if (name.empty() || name[0] == '.' || item.path().extension() != ".json") continue;
    out.push_back(item.path().stem().string());
  }
  return out;
}

std::size_t CacheStore::remove_all() const {
  std::size_t removed = 0;
  for (const std::string& key : keys()) {
    if (remove(key)) ++removed;
    for (LockName name : {LockName::refresh, LockName::background}) {
      // Only a lock nobody holds may go: unlinking a held one would let a second holder in.
      if (auto lock = try_lock(key, name); lock && lock->held()) ::unlink(lock_path(key, name).c_str());
    }
  }
  return removed;
}

std::optional<FileLock> CacheStore::try_lock(std::string_view key, LockName name) const {
  FileLock lock;
  switch (try_lock_once(lock_path(key, name), lock)) {
    case TryLock::held: return lock;
    case TryLock::busy: return std::nullopt;
    case TryLock::unusable: return FileLock{};
  }
  return std::nullopt;
}

std::optional<FileLock> CacheStore::lock(std::string_view key, LockName name, Deadline deadline) const {
  const fs::path path = lock_path(key, name);
  // Poll rather than block in flock(2): a blocking flock cannot honour a deadline without signals.
  auto pause = std::chrono::milliseconds(2);
  for (;;) {
    FileLock lock;
    switch (try_lock_once(path, lock)) {
      case TryLock::held: return lock;
      case TryLock::unusable: return FileLock{};
      case TryLock::busy: break;
    }
    if (std::chrono::steady_clock::now() + pause > deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace tok

#include "core/cache_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/descriptors.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"

namespace tok {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- entry codec ----------------------------------------------------------------------------

namespace {

json optional_ms(const std::optional<TimePoint>& t) { return t ? json(to_epoch_ms(*t)) : json(nullptr); }

// Integers only: nlohmann converts a floating-point value out of range to an integer with
// undefined behaviour (found by fuzz_cache_entry), so anything else is damage.
std::int64_t read_int(const json& j) {
  if (!j.is_number_integer()) throw std::out_of_range("not an integer");
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    throw std::out_of_range("integer out of range");
  }
  return j.get<std::int64_t>();
}

std::uint64_t read_uint(const json& j) {
  if (!j.is_number_unsigned()) throw std::out_of_range("not an unsigned integer");
  return j.get<std::uint64_t>();
}

// An instant outside 1970..2200 is damage: the exception makes the caller treat it so.
TimePoint read_ms(const json& j) {
  const auto t = instant_from_epoch_ms(read_int(j));
  if (!t) throw std::out_of_range("instant out of range");
  return *t;
}

std::optional<TimePoint> read_optional_ms(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return read_ms(*it);
}

constexpr std::size_t kMaxEntryBytes = 1 << 20;  // an entry is a few hundred bytes; more is damage

// Error messages quote servers and programs, whose bytes need not be UTF-8 (a Latin-1 error
// page). dump() would throw on them and lose the commit that records the failure (the cooldown,
// the error waiters share); each ill-formed byte is stored as U+FFFD instead.
template <class Json>
std::string json_line(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string encode_entry(const CacheEntry& entry) {
  if (entry.memo_unread) throw std::logic_error("a cache entry read without its memo cannot be written back");
  // In this order, the memo last: a cache hit's read stops where it begins (EntryPart::head).
  nlohmann::ordered_json j;
  j["schema"] = kEntrySchema;
  if (entry.token) {
    j["token"] = {{"access_token", entry.token->access_token},
                  {"token_type", entry.token->token_type},
                  {"expiry_ms", optional_ms(entry.token->expiry)}};
    if (!entry.token->fields.empty()) j["token"]["fields"] = entry.token->fields;
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
  // Only while set: an entry an older tok wrote has none, and reads as having no cooldown.
  if (entry.retry_after) j["retry_after_ms"] = to_epoch_ms(*entry.retry_after);
  j["memo"] = entry.memo;
  return json_line(j);
}

namespace {

// nlohmann's own DOM builder, stopped at the first-level "memo" key: what comes after it is never
// read, let alone parsed. A syntax error ends the parse without throwing.
class HeadReader {
 public:
  explicit HeadReader(json& root) : dom_(root, /*allow_exceptions=*/false) {}
  bool stopped() const { return stopped_; }

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return dom_.number_float(v, s); }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) { return ++depth_, dom_.start_object(n); }
  bool end_object() { return --depth_, dom_.end_object(); }
  bool start_array(std::size_t n) { return ++depth_, dom_.start_array(n); }
  bool end_array() { return --depth_, dom_.end_array(); }
  bool key(json::string_t& k) {
    if (depth_ == 1 && k == "memo") {
      stopped_ = true;
      return false;
    }
    return dom_.key(k);
  }
  bool parse_error(std::size_t at, const std::string& last, const nlohmann::detail::exception& e) {
    return dom_.parse_error(at, last, e);
  }

 private:
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  int depth_ = 0;
  bool stopped_ = false;
};

// The entry's first-level members but the memo, when the memo comes after all of them (as
// encode_entry writes it); nullopt otherwise (then the caller reads it whole).
std::optional<json> read_head(std::string_view text) {
  json root;
  HeadReader reader(root);
  const bool complete = json::sax_parse(text, &reader, json::input_format_t::json, /*strict=*/true);
  if (complete || !reader.stopped() || !root.is_object()) return std::nullopt;
  for (const char* member : {"schema", "token", "stale_after_ms", "generation", "last_error"}) {
    if (!root.contains(member)) return std::nullopt;  // an older tok's order: memo before them
  }
  return root;
}

}  // namespace

std::optional<CacheEntry> decode_entry(std::string_view text, EntryPart part) {
  std::optional<json> head = part == EntryPart::head ? read_head(text) : std::nullopt;
  const json j = head ? std::move(*head) : json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    if (read_int(j.at("schema")) != kEntrySchema) return std::nullopt;
    CacheEntry entry;
    const json& token = j.at("token");
    if (!token.is_null()) {
      Token t;
      t.access_token = token.at("access_token").get<std::string>();
      t.token_type = token.at("token_type").get<std::string>();
      t.expiry = read_optional_ms(token, "expiry_ms");
      if (const auto it = token.find("fields"); it != token.end()) {
        if (!it->is_object() || it->size() > kMaxTokenFields) return std::nullopt;
        for (const auto& [name, value] : it->items()) {
          if (!value.is_string() || !is_field_name(name) || !is_field_value(value.get_ref<const std::string&>())) {
            return std::nullopt;
          }
          t.fields.emplace(name, value.get<std::string>());
        }
      }
      // An edited entry must not smuggle a header line or an escape sequence into the output.
      if (!is_b64token(t.access_token) || !is_b64token(t.token_type)) return std::nullopt;
      entry.token = std::move(t);
    }
    entry.stale_after = read_optional_ms(j, "stale_after_ms");
    entry.generation = read_uint(j.at("generation"));
    const json& err = j.at("last_error");
    if (!err.is_null()) {
      entry.last_error = BackgroundError{err.at("message").get<std::string>(), read_ms(err.at("at_ms"))};
    }
    entry.retry_after = read_optional_ms(j, "retry_after_ms");
    if (const auto it = j.find("memo"); it != j.end()) entry.memo = it->get<ProviderMemo>();
    entry.memo_unread = head.has_value();
    return entry;
  } catch (const std::exception&) {  // json::exception, or an instant out of range
    return std::nullopt;
  }
}

namespace {

constexpr std::pair<ErrorKind, const char*> kKindNames[] = {{ErrorKind::usage, "usage"},
                                                             {ErrorKind::refused, "refused"},
                                                             {ErrorKind::unavailable, "unavailable"},
                                                             {ErrorKind::storage, "storage"},
                                                             {ErrorKind::internal, "internal"}};

}  // namespace

std::string encode_failure(const SharedFailure& failure) {
  const char* kind = "unavailable";
  for (const auto& [k, name] : kKindNames) {
    if (k == failure.kind) kind = name;
  }
  return json_line(json{{"seq", failure.seq},
                        {"kind", kind},
                        {"message", failure.message},
                        {"advice", failure.advice},
                        {"at_ms", to_epoch_ms(failure.at)},
                        {"until_ms", optional_ms(failure.until)}});
}

std::optional<SharedFailure> decode_failure(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    SharedFailure f;
    f.seq = read_uint(j.at("seq"));
    const auto kind = j.at("kind").get<std::string>();
    bool known = false;
    for (const auto& [k, name] : kKindNames) {
      if (kind == name) f.kind = k, known = true;
    }
    if (!known) return std::nullopt;
    f.message = j.at("message").get<std::string>();
    f.advice = j.at("advice").get<std::string>();
    f.at = read_ms(j.at("at_ms"));
    f.until = read_optional_ms(j, "until_ms");  // absent in files of older versions: nothing kept
    return f;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// ---- locks ----------------------------------------------------------------------------------

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

// Opens a file of the directory without following symlinks and checks it; -1 with errno on
// failure. The descriptor is close-on-exec and never 0, 1 or 2. The open does not block: a FIFO
// put where an entry or a lock belongs would otherwise hold `tok get` forever in open() waiting
// for a writer; it is refused below as any file that is not a regular file.
int open_checked(int dir_fd, const fs::path& path, int flags) {
  const int fd = above_stdio(
      ::openat(dir_fd, path.filename().c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600));
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
  // Back to ordinary blocking reads and writes (which a regular file never blocks on anyway).
  if (const int fl = ::fcntl(fd, F_GETFL); fl >= 0) ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  try {
    check_owner_and_mode(path, st);
    // A file holds a token (or when the next fetch may happen): like ssh's private keys, one
    // that others can read is refused, not used in silence.
    if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
      refuse(path, fmt::format("it is readable by group or others (mode {:o})", st.st_mode & 07777));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

std::string lock_suffix(LockName name) { return name == LockName::refresh ? ".lock" : ".bg.lock"; }

// Takes the flock once. A lock file may be unlinked (tok clear --all) between our open and our
// flock; a lock on an unlinked file excludes nobody, so check that the name still leads to the
// very file we locked, and try again if it does not.
enum class TryLock { held, busy, unusable };
TryLock try_lock_once(int dir_fd, const fs::path& path, FileLock& out) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = open_checked(dir_fd, path, O_RDWR | O_CREAT);
    if (fd < 0) return TryLock::unusable;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return TryLock::busy;
    }
    struct stat held {}, named {};
    if (::fstat(fd, &held) == 0 && ::fstatat(dir_fd, path.filename().c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      out = FileLock(fd);
      return TryLock::held;
    }
    ::close(fd);
  }
  return TryLock::busy;
}

// A temporary file of a writer that is gone: ".KEY.json.PID.N.tmp" whose PID no longer runs, or
// one older than any write could take.
bool abandoned_temporary(int dir_fd, const std::string& name, TimePoint now) {
  if (name.size() < 5 || name[0] != '.' || name.compare(name.size() - 4, 4, ".tmp") != 0) return false;
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  if (now - std::chrono::system_clock::from_time_t(st.st_mtime) > std::chrono::minutes(10)) {
    return true;
  }
  const auto end = name.rfind('.', name.size() - 5);            // before N
  const auto start = end == std::string::npos ? end : name.rfind('.', end - 1);  // before PID
  if (start == std::string::npos) return false;
  const std::string pid = name.substr(start + 1, end - start - 1);
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) return false;
  return ::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH;
}

}  // namespace

fs::path CacheStore::entry_path(std::string_view key) const { return dir_ / (std::string(key) + ".json"); }

int CacheStore::dir_fd() const {
  if (dir_fd_) return dir_fd_.get();
  const int fd = above_stdio(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd < 0) {
    struct stat st {};
    if (::lstat(dir_.c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode)) refuse(dir_, "the cache directory is a symlink");
      if (!S_ISDIR(st.st_mode)) refuse(dir_, "it is not a directory");
    }
    // Missing, or unreachable (a parent that is a file, no search permission): not unsafe,
    // merely absent; ensure_dir() then says why it cannot be created, and the token is printed.
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return -1;
  }
  try {
    check_owner_and_mode(dir_, st);
  } catch (...) {
    ::close(fd);
    throw;
  }
  dir_fd_.reset(fd);
  return dir_fd_.get();
}

bool CacheStore::check_dir() const { return dir_fd() >= 0; }

std::optional<std::string> CacheStore::ensure_dir() const {
  if (dir_fd() >= 0) return std::nullopt;
  std::error_code ec;
  if (dir_.has_parent_path()) fs::create_directories(dir_.parent_path(), ec);
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return fmt::format("cannot create cache directory {}: {}", dir_.string(), errno_text(errno));
  }
  if (dir_fd() < 0) return fmt::format("cannot open cache directory {}: {}", dir_.string(), errno_text(errno));
  return std::nullopt;
}

std::optional<std::string> CacheStore::unwritable() const {
  if (auto problem = ensure_dir()) return problem;
  struct statvfs vfs {};
  if (::fstatvfs(dir_fd_.get(), &vfs) == 0) {
    if ((vfs.f_flag & ST_RDONLY) != 0) return fmt::format("the cache directory {} is on a read-only file system", dir_.string());
    // A file system that counts inodes (f_files > 0) and has none left is as full as one without
    // blocks.
    if (vfs.f_bavail == 0 || (vfs.f_files > 0 && vfs.f_favail == 0)) {
      return fmt::format("the file system of the cache directory {} is full", dir_.string());
    }
  }
  if (::faccessat(dir_fd_.get(), ".", W_OK, AT_EACCESS) != 0) {
    return fmt::format("the cache directory {} is not writable: {}", dir_.string(), errno_text(errno));
  }
  return std::nullopt;
}

EntryStore::Read CacheStore::read(std::string_view key, EntryPart part) const {
  EntryStore::Read result;
  const int dfd = dir_fd();
  if (dfd < 0) return result;
  const fs::path path = entry_path(key);
  const int fd = open_checked(dfd, path, O_RDONLY);
  if (fd < 0) {
    if (errno != ENOENT) result.warning = fmt::format("cannot read cache entry {}: {}", path.string(), errno_text(errno));
    return result;
  }
  const auto text = read_capped(fd, kMaxEntryBytes);
  ::close(fd);
  if (text) result.entry = decode_entry(*text, part);
  if (!result.entry) {
    result.warning = fmt::format("ignoring damaged cache entry {}; fetching a new token", path.string());
  }
  return result;
}

namespace {

// Writes `text` to a new temporary file of the directory (0600), syncs it and renames it to
// `name`: readers see the old file or the new one, never a torn one. Without `replace`, an
// existing `name` stays (renameat2 RENAME_NOREPLACE) and `written` is false. An errno, 0 on
// success.
int write_atomically(int dir_fd, const std::string& name, std::string_view text, bool replace, bool& written) {
  static std::atomic<unsigned> counter{0};
  written = false;
  const std::string tmp = fmt::format(".{}.{}.{}.tmp", name, ::getpid(), counter++);
  const int fd = above_stdio(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd < 0) return errno;
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
  if (err == 0 &&
      ::renameat2(dir_fd, tmp.c_str(), dir_fd, name.c_str(), replace ? 0U : static_cast<unsigned>(RENAME_NOREPLACE)) != 0) {
    err = errno;
  }
  if (err != 0) {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return !replace && err == EEXIST ? 0 : err;
  }
  written = true;
  // Make the rename itself durable; a failure here loses at most this new file, never the old.
  ::fsync(dir_fd);
  return 0;
}

}  // namespace

std::optional<std::string> CacheStore::write(std::string_view key, const CacheEntry& entry) const {
  if (auto problem = ensure_dir()) return problem;
  const fs::path final_path = entry_path(key);
  // Encoded before the temporary file exists: nothing between its creation and its rename or
  // unlink may throw, or the file and its descriptor would be left behind.
  const std::string text = encode_entry(entry);
  bool written = false;
  if (const int err = write_atomically(dir_fd_.get(), final_path.filename().string(), text, true, written); err != 0) {
    return fmt::format("cannot write cache entry {}: {}", final_path.string(), errno_text(err));
  }
  return std::nullopt;
}

std::optional<std::string> CacheStore::read_file(std::string_view name, std::size_t cap) const {
  const int dfd = dir_fd();
  if (dfd < 0) return std::nullopt;
  const int fd = open_checked(dfd, dir_ / std::string(name), O_RDONLY);
  if (fd < 0) return std::nullopt;
  auto text = read_capped(fd, cap);
  ::close(fd);
  return text;
}

std::optional<std::string> CacheStore::write_file(std::string_view name, std::string_view text, bool replace,
                                                  bool* written) const {
  if (auto problem = ensure_dir()) return problem;
  bool ours = false;
  if (const int err = write_atomically(dir_fd_.get(), std::string(name), text, replace, ours); err != 0) {
    return fmt::format("cannot write {}: {}", (dir_ / std::string(name)).string(), errno_text(err));
  }
  if (written != nullptr) *written = ours;
  return std::nullopt;
}

namespace {

bool is_record_of(std::string_view name, std::string_view key) {
  if (name.size() <= key.size() + 1 || name.substr(0, key.size()) != key || name[key.size()] != '.') return false;
  // A key ends in hex digits, so a name of letters after its dot is no other key's file.
  const std::string_view what = name.substr(key.size() + 1);
  if (what == "json" || what == "lock") return false;
  return std::all_of(what.begin(), what.end(), [](unsigned char c) { return std::islower(c) != 0; });
}

std::vector<std::string> list_names(int dir_fd);

}  // namespace

bool CacheStore::remove(std::string_view key) const {
  const int dfd = dir_fd();
  if (dfd < 0) return false;
  const bool removed = ::unlinkat(dfd, entry_path(key).filename().c_str(), 0) == 0;
  for (const std::string& name : list_names(dfd)) {
    if (is_record_of(name, key)) ::unlinkat(dfd, name.c_str(), 0);
  }
  return removed;
}

namespace {

std::vector<std::string> list_names(int dir_fd) {
  std::vector<std::string> names;
  const int fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return names;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return names;
  }
  ::rewinddir(d);
  while (const dirent* item = ::readdir(d)) names.emplace_back(item->d_name);
  ::closedir(d);
  return names;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::vector<std::string> CacheStore::keys() const {
  std::vector<std::string> out;
  const int dfd = dir_fd();
  if (dfd < 0) return out;
  for (const std::string& name : list_names(dfd)) {
    if (name.empty() || name[0] == '.' || !ends_with(name, ".json")) continue;
    out.push_back(name.substr(0, name.size() - 5));
  }
  return out;
}

CacheStore::Removed CacheStore::remove_all(std::chrono::milliseconds wait) const {
  return remove_if([](std::string_view) { return true; }, wait);
}

CacheStore::Removed CacheStore::remove_if(const std::function<bool(std::string_view key)>& doomed,
                                          std::chrono::milliseconds wait) const {
  const int dfd = dir_fd();
  if (dfd < 0) return {};
  Removed removed;
  const auto deadline = world_.steady_now() + wait;
  for (const std::string& key : keys()) {
    if (!doomed(key)) continue;
    // Under the refresh lock, so no commit lands between our unlink and the next get; an entry
    // whose refresh still runs at the deadline stays (its lock is not ours to break).
    const auto held = lock(key, LockName::refresh, deadline);
    if (!held) {
      ++removed.busy;
      continue;
    }
    if (remove(key)) ++removed.entries;
  }
  // Lock files nobody holds (unlinking a held one would let a second holder in: the holder's
  // successor re-checks the name, see try_lock_once), and temporaries of writers that are gone.
  for (const std::string& name : list_names(dfd)) {
    if (name.empty() || name == "." || name == "..") continue;
    if (ends_with(name, ".bg.lock") || ends_with(name, ".lock")) {
      const bool bg = ends_with(name, ".bg.lock");
      const std::string key = name.substr(0, name.size() - (bg ? 8 : 5));
      if (!doomed(key)) continue;
      if (auto lock = try_lock(key, bg ? LockName::background : LockName::refresh); lock && lock->held()) {
        ::unlinkat(dfd, name.c_str(), 0);
      }
    } else if (abandoned_temporary(dfd, name, world_.now())) {
      ::unlinkat(dfd, name.c_str(), 0);
    }
  }
  return removed;
}

std::optional<FileLock> CacheStore::try_lock(std::string_view key, LockName name) const {
  const int dfd = dir_fd();
  if (dfd < 0) return FileLock{};
  FileLock lock;
  switch (try_lock_once(dfd, dir_ / (std::string(key) + lock_suffix(name)), lock)) {
    case TryLock::held: return lock;
    case TryLock::busy: return std::nullopt;
    case TryLock::unusable: return FileLock{};
  }
  return std::nullopt;
}

std::optional<FileLock> CacheStore::lock(std::string_view key, LockName name, Deadline deadline) const {
  const int dfd = dir_fd();
  if (dfd < 0) return FileLock{};
  const fs::path path = dir_ / (std::string(key) + lock_suffix(name));
  // Poll rather than block in flock(2): a blocking flock cannot honour a deadline without signals.
  auto pause = std::chrono::milliseconds(2);
  for (;;) {
    FileLock lock;
    switch (try_lock_once(dfd, path, lock)) {
      case TryLock::held: return lock;
      case TryLock::unusable: return FileLock{};
      case TryLock::busy: break;
    }
    if (world_.steady_now() + pause > deadline) return std::nullopt;
    world_.sleep(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::milliseconds(20));
  }
}

std::optional<SharedFailure> CacheStore::read_failure(std::string_view key) const {
  const int dfd = dir_fd();
  if (dfd < 0) return std::nullopt;
  const int fd = open_checked(dfd, dir_ / (std::string(key) + lock_suffix(LockName::refresh)), O_RDONLY);
  if (fd < 0) return std::nullopt;
  const auto text = read_capped(fd, 64 * 1024);
  ::close(fd);
  return text ? decode_failure(*text) : std::nullopt;
}

void CacheStore::write_failure(const FileLock& refresh, const SharedFailure& failure) {
  if (!refresh.held()) return;
  const std::string text = encode_failure(failure);
  // Readers only look at it before they wait for the lock we hold, and after we released it; a
  // torn read before is harmless (it reads as "unknown", which differs from what they find after).
  if (::ftruncate(refresh.fd(), 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(refresh.fd(), text.data(), text.size(), 0);
  }
}

// ---- one entry as the refresh flow sees it --------------------------------------------------

namespace {

class FileHold final : public Hold {
 public:
  explicit FileHold(FileLock lock) : lock_(std::move(lock)) {}
  int fd() const override { return lock_.fd(); }
  const FileLock& lock() const { return lock_; }

 private:
  FileLock lock_;
};

}  // namespace

std::unique_ptr<Hold> DiskEntryStore::try_hold_background() {
  auto lock = store_.try_lock(key_, LockName::background);
  if (!lock || !lock->held()) return nullptr;  // taken, or the cache cannot hold locks
  return std::make_unique<FileHold>(std::move(*lock));
}

std::unique_ptr<Hold> DiskEntryStore::hold_refresh(Deadline deadline) {
  auto lock = store_.lock(key_, LockName::refresh, deadline);
  if (!lock) return nullptr;
  // A lock file that cannot be created at all (the directory vanished): go on unlocked rather
  // than fail a caller whose token can still be fetched.
  return std::make_unique<FileHold>(std::move(*lock));
}

namespace {

// The same file, unchanged since: a commit is a rename (another inode), an edit in place changes
// the size or the times, a chmod or chown the ctime.
bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mode == b.st_mode &&
         a.st_uid == b.st_uid && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

EntryStore::Read DiskEntryStore::read_head() {
  if (keep_ == KeepCopy::no) return store_.read(key_, EntryPart::head);
  const int dfd = store_.dir_fd();
  struct stat before {};
  const std::string name = store_.entry_path(key_).filename().string();
  if (dfd < 0 || ::fstatat(dfd, name.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0) {
    const std::lock_guard<std::mutex> hold(copy_mutex_);
    copy_.reset();
    return store_.read(key_, EntryPart::head);  // missing: says so (or why it cannot be read)
  }
  std::shared_ptr<const Copy> copy;
  {
    const std::lock_guard<std::mutex> hold(copy_mutex_);
    copy = copy_;
  }
  if (copy && same_file(copy->seen, before)) return Read{copy->entry, std::nullopt};
  Read read = store_.read(key_, EntryPart::head);
  // Kept only when the file did not change while it was read: the copy is then exactly what the
  // file `before` names holds. A damaged entry is not kept (its warning is said at each read,
  // until it is replaced).
  struct stat after {};
  if (read.entry && ::fstatat(dfd, name.c_str(), &after, AT_SYMLINK_NOFOLLOW) == 0 && same_file(before, after)) {
    auto made = std::make_shared<const Copy>(Copy{before, *read.entry});
    const std::lock_guard<std::mutex> hold(copy_mutex_);
    copy_ = std::move(made);
  }
  return read;
}

void DiskEntryStore::record_failure(Hold& refresh, const SharedFailure& failure) {
  CacheStore::write_failure(static_cast<FileHold&>(refresh).lock(), failure);
}

}  // namespace tok

// core/cache_store: the entry codec, the on-disk store's safety rules, atomic writes and locks.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/cache_store.hpp"
#include "core/error.hpp"
#include "fake_world.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tok::CacheEntry;
using tok::CacheStore;
using tok::LockName;
using tok::TimePoint;
using tok::Token;

namespace {

const TimePoint kT0{std::chrono::hours(24 * 365 * 56)};

void check_same(const CacheEntry& a, const CacheEntry& b) {
  CHECK(a.token == b.token);
  CHECK(a.stale_after == b.stale_after);
  CHECK(a.generation == b.generation);
  REQUIRE(a.last_error.has_value() == b.last_error.has_value());
  if (a.last_error) {
    CHECK(a.last_error->message == b.last_error->message);
    CHECK(a.last_error->at == b.last_error->at);
  }
  CHECK(a.memo == b.memo);
  CHECK(a.retry_after == b.retry_after);
}

CacheEntry full_entry() {
  CacheEntry e;
  e.token = Token{"access-abc", "Bearer", kT0 + 60min + 123ms, {}};
  e.stale_after = kT0 + 40min + 7ms;
  e.generation = 42;
  e.last_error = tok::BackgroundError{"fetching a token: HTTP 503 \"quoted\" \\ and ünïcode", kT0 + 5min};
  e.retry_after = kT0 + 6min + 3ms;
  e.memo = {{"issuer", "https://login.example.com"}, {"token_endpoint", "https://login.example.com/token"}};
  return e;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void write_file(const fs::path& p, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
  }
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using tok_test::TempDir;

bool is_storage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const tok::Error& e) {
    return e.kind() == tok::ErrorKind::storage;
  }
  return false;
}

}  // namespace

TEST_SUITE("cache_store") {

TEST_CASE("a cache hit's read stops where the memo begins, and what it read is never written back") {
  CacheEntry e = full_entry();
  e.token->fields = {{"refresh_token", "rt-1"}};
  const std::string text = tok::encode_entry(e);
  CHECK(text.rfind("\"memo\"") > text.rfind("\"last_error\""));  // the memo last
  const auto head = tok::decode_entry(text, tok::EntryPart::head);
  REQUIRE(head.has_value());
  CHECK(head->memo_unread);
  CHECK(head->memo.empty());
  CHECK(head->token == e.token);  // its fields too: a hit must know an AWS credential from a token
  CHECK(head->stale_after == e.stale_after);
  CHECK(head->generation == e.generation);
  CHECK(head->last_error.has_value());
  CHECK(head->retry_after == e.retry_after);  // read with the head: a hit decides by it
  // The parser never reads past the memo's key: what follows it may be anything.
  const std::string cut = text.substr(0, text.rfind("\"memo\"") + 7) + "\x01 not JSON";
  CHECK(tok::decode_entry(cut, tok::EntryPart::head).has_value());
  CHECK_FALSE(tok::decode_entry(cut).has_value());
  CHECK_THROWS_AS(tok::encode_entry(*head), std::logic_error);
  const auto whole = tok::decode_entry(text);
  REQUIRE(whole.has_value());
  CHECK_FALSE(whole->memo_unread);
  check_same(*whole, e);
  // An older tok wrote its members sorted, the memo before schema and token: read whole.
  const std::string sorted =
      R"({"generation":3,"last_error":null,"memo":{"issuer":"https://i"},"schema":1,"stale_after_ms":null,)"
      R"("token":{"access_token":"abc","expiry_ms":null,"token_type":"Bearer"}})";
  const auto old = tok::decode_entry(sorted, tok::EntryPart::head);
  REQUIRE(old.has_value());
  CHECK_FALSE(old->memo_unread);
  CHECK(old->memo.at("issuer") == "https://i");
  CHECK(old->generation == 3);
  // A syntax error before the memo is an unreadable entry, as for a whole read.
  CHECK_FALSE(tok::decode_entry(R"({"schema":1,"token":{"access_token":"a",,"memo":{}})", tok::EntryPart::head));
  CHECK_FALSE(tok::decode_entry("", tok::EntryPart::head));
}

TEST_CASE("an entry without retry_after (an older tok's, or no cooldown) has none, and is written without it") {
  // An older tok moved stale_after for a cooldown: its entry is read as it is.
  const auto old = tok::decode_entry(
      R"({"schema":1,"token":{"access_token":"a","token_type":"Bearer","expiry_ms":null},"stale_after_ms":5,)"
      R"("generation":1,"last_error":{"message":"m","at_ms":4},"memo":{}})",
      tok::EntryPart::head);
  REQUIRE(old.has_value());
  CHECK(old->memo_unread);
  CHECK_FALSE(old->retry_after.has_value());
  CHECK(old->stale_after == TimePoint(std::chrono::milliseconds(5)));
  CacheEntry e = full_entry();
  e.retry_after.reset();
  CHECK(tok::encode_entry(e).find("retry_after") == std::string::npos);
}

TEST_CASE("encode/decode round trip") {
  SUBCASE("full entry") { check_same(*tok::decode_entry(tok::encode_entry(full_entry())), full_entry()); }
  SUBCASE("token without expiry, no stale_after, no error, no memo") {
    CacheEntry e;
    e.token = Token{"forever", "MAC", std::nullopt, {}};
    e.generation = 1;
    const auto back = tok::decode_entry(tok::encode_entry(e));
    REQUIRE(back);
    check_same(*back, e);
    CHECK_FALSE(back->token->expiry.has_value());
  }
  SUBCASE("empty entry") {
    const auto back = tok::decode_entry(tok::encode_entry(CacheEntry{}));
    REQUIRE(back);
    check_same(*back, CacheEntry{});
  }
  SUBCASE("the epoch, the year 2200 and a huge generation") {
    CacheEntry e = full_entry();
    e.token->expiry = TimePoint{};
    e.stale_after = std::chrono::sys_days{std::chrono::year{2200} / 1 / 1};
    e.generation = UINT64_MAX;
    check_same(*tok::decode_entry(tok::encode_entry(e)), e);
  }
  SUBCASE("a token or type outside RFC 6750's characters is damage (an edited entry)") {
    for (const auto& [access, type] : std::vector<std::pair<std::string, std::string>>{
             {"tok\nX-Injected: 1", "Bearer"}, {"tok", "Bearer\r\nX-Injected: 1"}, {"to k", "Bearer"},
             {"\x1b[31mred", "Bearer"}, {"", "Bearer"}, {"tok", ""}}) {
      CacheEntry e = full_entry();
      e.token->access_token = access;
      e.token->token_type = type;
      CHECK_FALSE(tok::decode_entry(tok::encode_entry(e)).has_value());
    }
  }
  SUBCASE("instants outside 1970..2200 are damage (an edited or attacked entry)") {
    using namespace std::chrono;
    for (const TimePoint bad : {TimePoint{} - 1ms, TimePoint{sys_days{year{2200} / 1 / 1}} + 1ms,
                                TimePoint{sys_days{year{2250} / 1 / 1}}}) {
      CacheEntry e = full_entry();
      e.token->expiry = bad;
      CHECK_FALSE(tok::decode_entry(tok::encode_entry(e)).has_value());
      e = full_entry();
      e.stale_after = bad;
      CHECK_FALSE(tok::decode_entry(tok::encode_entry(e)).has_value());
      e = full_entry();
      e.last_error->at = bad;
      CHECK_FALSE(tok::decode_entry(tok::encode_entry(e)).has_value());
    }
    // Numbers that are not integers (found by fuzz_cache_entry: nlohmann's conversion of an
    // out-of-range double to an integer is undefined behaviour).
    CHECK_FALSE(tok::decode_entry(R"({"schema":1,"token":{"access_token":"a","token_type":"Bearer","expiry_ms":3590325565111795002000000},"stale_after_ms":null,"generation":0,"last_error":null})"));
    CHECK_FALSE(tok::decode_entry(R"({"schema":1,"token":null,"stale_after_ms":1.5e3,"generation":0,"last_error":null})"));
    CHECK_FALSE(tok::decode_entry(R"({"schema":1.0,"token":null,"stale_after_ms":null,"generation":0,"last_error":null})"));
    CHECK_FALSE(tok::decode_entry(R"({"schema":1,"token":null,"stale_after_ms":null,"generation":2.5,"last_error":null})"));
    CHECK_FALSE(tok::decode_entry(R"({"schema":1,"token":null,"stale_after_ms":null,"generation":-1,"last_error":null})"));
    // Milliseconds that would overflow the clock's nanoseconds (found by fuzz_cache_entry: the
    // conversion overflowed before the range was checked).
    CHECK_FALSE(tok::decode_entry(R"({"schema":1,"token":{"access_token":"tok","token_type":"Bearer","expiry_ms":179500360000000},"stale_after_ms":null,"generation":0,"last_error":null})"));
    CHECK_FALSE(tok::decode_entry(R"({"schema":1,"token":{"access_token":"a","token_type":"Bearer","expiry_ms":9223372036854775807},"stale_after_ms":null,"generation":0,"last_error":null})"));
  }
  SUBCASE("a token's secret fields round-trip in the same write, and bad ones make the entry unreadable") {
    CacheEntry e = full_entry();
    e.token->fields = {{"AccessKeyId", "AKIAEXAMPLE"}, {"refresh_token", "rt-1"}};
    const auto back = tok::decode_entry(tok::encode_entry(e));
    REQUIRE(back.has_value());
    CHECK(back->token->fields == e.token->fields);
    CHECK(tok::encode_entry(full_entry()).find("fields") == std::string::npos);  // older readers see no change
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"bad name", "v"}, {"", "v"}, {"ok", "line\nbreak"}, {"ok", std::string(16 * 1024 + 1, 'x')}}) {
      e.token->fields = {{name, value}};
      CHECK_FALSE(tok::decode_entry(tok::encode_entry(e)).has_value());
    }
    e.token->fields.clear();
    for (int i = 0; i < 17; ++i) e.token->fields.emplace("f" + std::to_string(i), "v");
    CHECK_FALSE(tok::decode_entry(tok::encode_entry(e)).has_value());
    CHECK_FALSE(tok::decode_entry(R"({"schema":1,"token":{"access_token":"a","token_type":"Bearer","expiry_ms":null,"fields":{"x":1}},"stale_after_ms":null,"generation":0,"last_error":null})"));
  }
  SUBCASE("the encoding is one JSON line with a schema version") {
    const std::string text = tok::encode_entry(full_entry());
    CHECK(text.back() == '\n');
    CHECK(text.find('\n') == text.size() - 1);
    CHECK(text.find("\"schema\":1") != std::string::npos);
  }
}

TEST_CASE("decode_entry: garbage, truncated or wrong schema is nullopt") {
  const std::string good = tok::encode_entry(full_entry());
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, good.size() / 3, good.size() / 2, good.size() - 3}) {
    CAPTURE(n);
    CHECK_FALSE(tok::decode_entry(good.substr(0, n)).has_value());
  }
  for (const char* bad : {"", "garbage", "\x01\x02\x03", "null", "[]", "42", "\"text\"", "{}", "{\"schema\":1}",
                          R"({"schema":2,"token":null,"stale_after_ms":null,"generation":0,"last_error":null})",
                          R"({"schema":"1","token":null,"stale_after_ms":null,"generation":0,"last_error":null})",
                          R"({"token":null,"stale_after_ms":null,"generation":0,"last_error":null})",
                          R"({"schema":1,"token":{"token_type":"Bearer"},"stale_after_ms":null,"generation":0,"last_error":null})",
                          R"({"schema":1,"token":null,"stale_after_ms":"soon","generation":0,"last_error":null})",
                          R"({"schema":1,"token":null,"stale_after_ms":null,"generation":"x","last_error":null})",
                          R"({"schema":1,"token":null,"stale_after_ms":null,"generation":0,"last_error":{"message":"m","at_ms":"x"}})",
                          R"({"schema":1,"token":null,"stale_after_ms":null,"generation":0,"last_error":null,"memo":{"a":1}})"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(tok::decode_entry(bad).has_value());
  }
  // The minimal valid document, to show the cases above fail for the reason given.
  CHECK(tok::decode_entry(R"({"schema":1,"token":null,"stale_after_ms":null,"generation":0,"last_error":null})"));
}

TEST_CASE("ensure_dir creates the directory 0700, with parents") {
  TempDir tmp;
  const CacheStore store(tmp.path / "a" / "b" / "tok");
  CHECK_FALSE(store.check_dir());
  CHECK_FALSE(store.ensure_dir().has_value());
  CHECK(fs::is_directory(store.dir()));
  CHECK(mode_of(store.dir()) == 0700);
  CHECK(store.check_dir());
  CHECK_FALSE(store.ensure_dir().has_value());  // idempotent
}

TEST_CASE("write then read: round trip, file mode 0600, no temporary left") {
  TempDir tmp;
  const CacheStore store(tmp.path / "cache");
  CHECK_FALSE(store.read("k").entry.has_value());  // no directory yet: nothing, no warning
  CHECK_FALSE(store.read("k").warning.has_value());
  CHECK_FALSE(store.write("k", full_entry()).has_value());
  CHECK(mode_of(store.dir()) == 0700);
  CHECK(mode_of(store.entry_path("k")) == 0600);
  const auto r = store.read("k");
  CHECK_FALSE(r.warning.has_value());
  REQUIRE(r.entry.has_value());
  check_same(*r.entry, full_entry());
  CHECK(store.entry_path("k") == store.dir() / "k.json");

  // Overwrite.
  CacheEntry second;
  second.token = Token{"second", "Bearer", kT0, {}};
  second.generation = 43;
  CHECK_FALSE(store.write("k", second).has_value());
  check_same(*store.read("k").entry, second);
  CHECK(mode_of(store.entry_path("k")) == 0600);

  int files = 0;
  for (const auto& item : fs::directory_iterator(store.dir())) {
    ++files;
    CHECK(item.path().extension() != ".tmp");
  }
  CHECK(files == 1);
  CHECK(store.keys() == std::vector<std::string>{"k"});
}

TEST_CASE("a missing entry in an existing directory is nothing, without a warning") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  const auto r = store.read("nope");
  CHECK_FALSE(r.entry.has_value());
  CHECK_FALSE(r.warning.has_value());
}

TEST_CASE("a garbage or truncated entry file is ignored with a warning") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  const std::string good = tok::encode_entry(full_entry());
  for (const std::string& text : {std::string("garbage"), std::string(), good.substr(0, good.size() / 2)}) {
    write_file(store.entry_path("k"), text);
    const auto r = store.read("k");
    CHECK_FALSE(r.entry.has_value());
    REQUIRE(r.warning.has_value());
    CHECK(r.warning->find(store.entry_path("k").string()) != std::string::npos);
  }
}

TEST_CASE("refusals: unsafe directory") {
  TempDir tmp;
  SUBCASE("the directory is a symlink") {
    fs::create_directory(tmp.path / "real");
    ::chmod((tmp.path / "real").c_str(), 0700);
    fs::create_directory_symlink(tmp.path / "real", tmp.path / "link");
    const CacheStore store(tmp.path / "link");
    CHECK(is_storage_error([&] { store.check_dir(); }));
    CHECK(is_storage_error([&] { store.ensure_dir(); }));
    CHECK(is_storage_error([&] { store.read("k"); }));
    CHECK(is_storage_error([&] { store.write("k", full_entry()); }));
    CHECK(fs::is_empty(tmp.path / "real"));
  }
  SUBCASE("the directory is writable by group and others (0777)") {
    ::chmod(tmp.path.c_str(), 0777);
    const CacheStore store(tmp.path);
    CHECK(is_storage_error([&] { store.check_dir(); }));
    CHECK(is_storage_error([&] { store.read("k"); }));
    CHECK(is_storage_error([&] { store.write("k", full_entry()); }));
    CHECK(fs::is_empty(tmp.path));
  }
  SUBCASE("the directory is writable by group only (0770)") {
    ::chmod(tmp.path.c_str(), 0770);
    CHECK(is_storage_error([&] { CacheStore(tmp.path).check_dir(); }));
  }
  SUBCASE("a readable (0755) directory is fine") {
    ::chmod(tmp.path.c_str(), 0755);
    CHECK(CacheStore(tmp.path).check_dir());
  }
  SUBCASE("the path is a regular file") {
    write_file(tmp.path / "file", "x");
    CHECK(is_storage_error([&] { CacheStore(tmp.path / "file").check_dir(); }));
  }
  SUBCASE("the directory is owned by another user (root only)") {
    if (::geteuid() != 0) {
      MESSAGE("skipped: changing a directory's owner needs root");
      return;
    }
    REQUIRE(::chown(tmp.path.c_str(), 65534, 65534) == 0);
    CHECK(is_storage_error([&] { CacheStore(tmp.path).check_dir(); }));
    ::chown(tmp.path.c_str(), 0, 0);
  }
}

TEST_CASE("refusals: unsafe entry file") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  SUBCASE("the entry is a symlink") {
    write_file(tmp.path / "elsewhere", tok::encode_entry(full_entry()));
    fs::create_symlink(tmp.path / "elsewhere", store.entry_path("k"));
    CHECK(is_storage_error([&] { store.read("k"); }));
  }
  SUBCASE("the entry is writable by others") {
    write_file(store.entry_path("k"), tok::encode_entry(full_entry()), 0606);
    CHECK(is_storage_error([&] { store.read("k"); }));
  }
  SUBCASE("the entry is writable by group") {
    write_file(store.entry_path("k"), tok::encode_entry(full_entry()), 0620);
    CHECK(is_storage_error([&] { store.read("k"); }));
  }
  SUBCASE("an entry others can read is refused: it holds a token") {
    write_file(store.entry_path("k"), tok::encode_entry(full_entry()), 0644);
    CHECK(is_storage_error([&] { store.read("k"); }));
  }
  SUBCASE("so is one the group can read") {
    write_file(store.entry_path("k"), tok::encode_entry(full_entry()), 0640);
    CHECK(is_storage_error([&] { store.read("k"); }));
  }
  SUBCASE("a 0600 entry is read") {
    write_file(store.entry_path("k"), tok::encode_entry(full_entry()), 0600);
    CHECK(store.read("k").entry.has_value());
  }
  SUBCASE("the entry is owned by another user (root only)") {
    if (::geteuid() != 0) {
      MESSAGE("skipped: changing a file's owner needs root");
      return;
    }
    write_file(store.entry_path("k"), tok::encode_entry(full_entry()));
    REQUIRE(::chown(store.entry_path("k").c_str(), 65534, 65534) == 0);
    CHECK(is_storage_error([&] { store.read("k"); }));
  }
  SUBCASE("the entry is a directory") {
    fs::create_directory(store.entry_path("k"));
    CHECK(is_storage_error([&] { store.read("k"); }));
  }
  SUBCASE("a lock file that is a symlink") {
    write_file(tmp.path / "target", "");
    fs::create_symlink(tmp.path / "target", tmp.path / "k.lock");
    CHECK(is_storage_error([&] { store.try_lock("k", LockName::refresh); }));
  }
}

TEST_CASE("write into a read-only directory returns an error and leaves the old entry intact") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  REQUIRE_FALSE(store.write("k", full_entry()).has_value());
  const std::string before = read_file(store.entry_path("k"));
  REQUIRE(::chmod(tmp.path.c_str(), 0500) == 0);

  // Root (CAP_DAC_OVERRIDE) ignores permission bits: check whether the chmod really bites.
  const fs::path probe = tmp.path / "probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
    ::chmod(tmp.path.c_str(), 0700);
    MESSAGE("running as root: a 0500 directory is still writable, so the read-only case uses /proc "
            "instead; 'old entry intact' is covered by the RLIMIT_FSIZE test below");
    const CacheStore proc(std::string("/proc"));
    std::optional<std::string> problem;
    CHECK_NOTHROW(problem = proc.write("tok-unit-test", full_entry()));
    REQUIRE(problem.has_value());
    CHECK(problem->find("cannot write cache entry") != std::string::npos);
    return;
  }
  CacheEntry other;
  other.token = Token{"new", "Bearer", kT0, {}};
  std::optional<std::string> problem;
  CHECK_NOTHROW(problem = store.write("k", other));
  REQUIRE(problem.has_value());
  CHECK(problem->find(store.entry_path("k").string()) != std::string::npos);
  CHECK(read_file(store.entry_path("k")) == before);
  check_same(*store.read("k").entry, full_entry());
}

TEST_CASE("a write that fails midway (file size limit) leaves the old entry intact and no temporary") {
  // RLIMIT_FSIZE applies to root too: the write(2) of the temporary file fails with EFBIG.
  TempDir tmp;
  const CacheStore store(tmp.path);
  REQUIRE_FALSE(store.write("k", full_entry()).has_value());
  const std::string before = read_file(store.entry_path("k"));
  CacheEntry other = full_entry();
  other.token->access_token = std::string(500, 'n');

  struct rlimit old_limit {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 16;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const auto problem = store.write("k", other);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  REQUIRE(problem.has_value());
  CHECK(problem->find("cannot write cache entry") != std::string::npos);
  CHECK(read_file(store.entry_path("k")) == before);
  int files = 0;
  for (const auto& item : fs::directory_iterator(tmp.path)) {
    ++files;
    CAPTURE(item.path().string());
    CHECK(item.path().extension() != ".tmp");
  }
  CHECK(files == 1);
}

TEST_CASE("ensure_dir: a directory that cannot be created is an error message, not an exception") {
  // The contract (cache_store.hpp): check_dir "returns false when it does not exist" and
  // ensure_dir "returns an error message when it cannot be created", which is not fatal
  // (docs/engine.md: a cache that cannot be written is only a warning). A parent that is a regular file
  // makes the directory impossible to create.
  TempDir tmp;
  write_file(tmp.path / "file", "x");
  const CacheStore store(tmp.path / "file" / "tok");
  std::optional<std::string> problem;
  CHECK_NOTHROW(problem = store.ensure_dir());
  CHECK(problem.has_value());
  std::optional<std::string> write_problem;
  CHECK_NOTHROW(write_problem = store.write("k", full_entry()));
  CHECK(write_problem.has_value());
}

TEST_CASE("lock: the poll waits on the world: a held lock times out at the deadline, no real sleep") {
  TempDir tmp;
  tok_test::FakeWorld world;
  const CacheStore store(tmp.path, world);
  auto held = store.try_lock("k", LockName::refresh);  // another process's, as far as flock knows
  REQUIRE(held.has_value());
  const tok::Deadline start = world.steady_now();
  CHECK_FALSE(store.lock("k", LockName::refresh, start + std::chrono::seconds(10)).has_value());
  // 2, 4, 8, 16, then 20 ms at a time, up to the deadline and not past it.
  REQUIRE(world.sleeps.size() > 4);
  CHECK(world.sleeps[0] == std::chrono::milliseconds(2));
  CHECK(world.sleeps[3] == std::chrono::milliseconds(16));
  CHECK(world.sleeps.back() == std::chrono::milliseconds(20));
  CHECK(world.steady_now() <= start + std::chrono::seconds(10));
  CHECK(world.steady_now() > start + std::chrono::milliseconds(9'970));
  // Once the holder lets go, the next poll takes it.
  held.reset();
  CHECK(store.lock("k", LockName::refresh, world.steady_now() + std::chrono::seconds(1)).has_value());
}

TEST_CASE("remove_all: a busy entry is left once the world's clock passes the wait") {
  TempDir tmp;
  tok_test::FakeWorld world;
  const CacheStore store(tmp.path / "cache", world);
  REQUIRE_FALSE(store.ensure_dir().has_value());
  REQUIRE_FALSE(store.write("busy", full_entry()).has_value());
  REQUIRE_FALSE(store.write("idle", full_entry()).has_value());
  auto held = store.try_lock("busy", LockName::refresh);
  REQUIRE(held.has_value());
  const auto removed = store.remove_all(std::chrono::seconds(5));
  CHECK(removed.entries == 1);
  CHECK(removed.busy == 1);
  CHECK(world.slept() <= std::chrono::seconds(5));
  CHECK(world.slept() > std::chrono::milliseconds(4'900));
}

TEST_CASE("try_lock: exclusive between open file descriptions, released on destruction") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  auto first = store.try_lock("k", LockName::refresh);
  REQUIRE(first.has_value());
  REQUIRE(first->held());
  CHECK(mode_of(tmp.path / "k.lock") == 0600);

  CHECK_FALSE(store.try_lock("k", LockName::refresh).has_value());  // busy
  // Another lock name, or another key, is independent.
  auto bg = store.try_lock("k", LockName::background);
  REQUIRE(bg.has_value());
  CHECK(bg->held());
  CHECK(fs::exists(tmp.path / "k.bg.lock"));
  CHECK_FALSE(store.try_lock("k", LockName::background).has_value());
  auto other = store.try_lock("other", LockName::refresh);
  REQUIRE(other.has_value());
  CHECK(other->held());

  // lock() with a deadline already passed gives up without waiting.
  CHECK_FALSE(store.lock("k", LockName::refresh, std::chrono::steady_clock::now()).has_value());

  first->release();
  CHECK_FALSE(first->held());
  auto again = store.try_lock("k", LockName::refresh);
  REQUIRE(again.has_value());
  CHECK(again->held());

  // Moving a lock keeps it held; destroying the holder releases it.
  {
    tok::FileLock moved = std::move(*again);
    CHECK(moved.held());
    CHECK_FALSE(again->held());
    CHECK_FALSE(store.try_lock("k", LockName::refresh).has_value());
  }
  auto after = store.lock("k", LockName::refresh, std::chrono::steady_clock::now() + 10s);
  REQUIRE(after.has_value());
  CHECK(after->held());
}

TEST_CASE("remove, keys and remove_all") {
  TempDir tmp;
  const CacheStore store(tmp.path / "cache");
  CHECK(store.keys().empty());
  CHECK(store.remove_all().entries == 0);  // no directory: nothing to do
  for (const char* k : {"a", "b", "c"}) REQUIRE_FALSE(store.write(k, full_entry()).has_value());
  write_file(store.dir() / ".a.json.123.0.tmp", "partial");  // a stray temporary is not an entry
  write_file(store.dir() / "notes.txt", "x");
  auto keys = store.keys();
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"a", "b", "c"});

  CHECK(store.remove("b"));
  CHECK_FALSE(store.remove("b"));
  CHECK_FALSE(fs::exists(store.entry_path("b")));

  // An unheld lock file goes with its entry; a held one stays (unlinking it would let a second
  // holder in).
  { auto l = store.try_lock("a", LockName::refresh); }
  auto held = store.try_lock("c", LockName::background);
  REQUIRE(held.has_value());
  REQUIRE(fs::exists(store.dir() / "a.lock"));

  CHECK(store.remove_all().entries == 2);
  CHECK(store.keys().empty());
  CHECK_FALSE(store.read("a").entry.has_value());
  CHECK_FALSE(store.read("c").entry.has_value());
  CHECK_FALSE(fs::exists(store.dir() / "a.lock"));
  CHECK(fs::exists(store.dir() / "c.bg.lock"));
  CHECK(fs::exists(store.dir() / "notes.txt"));
}

TEST_CASE("the shared failure: encoded in the refresh lock file, read back, garbage is none") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  CHECK_FALSE(store.read_failure("k").has_value());
  const tok::SharedFailure f{7, tok::ErrorKind::refused, "fetching: invalid_client", "check the secret", kT0};
  {
    auto lock = store.try_lock("k", LockName::refresh);
    REQUIRE(lock.has_value());
    CacheStore::write_failure(*lock, f);
  }
  const auto back = store.read_failure("k");
  REQUIRE(back.has_value());
  CHECK(back->seq == 7);
  CHECK(back->kind == tok::ErrorKind::refused);
  CHECK(back->message == f.message);
  CHECK(back->advice == f.advice);
  CHECK(back->at == kT0);
  CHECK_FALSE(back->until.has_value());
  // A shorter second record replaces the first entirely.
  {
    auto lock = store.try_lock("k", LockName::refresh);
    CacheStore::write_failure(*lock, tok::SharedFailure{8, tok::ErrorKind::unavailable, "x", "", kT0});
  }
  CHECK(store.read_failure("k")->message == "x");
  // The failure cache's end round-trips; a file of an older version (no until_ms) keeps nothing;
  // an end outside 1970..2200 is damage.
  {
    auto lock = store.try_lock("k", LockName::refresh);
    CacheStore::write_failure(*lock, tok::SharedFailure{9, tok::ErrorKind::unavailable, "503", "", kT0, kT0 + 5s});
  }
  CHECK(store.read_failure("k")->until == kT0 + 5s);
  write_file(tmp.path / "k.lock", R"({"seq":1,"kind":"unavailable","message":"m","advice":"","at_ms":0})");
  REQUIRE(store.read_failure("k").has_value());
  CHECK_FALSE(store.read_failure("k")->until.has_value());
  write_file(tmp.path / "k.lock",
             R"({"seq":1,"kind":"unavailable","message":"m","advice":"","at_ms":0,"until_ms":99999999999999999})");
  CHECK_FALSE(store.read_failure("k").has_value());
  for (const char* bad : {"", "garbage", R"({"seq":1,"kind":"weird","message":"m","advice":"","at_ms":0})"}) {
    write_file(tmp.path / "k.lock", bad);
    CHECK_FALSE(store.read_failure("k").has_value());
  }
}

// A server's Latin-1 error page quoted in a failure made nlohmann's dump() throw: the background
// refresher lost its cooldown (every later get asked the server again) and left its temporary
// file behind; a blocking refresh exited 1 instead of with the server's refusal.
TEST_CASE("an error message that is not UTF-8 is stored with U+FFFD, never thrown") {
  const std::string latin1 = "HTTP 400: 'caf\xe9 d\xe9j\xe0 \xff'";
  const std::string replaced = "HTTP 400: 'caf\xef\xbf\xbd d\xef\xbf\xbdj\xef\xbf\xbd \xef\xbf\xbd'";
  CacheEntry e = full_entry();
  e.last_error->message = latin1;
  const auto back = tok::decode_entry(tok::encode_entry(e));
  REQUIRE(back.has_value());
  CHECK(back->last_error->message == replaced);

  const auto failure = tok::decode_failure(tok::encode_failure({3, tok::ErrorKind::refused, latin1, "\xfe", kT0}));
  REQUIRE(failure.has_value());
  CHECK(failure->message == replaced);
  CHECK(failure->advice == "\xef\xbf\xbd");

  TempDir tmp;
  const CacheStore store(tmp.path);
  CHECK_FALSE(store.write("k", e).has_value());
  CHECK(store.read("k").entry->last_error->message == replaced);
  std::vector<std::string> names;
  for (const auto& item : fs::directory_iterator(tmp.path)) names.push_back(item.path().filename());
  CHECK(names == std::vector<std::string>{"k.json"});
}

TEST_CASE("unwritable: creates the directory, then says why nothing could be kept") {
  TempDir tmp;
  const CacheStore store(tmp.path / "cache");
  CHECK_FALSE(store.unwritable().has_value());
  CHECK(fs::is_directory(store.dir()));
  write_file(tmp.path / "file", "x");
  const CacheStore impossible(tmp.path / "file" / "tok");
  const auto why = impossible.unwritable();
  REQUIRE(why.has_value());
  CHECK(why->find("cannot create cache directory") != std::string::npos);
}

TEST_CASE("the directory is checked once, through its descriptor: a later swap for a symlink changes nothing") {
  TempDir tmp;
  const CacheStore store(tmp.path / "cache");
  REQUIRE_FALSE(store.write("k", full_entry()).has_value());
  // Swap: the checked directory moves away and a symlink to a planted one takes its name.
  fs::create_directory(tmp.path / "planted");
  const CacheStore planted(tmp.path / "planted");
  CacheEntry evil = full_entry();
  evil.token->access_token = "planted";
  REQUIRE_FALSE(planted.write("k", evil).has_value());
  fs::rename(tmp.path / "cache", tmp.path / "moved");
  fs::create_directory_symlink(tmp.path / "planted", tmp.path / "cache");
  CHECK(store.read("k").entry->token->access_token == "access-abc");
  // A new process (a new store) refuses the symlink.
  const CacheStore fresh(tmp.path / "cache");
  CHECK(is_storage_error([&] { fresh.read("k"); }));
}

TEST_CASE("remove_all: entries, unheld lock files and temporaries of writers that are gone") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  REQUIRE_FALSE(store.write("a", full_entry()).has_value());
  { auto l = store.try_lock("orphan", LockName::refresh); }      // a lock file without an entry
  { auto l = store.try_lock("orphan", LockName::background); }
  write_file(tmp.path / ".a.json.999999999.0.tmp", "partial");  // no such process
  const std::string mine = ".a.json." + std::to_string(::getpid()) + ".0.tmp";
  write_file(tmp.path / mine, "being written");                  // a live writer's
  CHECK(store.remove_all().entries == 1);
  CHECK_FALSE(fs::exists(tmp.path / "orphan.lock"));
  CHECK_FALSE(fs::exists(tmp.path / "orphan.bg.lock"));
  CHECK_FALSE(fs::exists(tmp.path / ".a.json.999999999.0.tmp"));
  CHECK(fs::exists(tmp.path / mine));
}

TEST_CASE("remove_all: an entry whose refresh lock stays held is left, not unlinked under its holder") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  REQUIRE_FALSE(store.write("busy", full_entry()).has_value());
  REQUIRE_FALSE(store.write("idle", full_entry()).has_value());
  // A refresher of "busy" holds its lock (another open file description: flock excludes it).
  auto holder = store.lock("busy", LockName::refresh, std::chrono::steady_clock::now() + 1s);
  REQUIRE(holder.has_value());
  REQUIRE(holder->held());
  const auto removed = store.remove_all(50ms);
  CHECK(removed.entries == 1);
  CHECK(removed.busy == 1);
  CHECK(fs::exists(tmp.path / "busy.json"));
  CHECK(fs::exists(tmp.path / "busy.lock"));
  CHECK_FALSE(fs::exists(tmp.path / "idle.json"));
}

TEST_CASE("remove: the records kept beside an entry go with it, another key's files stay") {
  TempDir tmp;
  const CacheStore store(tmp.path);
  REQUIRE_FALSE(store.write("p-00000000000000aa", full_entry()).has_value());
  REQUIRE_FALSE(store.write("p-00000000000000aa.x-00000000000000bb", full_entry()).has_value());
  write_file(tmp.path / "p-00000000000000aa.kube", "1 2 3 1 0\n");
  CHECK(store.remove("p-00000000000000aa"));
  CHECK_FALSE(fs::exists(tmp.path / "p-00000000000000aa.json"));
  CHECK_FALSE(fs::exists(tmp.path / "p-00000000000000aa.kube"));
  CHECK(fs::exists(tmp.path / "p-00000000000000aa.x-00000000000000bb.json"));
}

}  // TEST_SUITE

namespace {

// Runs `body` while no descriptor can be opened (RLIMIT_NOFILE at the lowest free one).
void without_descriptors(const std::function<void()>& body) {
  const int lowest = ::dup(0);
  REQUIRE(lowest >= 0);
  ::close(lowest);
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit none = saved;
  none.rlim_cur = static_cast<rlim_t>(lowest);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &none) == 0);
  body();
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
}

}  // namespace

TEST_CASE("KeepCopy: the head is read again only when the entry's file changed") {
  TempDir tmp;
  const CacheStore store(tmp.path / "cache");
  REQUIRE_FALSE(store.write("k", full_entry()).has_value());
  store.dir_fd();
  tok::DiskEntryStore kept(store, "k", tok::KeepCopy::yes);
  tok::DiskEntryStore plain(store, "k");
  REQUIRE(kept.read_head().entry.has_value());
  REQUIRE(plain.read_head().entry.has_value());
  // The copy's path once with descriptors to spare: UBSan checks a shared_ptr's dynamic type by
  // probing memory through a pipe, which it cannot open below, and would then report a bad vptr.
  REQUIRE(kept.read_head().entry.has_value());

  // Unchanged: the copy, without opening the file (no descriptor could be opened now).
  without_descriptors([&] {
    const auto copy = kept.read_head();
    REQUIRE(copy.entry.has_value());
    CHECK_FALSE(copy.warning.has_value());
    CHECK(copy.entry->token == full_entry().token);
    CHECK(copy.entry->memo_unread);
    CHECK(plain.read_head().warning.has_value());  // what an open costs now: it fails
  });

  // Another writer's commit (a rename: a new file) is read at once.
  CacheEntry next = full_entry();
  next.token->access_token = "next";
  next.generation = 43;
  REQUIRE_FALSE(store.write("k", next).has_value());
  CHECK(kept.read_head().entry->token->access_token == "next");
  CHECK(kept.read_head().entry->generation == 43);

  // An edit in place, the file removed, a mode that others can read: each is seen.
  write_file(store.entry_path("k"), tok::encode_entry(full_entry()));
  CHECK(kept.read_head().entry->token->access_token == "access-abc");
  ::chmod(store.entry_path("k").c_str(), 0644);
  CHECK_THROWS_AS(kept.read_head(), tok::Error);
  ::chmod(store.entry_path("k").c_str(), 0600);
  fs::remove(store.entry_path("k"));
  const auto gone = kept.read_head();
  CHECK_FALSE(gone.entry.has_value());
  CHECK_FALSE(gone.warning.has_value());
  // A damaged entry is not kept: its warning comes at every read.
  write_file(store.entry_path("k"), "garbage");
  CHECK(kept.read_head().warning.has_value());
  CHECK(kept.read_head().warning.has_value());
}

TEST_CASE("read_file and write_file: a private file beside the entries that is no entry") {
  TempDir tmp;
  const CacheStore store(tmp.path / "cache");
  CHECK_FALSE(store.read_file("serve.secrets", 100).has_value());  // no directory yet
  bool written = false;
  CHECK_FALSE(store.write_file("serve.secrets", "first", false, &written).has_value());
  CHECK(written);
  CHECK(mode_of(store.dir() / "serve.secrets") == 0600);
  // Without replace the first writer wins; with replace the file is replaced.
  CHECK_FALSE(store.write_file("serve.secrets", "second", false, &written).has_value());
  CHECK_FALSE(written);
  CHECK(store.read_file("serve.secrets", 100) == "first");
  CHECK_FALSE(store.write_file("serve.secrets", "third", true, &written).has_value());
  CHECK(written);
  CHECK(store.read_file("serve.secrets", 100) == "third");
  CHECK_FALSE(store.read_file("serve.secrets", 3).has_value());  // larger than the cap
  // Not an entry: listed by no keys(), left by remove_all; no temporary left.
  CHECK(store.keys().empty());
  store.remove_all();
  CHECK(store.read_file("serve.secrets", 100) == "third");
  int files = 0;
  for ([[maybe_unused]] const auto& item : fs::directory_iterator(store.dir())) ++files;
  CHECK(files == 1);
  // Refused as an entry is: readable or writable by others, a symlink.
  for (const mode_t mode : {0640, 0604, 0620, 0602}) {
    ::chmod((store.dir() / "serve.secrets").c_str(), mode);
    CHECK_THROWS_AS(store.read_file("serve.secrets", 100), tok::Error);
  }
  fs::remove(store.dir() / "serve.secrets");
  fs::create_symlink(tmp.path / "elsewhere", store.dir() / "serve.secrets");
  CHECK_THROWS_AS(store.read_file("serve.secrets", 100), tok::Error);
}

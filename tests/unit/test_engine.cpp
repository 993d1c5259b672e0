// The one refresh flow (core/refresh_flow), run twice: in process (MemoryEntryStore) and on disk
// (DiskEntryStore in a temporary directory). Both with a fake token source, a FakeWorld and a
// ManualExecutor behind the launcher: background work (the "detached child" of the on-disk
// configuration) runs in this process, and only when the test calls run_all(). No sleeps.
//
// The seed's test list (docs/design.md, "One flow, two configurations") comes first, then the edge rules of section 8.
// Race windows are reached through named hooks: HookedStore runs a callback just before the
// refresh lock is taken (another caller gets in first), FakeSource runs one during a fetch (a
// blocking refresh overtakes a background one).
#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "core/cache_store.hpp"
#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/launcher.hpp"
#include "core/memory_store.hpp"
#include "core/random.hpp"
#include "core/refresh_flow.hpp"
#include "fake_world.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;
using tok::CacheEntry;
using tok::Duration;
using tok::EngineSettings;
using tok::FakeClock;
using tok::FetchMode;
using tok::GetOptions;
using tok::TimePoint;
using tok::Token;
using tok::TokenState;

struct InProcess {
  static constexpr bool on_disk = false;
};
struct OnDisk {
  static constexpr bool on_disk = true;
};
TYPE_TO_STRING(InProcess);
TYPE_TO_STRING(OnDisk);

namespace {

// The seed's settings: no jitter, no failure cache (docs/fleet.md adds both; their own
// tests below set them). The seed's test list runs with these.
EngineSettings seed() {
  EngineSettings s;
  s.refresh_jitter = 0;
  s.failure_cache = Duration{0};
  return s;
}

using tok_test::FakeRandom;
using tok_test::FakeWorld;

// A token source that counts its calls. By default each call returns "token-N" expiring `ttl`
// after the fake clock's time; queued tokens or failures are used first.
struct FakeSource {
  const FakeClock* clock = nullptr;
  Duration ttl = 60min;
  int calls = 0;
  bool fail = false;  // throw Error(fail_kind) on every call
  tok::ErrorKind fail_kind = tok::ErrorKind::unavailable;
  std::optional<Duration> retry_after;  // the server's Retry-After on those failures
  bool malformed = false;               // unavailable, but not an outage (a malformed answer)
  bool fail_strangely = false;   // throw something that is not a std::exception
  std::deque<Token> queued;      // returned (in order) before falling back to the default
  std::optional<Token> always;   // returned on every call when set
  tok::ProviderMemo memo_seen;
  std::vector<FetchMode> modes;
  std::function<void()> during_fetch;  // runs once, inside the next call, before it answers
  std::optional<Token> current_seen;   // the entry's token the last call was given
  bool end_login = false;              // fail as a provider that refuses the refresh token does
  tok::ProviderMemo memo_writes;       // written into the memo by every call that answers

  Token next(tok::ProviderMemo& memo, FetchMode mode, const Token* current = nullptr) {
    ++calls;
    current_seen = current != nullptr ? std::optional<Token>(*current) : std::nullopt;
    modes.push_back(mode);
    memo_seen = memo;
    if (auto hook = std::exchange(during_fetch, nullptr)) hook();
    if (fail_strangely) throw 42;
    if (end_login) throw tok::Error(tok::ErrorKind::refused, "invalid_grant", "run tok login").mark_login_ended();
    if (fail) {
      tok::Error error(fail_kind, "token service unavailable (call " + std::to_string(calls) + ")",
                       "check the token service");
      if (fail_kind == tok::ErrorKind::unavailable && !malformed) error.mark_outage(retry_after);
      throw error;
    }
    for (const auto& [key, value] : memo_writes) memo[key] = value;
    if (always) return *always;
    if (!queued.empty()) {
      Token t = queued.front();
      queued.pop_front();
      return t;
    }
    Token t;
    t.access_token = "token-" + std::to_string(calls);
    t.expiry = clock->now() + ttl;
    return t;
  }
};

Token make_token(std::string access, std::optional<TimePoint> expiry) {
  Token t;
  t.access_token = std::move(access);
  t.expiry = expiry;
  return t;
}

// Either store, with hooks at the race windows and switches for the faults a test needs.
class HookedStore final : public tok::EntryStore {
 public:
  explicit HookedStore(std::unique_ptr<tok::EntryStore> inner) : inner_(std::move(inner)) {}
  std::function<void()> before_hold_refresh;  // runs once, just before the lock is taken
  std::optional<std::string> unwritable_reason;
  bool refresh_lock_times_out = false;
  int writes = 0;

  Read read() override { return inner_->read(); }
  std::optional<std::string> unwritable() override {
    return unwritable_reason ? unwritable_reason : inner_->unwritable();
  }
  std::optional<std::string> write(const CacheEntry& entry) override {
    ++writes;
    return inner_->write(entry);
  }
  bool remove() override { return inner_->remove(); }
  std::unique_ptr<tok::Hold> try_hold_background() override { return inner_->try_hold_background(); }
  std::unique_ptr<tok::Hold> hold_refresh(tok::Deadline deadline) override {
    if (auto hook = std::exchange(before_hold_refresh, nullptr)) hook();
    if (refresh_lock_times_out) return nullptr;
    return inner_->hold_refresh(deadline);
  }
  std::optional<tok::SharedFailure> last_failure() override { return inner_->last_failure(); }
  void record_failure(tok::Hold& refresh, const tok::SharedFailure& failure) override {
    inner_->record_failure(refresh, failure);
  }

 private:
  std::unique_ptr<tok::EntryStore> inner_;
};

struct Fixture {
  FakeWorld world;
  FakeClock& clock = world.wall;
  tok::ManualExecutor executor;
  tok::ExecutorLauncher launcher{executor};
  FakeSource source;
  FakeRandom& random = world.random_source;
  EngineSettings settings;
  const bool on_disk;
  tok_test::TempDir tmp;
  tok::CacheStore disk{tmp.path / "cache", world};
  tok::MemoryEntryStore* memory = nullptr;
  HookedStore* hooks = nullptr;
  std::shared_ptr<tok::RefreshFlow> flow;
  std::vector<std::string> warnings;
  const TimePoint start = clock.now();

  explicit Fixture(bool disk_config, EngineSettings s = seed()) : settings(s), on_disk(disk_config) {
    source.clock = &clock;
    make();
  }

  // A flow over the same entry: what a second process (or a second caller) would build.
  std::shared_ptr<tok::RefreshFlow> make_flow(HookedStore** hooked) {
    std::unique_ptr<tok::EntryStore> inner;
    if (on_disk) {
      inner = std::make_unique<tok::DiskEntryStore>(disk, "k");
    } else {
      if (memory_owner == nullptr) {
        memory_owner = std::make_shared<std::unique_ptr<tok::MemoryEntryStore>>(std::make_unique<tok::MemoryEntryStore>());
        memory = memory_owner->get();
      }
      inner = std::make_unique<SharedMemory>(memory);
    }
    auto store = std::make_unique<HookedStore>(std::move(inner));
    *hooked = store.get();
    return std::make_shared<tok::RefreshFlow>(
        std::move(store), launcher,
        [this](tok::Deadline, tok::ProviderMemo& memo, FetchMode mode, const Token* current) {
          return source.next(memo, mode, current);
        },
        settings, world, tok::Diagnostics{[this](const std::string& m) { warnings.push_back(m); }, {}});
  }
  void make() { flow = make_flow(&hooks); }

  TimePoint t0() const { return start; }
  tok::GetResult get(GetOptions o = {}) { return flow->get(o); }
  // What the entry holds, read below the hooks (they belong to a flow that may be gone).
  CacheEntry entry() { return (on_disk ? disk.read("k") : memory->read()).entry.value_or(CacheEntry{}); }
  // Writes the entry below the hooks, as another process (or caller) commits it.
  void put(const CacheEntry& e) {
    if (on_disk) {
      disk.write("k", e);
    } else {
      memory->write(e);
    }
  }
  bool background_running() {
    if (on_disk) return !disk.try_lock("k", tok::LockName::background).has_value();
    return memory->background_held();
  }

 private:
  // Every in-process flow of a fixture shares one MemoryEntryStore, as the callers of one
  // Refresher do.
  class SharedMemory final : public tok::EntryStore {
   public:
    explicit SharedMemory(tok::MemoryEntryStore* m) : m_(m) {}
    Read read() override { return m_->read(); }
    std::optional<std::string> unwritable() override { return m_->unwritable(); }
    std::optional<std::string> write(const CacheEntry& e) override { return m_->write(e); }
    bool remove() override { return m_->remove(); }
    std::unique_ptr<tok::Hold> try_hold_background() override { return m_->try_hold_background(); }
    std::unique_ptr<tok::Hold> hold_refresh(tok::Deadline d) override { return m_->hold_refresh(d); }
    std::optional<tok::SharedFailure> last_failure() override { return m_->last_failure(); }
    void record_failure(tok::Hold& h, const tok::SharedFailure& f) override { m_->record_failure(h, f); }

   private:
    tok::MemoryEntryStore* m_;
  };
  std::shared_ptr<std::unique_ptr<tok::MemoryEntryStore>> memory_owner;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

#define ENGINE_CASE(name) TEST_CASE_TEMPLATE(name, Config, InProcess, OnDisk)

TEST_SUITE("engine") {

// ---- the seed's list ------------------------------------------------------------------------

ENGINE_CASE("no token: the first get refreshes blocking, async on and off") {
  for (bool async : {true, false}) {
    CAPTURE(async);
    EngineSettings s = seed();
    s.async_refresh = async;
    Fixture f(Config::on_disk, s);
    const auto r = f.get();
    CHECK(f.source.calls == 1);
    CHECK(f.source.modes.at(0) == FetchMode::blocking);
    CHECK(r.state == TokenState::expired);
    CHECK(r.token.access_token == "token-1");
    CHECK(f.executor.pending() == 0);
    const CacheEntry e = f.entry();
    CHECK(e.generation == 1);
    CHECK(e.token == r.token);
    CHECK(e.stale_after == f.t0() + 40min);
  }
}

ENGINE_CASE("every answer carries the entry's stale_after: stored, served, or another caller's") {
  Fixture f(Config::on_disk);
  const auto first = f.get();
  CHECK(first.stale_after == f.t0() + 40min);
  f.clock.advance(10min);
  CHECK(f.get().stale_after == f.t0() + 40min);  // served from the entry
  // tok write --keep's question at the stale point: refresh now, unless someone already has.
  GetOptions at_stale;
  at_stale.also_expired = [](const CacheEntry& e, TimePoint now) { return e.stale_after && *e.stale_after <= now; };
  f.clock.advance(30min);
  const auto refreshed = f.get(at_stale);
  CHECK(f.source.calls == 2);
  CHECK(refreshed.token.access_token == "token-2");
  CHECK(refreshed.stale_after == f.clock.now() + 40min);
  // Another caller forces a refresh; the next look at the stale point of the old token takes it.
  GetOptions forced;
  forced.force_refresh = true;
  const auto other = f.get(forced);
  CHECK(f.source.calls == 3);
  const auto taken = f.get(at_stale);
  CHECK(f.source.calls == 3);
  CHECK(taken.token == other.token);
  CHECK(taken.stale_after == other.stale_after);
}

ENGINE_CASE("fresh does not refresh") {
  Fixture f(Config::on_disk);
  f.get();
  REQUIRE(f.source.calls == 1);
  for (int i = 0; i < 5; ++i) {
    f.clock.advance(8min);  // up to +40 min: still FRESH (strict boundary)
    const auto r = f.get();
    CHECK(r.state == TokenState::fresh);
    CHECK(r.token.access_token == "token-1");
  }
  CHECK(f.clock.now() == f.t0() + 40min);
  CHECK(f.source.calls == 1);
  CHECK(f.executor.pending() == 0);
  CHECK_FALSE(f.background_running());
  CHECK(f.hooks->writes == 1);
}

ENGINE_CASE("a token without expiry never refreshes") {
  Fixture f(Config::on_disk);
  f.source.always = make_token("forever", std::nullopt);
  CHECK(f.get().token.access_token == "forever");
  CHECK(f.source.calls == 1);
  CHECK_FALSE(f.entry().stale_after.has_value());
  for (int i = 0; i < 10; ++i) {
    f.clock.advance(24h * 30);
    const auto r = f.get();
    CHECK(r.state == TokenState::fresh);
    CHECK(r.token.access_token == "forever");
  }
  CHECK(f.executor.run_all() == 0);
  CHECK(f.source.calls == 1);
}

ENGINE_CASE("stale does not refresh with async off, nor with --no-async") {
  for (bool config_off : {true, false}) {
    CAPTURE(config_off);
    EngineSettings s = seed();
    s.async_refresh = !config_off;
    Fixture f(Config::on_disk, s);
    f.get();
    f.clock.advance(45min);  // STALE: past +40 min, before 60 min - 40 s
    GetOptions o;
    o.allow_async = config_off;  // the other switch
    const auto r = f.get(o);
    CHECK(r.state == TokenState::stale);
    CHECK(r.token.access_token == "token-1");
    CHECK(f.executor.pending() == 0);
    CHECK(f.executor.run_all() == 0);
    CHECK(f.source.calls == 1);
  }
}

ENGINE_CASE("expired refreshes blocking, async on and off") {
  for (bool async : {true, false}) {
    CAPTURE(async);
    EngineSettings s = seed();
    s.async_refresh = async;
    Fixture f(Config::on_disk, s);
    f.get();
    f.clock.advance(59min + 20s);  // 60 min - 40 s: the last instant before EXPIRED
    GetOptions no_async;
    no_async.allow_async = false;
    CHECK(f.get(no_async).state == TokenState::stale);
    f.clock.advance(1ms);
    const auto r = f.get();
    CHECK(r.state == TokenState::expired);
    CHECK(r.token.access_token == "token-2");
    CHECK(f.source.calls == 2);
    CHECK(f.executor.pending() == 0);
    CHECK(f.entry().generation == 2);
    CHECK(f.entry().stale_after == f.clock.now() + 40min);
  }
}

ENGINE_CASE("stale refreshes in the background and the next call sees the new token") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  const auto r = f.get();
  CHECK(r.state == TokenState::stale);
  CHECK(r.token.access_token == "token-1");  // answered at once with the old token
  CHECK(f.source.calls == 1);                // nothing fetched before the launcher runs
  CHECK(f.executor.pending() == 1);
  CHECK(f.background_running());

  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 2);
  CHECK(f.source.modes.at(1) == FetchMode::background);  // one attempt: the cooldown is the retry
  CHECK_FALSE(f.background_running());
  const CacheEntry e = f.entry();
  CHECK(e.generation == 2);
  CHECK(e.token->access_token == "token-2");
  CHECK(e.stale_after == f.clock.now() + 40min);

  const auto next = f.get();
  CHECK(next.state == TokenState::fresh);
  CHECK(next.token.access_token == "token-2");
  CHECK(f.executor.pending() == 0);
}

ENGINE_CASE("two stale calls submit one refresh (single flight)") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  CHECK(f.get().token.access_token == "token-1");
  CHECK(f.get().token.access_token == "token-1");
  f.clock.advance(1min);
  CHECK(f.get().state == TokenState::stale);
  CHECK(f.executor.pending() == 1);
  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 2);
  // Once it finished, a later STALE period may start a new one.
  f.clock.advance(45min);
  CHECK(f.get().state == TokenState::stale);
  CHECK(f.executor.pending() == 1);
}

ENGINE_CASE("two stale callers of separate engines over one entry start one refresh") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  HookedStore* other_hooks = nullptr;
  auto other = f.make_flow(&other_hooks);  // another process, or another caller
  CHECK(f.get().state == TokenState::stale);
  CHECK(other->get().state == TokenState::stale);
  CHECK(f.executor.pending() == 1);
  f.executor.run_all();
  CHECK(f.source.calls == 2);
  CHECK(other->get().token.access_token == "token-2");
}

ENGINE_CASE("background failure: cooldown without refreshes, then one retry that succeeds") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  f.source.fail = true;
  CHECK(f.get().state == TokenState::stale);
  const TimePoint failed_at = f.clock.now();
  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 2);

  CacheEntry e = f.entry();
  CHECK(e.generation == 1);  // a backoff does not change it
  CHECK(e.token->access_token == "token-1");
  CHECK(e.retry_after == failed_at + 1min);   // the cooldown is set...
  CHECK(e.stale_after == f.t0() + 40min);     // ...and stale_after is not moved
  REQUIRE(e.last_error);
  CHECK(contains(e.last_error->message, "token service unavailable"));
  CHECK(e.last_error->at == failed_at);
  CHECK_FALSE(f.background_running());

  SUBCASE("repeated calls during the cooldown do not refresh, and say the refresh is failing") {
    for (int i = 0; i < 6; ++i) {
      const auto r = f.get();
      CHECK(r.state == TokenState::stale);  // the truth: no caller has to undo a cooldown
      CHECK(r.token.access_token == "token-1");
      REQUIRE(r.failing.has_value());
      CHECK(contains(r.failing->message, "token service unavailable"));
      CHECK(r.retry_at == failed_at + 1min);
      f.clock.advance(10s);  // ends exactly at failed_at + 1 min, still in the cooldown
    }
    CHECK(f.clock.now() == failed_at + 1min);
    CHECK(f.get().state == TokenState::stale);
    CHECK(f.executor.pending() == 0);
    CHECK(f.source.calls == 2);
  }

  SUBCASE("a call after the cooldown refreshes in the background and succeeds") {
    f.source.fail = false;
    f.clock.advance(1min + 1ms);
    const auto r = f.get();
    CHECK(r.state == TokenState::stale);
    CHECK(r.token.access_token == "token-1");
    CHECK(f.executor.pending() == 1);
    CHECK(f.executor.run_all() == 1);
    CHECK(f.source.calls == 3);
    e = f.entry();
    CHECK(e.token->access_token == "token-3");
    CHECK(e.generation == 2);
    CHECK_FALSE(e.last_error.has_value());
    CHECK_FALSE(e.retry_after.has_value());
    const auto after = f.get();
    CHECK(after.token.access_token == "token-3");
    CHECK_FALSE(after.failing.has_value());
  }

  SUBCASE("a call after the cooldown that fails again backs off again") {
    f.clock.advance(1min + 1ms);
    CHECK(f.get().state == TokenState::stale);
    CHECK(f.executor.run_all() == 1);
    CHECK(f.source.calls == 3);
    e = f.entry();
    CHECK(e.retry_after == f.clock.now() + 1min);
    CHECK(e.stale_after == f.t0() + 40min);
    CHECK(e.generation == 1);
  }

  SUBCASE("the old token is served until it really expires, then a blocking refresh") {
    f.clock.set(f.t0() + 60min - 40s);  // the last instant before EXPIRED (cooldowns in between)
    for (int i = 0; i < 3 && f.get().state == TokenState::stale; ++i) {
      f.executor.run_all();
    }
    CHECK(f.entry().token->access_token == "token-1");
    f.clock.set(f.t0() + 60min - 40s + 1ms);
    f.source.fail = false;
    const auto r = f.get();
    CHECK(r.state == TokenState::expired);
    CHECK(r.token.access_token != "token-1");
    CHECK_FALSE(f.entry().last_error.has_value());
  }
}

ENGINE_CASE("late background success does not overwrite a newer blocking result") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  CHECK(f.get().state == TokenState::stale);
  REQUIRE(f.executor.pending() == 1);

  // The background refresh is inside the token source when the token expires and a blocking
  // refresh stores a newer token, which expires sooner than the late one will (TTL policy
  // changed): the counter, not the expiry, rejects the late result.
  TimePoint blocking_stale_after;
  f.source.during_fetch = [&] {
    f.clock.advance(15min);
    f.source.queued.push_back(make_token("blocking", f.clock.now() + 10min));
    const auto r = f.get();
    CHECK(r.state == TokenState::expired);
    CHECK(r.token.access_token == "blocking");
    CHECK(f.entry().generation == 2);
    blocking_stale_after = *f.entry().stale_after;
    f.source.queued.push_back(make_token("late", f.clock.now() + 24h));  // what the background call returns
  };
  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 3);  // the late one did fetch
  const CacheEntry e = f.entry();
  CHECK(e.token->access_token == "blocking");
  CHECK(e.generation == 2);
  CHECK(e.stale_after == blocking_stale_after);
  CHECK_FALSE(f.background_running());
  CHECK(f.get().token.access_token == "blocking");
}

ENGINE_CASE("late background failure does not push back the newer token's stale_after") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  CHECK(f.get().state == TokenState::stale);
  REQUIRE(f.executor.pending() == 1);

  CacheEntry after_blocking;
  f.source.during_fetch = [&] {
    f.clock.advance(15min);
    const auto r = f.get();  // EXPIRED: blocking, while the background one is still in flight
    CHECK(r.token.access_token == "token-3");
    after_blocking = f.entry();
    REQUIRE(after_blocking.stale_after == f.clock.now() + 40min);
    f.clock.advance(41min);  // the newer token is STALE now...
    f.source.fail = true;    // ...and the background call fails
  };
  CHECK(f.executor.run_all() == 1);
  const CacheEntry e = f.entry();
  CHECK(e.stale_after == after_blocking.stale_after);  // not now + 1 min
  CHECK(e.generation == after_blocking.generation);
  CHECK_FALSE(e.last_error.has_value());
  CHECK(e.token->access_token == "token-3");
  CHECK_FALSE(f.background_running());
  // Still STALE, so the next call starts a new background refresh at once.
  f.source.fail = false;
  CHECK(f.get().state == TokenState::stale);
  CHECK(f.executor.pending() == 1);
}

ENGINE_CASE("a queued background refresh finds the entry refreshed meanwhile and asks nobody") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  CHECK(f.get().state == TokenState::stale);
  REQUIRE(f.executor.pending() == 1);
  f.clock.advance(15min);
  CHECK(f.get().token.access_token == "token-2");  // blocking, before the queued one starts
  f.clock.advance(41min);                            // token-2 is STALE by the time it starts
  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 2);  // the generation moved: nothing fetched, nothing written
  CHECK(f.entry().token->access_token == "token-2");
  CHECK(f.entry().generation == 2);
}

ENGINE_CASE("stale_after is recomputed after a blocking refresh") {
  struct Case {
    Duration first, second, expected;
  };
  for (const Case c : {Case{10min, 60min, 40min}, Case{60min, 10min, 5min}, Case{60min, 90s, 45s}}) {
    CAPTURE(c.first.count());
    CAPTURE(c.second.count());
    Fixture f(Config::on_disk);
    f.source.ttl = c.first;
    f.get();
    f.clock.advance(c.first);  // EXPIRED
    f.source.ttl = c.second;
    const TimePoint now = f.clock.now();
    const auto r = f.get();
    CHECK(r.state == TokenState::expired);
    CHECK(f.entry().stale_after == now + c.expected);
  }
}

ENGINE_CASE("stale_after is recomputed after a forced refresh too") {
  Fixture f(Config::on_disk);
  f.source.ttl = 10min;
  f.get();
  REQUIRE(f.entry().stale_after == f.t0() + 5min);
  f.source.ttl = 60min;
  GetOptions o;
  o.force_refresh = true;
  f.get(o);
  CHECK(f.entry().stale_after == f.t0() + 40min);
}

ENGINE_CASE("stale_after through the engine: the five cases of section 2") {
  struct Case {
    Duration ttl;
    std::optional<Duration> fixed;
    Duration stale_at;
  };
  for (const Case c : {Case{60min, std::nullopt, 40min}, Case{10min, std::nullopt, 5min},
                       Case{90s, std::nullopt, 45s}, Case{60min, 5min, 55min}, Case{10min, 0min, 10min}}) {
    CAPTURE(c.ttl.count());
    EngineSettings s = seed();
    s.stale_window = c.fixed;
    s.expiry_buffer = 0s;  // so that the zero window's token is not EXPIRED before it is STALE
    Fixture f(Config::on_disk, s);
    f.source.ttl = c.ttl;
    f.get();
    CHECK(f.entry().stale_after == f.t0() + c.stale_at);
    f.clock.advance(c.stale_at);
    CHECK(f.get().state == TokenState::fresh);
    f.clock.advance(1ms);
    CHECK(f.get().state == (c.stale_at == c.ttl ? TokenState::expired : TokenState::stale));
  }
}

ENGINE_CASE("a stored token without expiry drops the old stale_after") {
  Fixture f(Config::on_disk);
  f.get();
  REQUIRE(f.entry().stale_after);
  f.source.always = make_token("forever", std::nullopt);
  f.clock.advance(45min);
  f.get();
  f.executor.run_all();
  CHECK(f.entry().token->access_token == "forever");
  CHECK_FALSE(f.entry().stale_after.has_value());
  f.clock.advance(24h * 365);
  CHECK(f.get().state == TokenState::fresh);
  CHECK(f.executor.pending() == 0);
}

ENGINE_CASE("blocking failure: the error reaches the caller and the entry is unchanged") {
  SUBCASE("first fetch") {
    Fixture f(Config::on_disk);
    f.source.fail = true;
    CHECK_THROWS_AS(f.get(), tok::Error);
    const CacheEntry e = f.entry();
    CHECK_FALSE(e.token.has_value());
    CHECK(e.generation == 0);
    CHECK(f.hooks->writes == 0);
  }
  SUBCASE("expired token") {
    Fixture f(Config::on_disk);
    f.get();
    const CacheEntry before = f.entry();
    f.clock.advance(60min);
    f.source.fail = true;
    try {
      f.get();
      FAIL("expected an error");
    } catch (const tok::Error& err) {
      CHECK(err.kind() == tok::ErrorKind::unavailable);
      CHECK(contains(err.what(), "token service unavailable"));
    }
    const CacheEntry e = f.entry();
    CHECK(e.token == before.token);
    CHECK(e.stale_after == before.stale_after);  // no backoff recorded
    CHECK(e.generation == before.generation);
    CHECK_FALSE(e.last_error.has_value());
    CHECK(f.hooks->writes == 1);
    CHECK(f.executor.pending() == 0);
    // The next call tries again (no cooldown for blocking failures), even at the same instant.
    f.source.fail = false;
    CHECK(f.get().token.access_token == "token-3");
    CHECK(f.source.calls == 3);
  }
  SUBCASE("forced refresh of a fresh token") {
    Fixture f(Config::on_disk);
    f.get();
    const CacheEntry before = f.entry();
    f.source.fail = true;
    GetOptions o;
    o.force_refresh = true;
    CHECK_THROWS_AS(f.get(o), tok::Error);
    const CacheEntry e = f.entry();
    CHECK(e.token == before.token);
    CHECK(e.stale_after == before.stale_after);
    CHECK(e.generation == before.generation);
    CHECK(f.get().token.access_token == "token-1");  // still served
  }
}

ENGINE_CASE("--force-refresh always refreshes, blocking") {
  Fixture f(Config::on_disk);
  GetOptions force;
  force.force_refresh = true;
  f.get();
  CHECK(f.get(force).token.access_token == "token-2");  // FRESH
  f.clock.advance(45min);
  const auto r = f.get(force);  // token-2 is STALE at +45: forced means blocking anyway
  CHECK(r.state == TokenState::stale);
  CHECK(r.token.access_token == "token-3");
  CHECK(f.executor.pending() == 0);
  f.source.always = make_token("forever", std::nullopt);
  f.get(force);
  CHECK(f.get(force).token.access_token == "forever");
  CHECK(f.source.calls == 5);
  CHECK(f.entry().generation == 5);
}

ENGINE_CASE("--min-valid makes a fresh but short token refresh blocking, exactly met is not") {
  Fixture f(Config::on_disk);
  f.source.ttl = 10min;
  f.get();
  GetOptions o;
  o.min_valid = 10min - 40s;
  CHECK(f.get(o).state == TokenState::fresh);
  o.min_valid = 15min;
  f.source.ttl = 60min;
  const auto r = f.get(o);
  CHECK(r.state == TokenState::expired);
  CHECK(r.token.access_token == "token-2");
  CHECK(f.source.calls == 2);
  CHECK(f.executor.pending() == 0);
  CHECK(f.get(o).token.access_token == "token-2");  // enough life now: from the cache
  CHECK(f.source.calls == 2);
  CHECK(f.warnings.empty());
}

ENGINE_CASE("the memo round-trips through the source") {
  Fixture f(Config::on_disk);
  int calls = 0;
  f.source.always.reset();
  auto flow = std::make_shared<tok::RefreshFlow>(
      f.on_disk ? std::unique_ptr<tok::EntryStore>(std::make_unique<tok::DiskEntryStore>(f.disk, "memo"))
                : std::unique_ptr<tok::EntryStore>(std::make_unique<tok::MemoryEntryStore>()),
      f.launcher,
      [&](tok::Deadline, tok::ProviderMemo& memo, FetchMode, const Token*) {
        ++calls;
        f.source.memo_seen = memo;
        memo["seen"] = std::to_string(calls);
        return make_token("m" + std::to_string(calls), f.clock.now() + 60min);
      },
      f.settings, f.world, tok::Diagnostics{});
  flow->get();
  CHECK(flow->store().read().entry->memo.at("seen") == "1");
  f.clock.advance(45min);
  flow->get();
  f.executor.run_all();
  CHECK(f.source.memo_seen.at("seen") == "1");
  CHECK(flow->store().read().entry->memo.at("seen") == "2");
}

ENGINE_CASE("a refresh still queued when the engine goes away runs harmlessly") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  f.get();
  REQUIRE(f.executor.pending() == 1);
  f.flow.reset();
  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 2);
  CHECK(f.entry().token->access_token == "token-2");
}

// ---- the edge rules (docs/engine.md, "Bounds") ---------------------------------------------------

ENGINE_CASE("waiters take what the holder committed, even a token shorter than expiry_buffer") {
  Fixture f(Config::on_disk);
  f.source.ttl = 30s;  // the buffer is 40 s: every token is EXPIRED as soon as it is stored
  HookedStore* holder_hooks = nullptr;
  auto holder = f.make_flow(&holder_hooks);
  // Our caller has read the (missing) entry and is about to wait for the lock when the holder
  // gets in first and commits a 30 s token.
  f.hooks->before_hold_refresh = [&] { CHECK(holder->get().token.access_token == "token-1"); };
  const auto r = f.get();
  CHECK(r.state == TokenState::expired);
  CHECK(r.token.access_token == "token-1");
  CHECK(f.source.calls == 1);  // one request for the holder and the waiter
  // Said once: on the holder's side and on ours (both use this fixture's warnings).
  REQUIRE(f.warnings.size() == 2);
  CHECK(contains(f.warnings[1], "lives 30s, less than expiry_buffer (40s)"));

  // A caller that did not wait has nobody to take from: it fetches (and has said it already).
  f.warnings.clear();
  CHECK(f.get().token.access_token == "token-2");
  CHECK(f.get().token.access_token == "token-3");
  CHECK(f.warnings.empty());
}

ENGINE_CASE("a caller's also_expired refreshes a fresh token blocking, and waiters take the holder's result") {
  // What `tok get --id-token` asks (docs/login.md, "ID tokens"): the access token is FRESH, but
  // the ID token that came with it is not. Generation 1's token is "expired" for this caller.
  Fixture f(Config::on_disk);
  f.get();
  GetOptions id;
  id.also_expired = [](const CacheEntry& e, TimePoint) { return e.generation < 2; };
  HookedStore* holder_hooks = nullptr;
  auto holder = f.make_flow(&holder_hooks);
  // Another caller with the same reason gets the lock first and refreshes.
  f.hooks->before_hold_refresh = [&] { CHECK(holder->get(id).token.access_token == "token-2"); };
  const auto r = f.get(id);
  CHECK(r.state == TokenState::expired);
  CHECK(r.token.access_token == "token-2");
  CHECK(f.source.calls == 2);  // one refresh for the holder and the waiter
  CHECK(f.source.modes.at(1) == FetchMode::blocking);
  CHECK(f.entry().generation == 2);
  // Satisfied: a cache hit, as for a caller without the option.
  CHECK(f.get(id).state == TokenState::fresh);
  CHECK(f.get().token.access_token == "token-2");
  CHECK(f.source.calls == 2);
  CHECK(f.executor.pending() == 0);
}

ENGINE_CASE("waiters take what the holder committed, even when --min-valid asks for more") {
  Fixture f(Config::on_disk);
  GetOptions two_hours;
  two_hours.min_valid = 2h;
  HookedStore* holder_hooks = nullptr;
  auto holder = f.make_flow(&holder_hooks);
  f.hooks->before_hold_refresh = [&] { holder->get(two_hours); };
  const auto r = f.get(two_hours);
  CHECK(r.token.access_token == "token-1");
  CHECK(f.source.calls == 1);
  REQUIRE_FALSE(f.warnings.empty());
  CHECK(contains(f.warnings.back(), "--min-valid (2h)"));
}

ENGINE_CASE("waiters do not take a committed token that is already dead") {
  Fixture f(Config::on_disk);
  f.get();
  HookedStore* holder_hooks = nullptr;
  auto holder = f.make_flow(&holder_hooks);
  f.clock.advance(60min);
  f.hooks->before_hold_refresh = [&] {
    f.source.queued.push_back(make_token("already-dead", f.clock.now()));
    holder->get();
  };
  CHECK(f.get().token.access_token == "token-3");
  CHECK(f.source.calls == 3);
}

ENGINE_CASE("waiters share the holder's failure instead of asking again") {
  Fixture f(Config::on_disk);
  f.source.fail = true;
  HookedStore* holder_hooks = nullptr;
  auto holder = f.make_flow(&holder_hooks);
  std::string holder_error;
  f.hooks->before_hold_refresh = [&] {
    try {
      holder->get();
    } catch (const tok::Error& e) {
      holder_error = e.what();
    }
  };
  try {
    f.get();
    FAIL("expected the holder's error");
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::unavailable);
    CHECK(std::string(e.what()) == holder_error);
    CHECK(e.advice() == "check the token service");
  }
  CHECK(f.source.calls == 1);
  CHECK_FALSE(f.entry().token.has_value());
  CHECK(f.hooks->writes == 0);
  // A caller that comes later (it did not wait for that failure) asks again.
  f.source.fail = false;
  CHECK(f.get().token.access_token == "token-2");
}

ENGINE_CASE("a waiter with --force-refresh fetches even after the holder failed") {
  Fixture f(Config::on_disk);
  f.source.fail = true;
  HookedStore* holder_hooks = nullptr;
  auto holder = f.make_flow(&holder_hooks);
  f.hooks->before_hold_refresh = [&] {
    CHECK_THROWS(holder->get());
    f.source.fail = false;
  };
  GetOptions force;
  force.force_refresh = true;
  CHECK(f.get(force).token.access_token == "token-2");
}

ENGINE_CASE("the refresh lock timing out is an error, and nothing is fetched") {
  Fixture f(Config::on_disk);
  f.hooks->refresh_lock_times_out = true;
  try {
    f.get();
    FAIL("expected a timeout");
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::unavailable);
    CHECK(contains(e.what(), "timed out after 1m waiting for another tok process"));
  }
  CHECK(f.source.calls == 0);
}

ENGINE_CASE("a background refresh never shortens a token, a forced one may") {
  Fixture f(Config::on_disk);
  f.get();
  const CacheEntry before = f.entry();
  f.clock.advance(45min);  // 15 min left
  f.source.queued.push_back(make_token("short", f.clock.now() + 30s));
  CHECK(f.get().state == TokenState::stale);
  CHECK(f.executor.run_all() == 1);
  CacheEntry e = f.entry();
  CHECK(e.token == before.token);
  CHECK(e.generation == before.generation);
  CHECK(e.retry_after == f.clock.now() + 1min);  // asked again after the cooldown, not at every call
  CHECK(e.stale_after == before.stale_after);
  CHECK(f.get().token.access_token == "token-1");
  CHECK(f.executor.pending() == 0);

  GetOptions force;
  force.force_refresh = true;
  f.source.queued.push_back(make_token("short", f.clock.now() + 30s));
  CHECK(f.get(force).token.access_token == "short");
  CHECK(f.entry().token->access_token == "short");
}

ENGINE_CASE("no background refresh whose result cannot be kept") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  f.hooks->unwritable_reason = "the file system of the cache directory is full";
  for (int i = 0; i < 3; ++i) {
    const auto r = f.get();
    CHECK(r.state == TokenState::stale);
    CHECK(r.token.access_token == "token-1");
  }
  CHECK(f.executor.pending() == 0);
  CHECK(f.source.calls == 1);

  // Blocking: fetched and printed, with a warning, and not written.
  f.clock.advance(15min);
  const int writes = f.hooks->writes;
  const auto r = f.get();
  CHECK(r.token.access_token == "token-2");
  CHECK(f.hooks->writes == writes);
  REQUIRE_FALSE(f.warnings.empty());
  CHECK(contains(f.warnings.back(), "is full; the new token will not be cached"));
}

ENGINE_CASE("a background refresh started before another's failure was committed stops in its cooldown") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  f.source.fail = true;
  f.get();  // the first background refresh, queued
  // Another process's refresh failed meanwhile: the entry is in its cooldown when ours runs.
  CacheEntry e = f.entry();
  tok::apply_background_failure(e, e.generation, "elsewhere", f.clock.now(), seed());
  f.put(e);
  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 1);  // no attempt inside the cooldown
  f.clock.advance(1min + 1ms);
  f.source.fail = false;
  f.get();
  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 2);  // after it, one
  CHECK_FALSE(f.entry().retry_after.has_value());
}

ENGINE_CASE("a background source that throws anything still records a failure and a cooldown") {
  Fixture f(Config::on_disk);
  f.get();
  f.clock.advance(45min);
  f.source.fail_strangely = true;
  f.get();
  CHECK(f.executor.run_all() == 1);
  const CacheEntry e = f.entry();
  REQUIRE(e.last_error);
  CHECK(contains(e.last_error->message, "unknown error"));
  CHECK(e.retry_after == f.clock.now() + 1min);
  CHECK_FALSE(f.background_running());
}

ENGINE_CASE("expire: the next get fetches, only when the token given is the cached one") {
  Fixture f(Config::on_disk);
  f.get();
  CHECK_FALSE(f.flow->expire("not-the-token"));
  CHECK(f.get().token.access_token == "token-1");
  CHECK(f.flow->expire("token-1"));
  const auto r = f.get();
  CHECK(r.state == TokenState::expired);
  CHECK(r.token.access_token == "token-2");
  CHECK(f.flow->expire());
  CHECK(f.get().token.access_token == "token-3");
}

ENGINE_CASE("clear forgets the entry under the refresh lock") {
  Fixture f(Config::on_disk);
  CHECK_FALSE(f.flow->clear());
  f.get();
  CHECK(f.flow->clear());
  CHECK_FALSE(f.entry().token.has_value());
  CHECK(f.get().token.access_token == "token-2");
}

// ---- fleets and outages (docs/fleet.md) ------------------------------------------------------

namespace {

// The seed, with the failure cache on and still no jitter.
EngineSettings with_failure_cache(Duration d) {
  EngineSettings s = seed();
  s.failure_cache = d;
  return s;
}

// The expired entry of an outage: one token fetched, then the service down and the token gone.
void fetch_then_outage(Fixture& f) {
  f.get();
  f.clock.advance(60min);
  f.source.fail = true;
}

std::string error_of(Fixture& f, GetOptions o = {}) {
  try {
    f.get(o);
  } catch (const tok::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

ENGINE_CASE("an outage's failure answers later callers for failure_cache, without a request") {
  Fixture f(Config::on_disk, with_failure_cache(5s));
  fetch_then_outage(f);
  const CacheEntry before = f.entry();
  const std::string first = error_of(f);
  CHECK(contains(first, "token service unavailable (call 2)"));
  CHECK(f.source.calls == 2);
  // Nine more callers within the window: the same error (kind and advice too), nothing sent.
  for (int i = 0; i < 9; ++i) {
    f.clock.advance(i == 0 ? 0ms : 624ms);  // up to +4.992 s
    try {
      f.get();
      FAIL("expected the kept failure");
    } catch (const tok::Error& e) {
      // The same message, said to be kept: no request was sent for it.
      const std::string what = e.what();
      CHECK(what.rfind(first + " (failed ", 0) == 0);
      CHECK(contains(what, "; not retried until "));
      CHECK(contains(what, "; --force-refresh asks now)"));
      CHECK(e.kind() == tok::ErrorKind::unavailable);
      CHECK(e.advice() == "check the token service");
    }
  }
  CHECK(f.source.calls == 2);
  // A second engine over the same entry (another process, on disk) is answered the same way.
  HookedStore* other_hooks = nullptr;
  auto other = f.make_flow(&other_hooks);
  CHECK_THROWS_AS(other->get(), tok::Error);
  CHECK(f.source.calls == 2);
  // The entry is byte for byte what it was: the failure lives beside it.
  const CacheEntry e = f.entry();
  CHECK(e.token == before.token);
  CHECK(e.stale_after == before.stale_after);
  CHECK(e.generation == before.generation);
  // The window is strict: at +5 s the service is asked again.
  f.clock.set(f.t0() + 60min + 5s);
  CHECK(contains(error_of(f), "(call 3)"));
  CHECK(f.source.calls == 3);
  f.source.fail = false;
  f.clock.advance(5s);
  CHECK(f.get().token.access_token == "token-4");
}

ENGINE_CASE("a refusal is never kept: every call asks again") {
  Fixture f(Config::on_disk, with_failure_cache(5s));
  fetch_then_outage(f);
  f.source.fail_kind = tok::ErrorKind::refused;
  for (int i = 0; i < 3; ++i) {
    try {
      f.get();
      FAIL("expected the refusal");
    } catch (const tok::Error& e) {
      CHECK(e.kind() == tok::ErrorKind::refused);
    }
  }
  CHECK(f.source.calls == 4);
  // The user fixes the secret: the very next call gets a token.
  f.source.fail = false;
  CHECK(f.get().token.access_token == "token-5");
}

ENGINE_CASE("--force-refresh bypasses a kept failure, and a success ends it") {
  Fixture f(Config::on_disk, with_failure_cache(5s));
  fetch_then_outage(f);
  CHECK_THROWS(f.get());
  CHECK_THROWS(f.get());
  CHECK(f.source.calls == 2);
  GetOptions force;
  force.force_refresh = true;
  CHECK_THROWS(f.get(force));
  CHECK(f.source.calls == 3);
  f.source.fail = false;
  CHECK(f.get(force).token.access_token == "token-4");
  // The token lives 60 min: asking for 2 h makes the next get blocking, and it is not answered
  // with the failure that the success ended.
  GetOptions long_one;
  long_one.min_valid = 2h;
  CHECK(f.get(long_one).token.access_token == "token-5");
}

ENGINE_CASE("an unavailability that is no outage (a malformed answer) is never kept") {
  Fixture f(Config::on_disk, with_failure_cache(5s));
  fetch_then_outage(f);
  f.source.malformed = true;
  CHECK_THROWS(f.get());
  CHECK_THROWS(f.get());
  CHECK(f.source.calls == 3);
}

ENGINE_CASE("no failure is kept with failure_cache = 0 (the seed)") {
  Fixture f(Config::on_disk);
  fetch_then_outage(f);
  CHECK_THROWS(f.get());
  CHECK_THROWS(f.get());
  CHECK(f.source.calls == 3);
}

ENGINE_CASE("Retry-After stretches the kept failure, at most to retry_backoff") {
  const std::pair<Duration, Duration> cases[] = {{30s, 30s}, {5min, 60s}, {1s, 5s}};
  for (const auto& [retry_after, kept] : cases) {
    CAPTURE(retry_after.count());
    Fixture f(Config::on_disk, with_failure_cache(5s));  // retry_backoff: 1 min
    f.random.otherwise = 0.0;                            // the window's floor (the next case draws)
    fetch_then_outage(f);
    f.source.retry_after = retry_after;
    const TimePoint failed = f.clock.now();
    CHECK_THROWS(f.get());
    f.clock.set(failed + kept - 1ms);
    CHECK_THROWS(f.get());
    CHECK(f.source.calls == 2);
    f.clock.set(failed + kept);
    CHECK_THROWS(f.get());
    CHECK(f.source.calls == 3);
  }
}

ENGINE_CASE("jitter: stale_after is drawn in the band, stored, and every engine of the entry uses it") {
  EngineSettings s = seed();
  s.refresh_jitter = 0.1;
  Fixture f(Config::on_disk, s);
  f.random.queued = {0.25};
  f.get();  // 60 min token: window 20 min, seed's point +40 min, band [+38 min, +40 min]
  CHECK(f.random.draws == 1);
  const TimePoint drawn = f.t0() + 40min - 30s;  // 0.25 x 0.1 x 20 min
  CHECK(f.entry().stale_after == drawn);
  // Another engine (another process) reads the draw; it draws nothing itself.
  HookedStore* other_hooks = nullptr;
  auto other = f.make_flow(&other_hooks);
  f.clock.set(drawn);
  CHECK(other->get().state == TokenState::fresh);
  f.clock.advance(1ms);
  CHECK(other->get().state == TokenState::stale);
  CHECK(f.random.draws == 1);
  CHECK(f.executor.run_all() == 1);  // the background refresh commits with a new draw
  CHECK(f.random.draws == 2);
  CHECK(f.entry().stale_after == f.clock.now() + 40min - 2min);  // the draw after the queue: 1
}

ENGINE_CASE("jitter: the cooldown after a failed background refresh is retry_backoff x [1, 1 + j]") {
  EngineSettings s = seed();
  s.refresh_jitter = 0.1;
  Fixture f(Config::on_disk, s);
  f.random.queued = {0.0, 0.5};  // the first store at the seed's point, then the cooldown's draw
  f.get();
  CHECK(f.entry().stale_after == f.t0() + 40min);
  f.clock.advance(45min);
  f.source.fail = true;
  f.get();
  CHECK(f.executor.run_all() == 1);
  CHECK(f.entry().retry_after == f.clock.now() + 63s);  // 1 min x 1.05
}

ENGINE_CASE("jitter: the kept failure's window is failure_cache x [1, 1 + j]") {
  EngineSettings s = with_failure_cache(10s);
  s.refresh_jitter = 0.2;
  Fixture f(Config::on_disk, s);
  f.random.queued = {0.0};
  fetch_then_outage(f);
  const TimePoint failed = f.clock.now();
  CHECK_THROWS(f.get());  // draws 1 (otherwise): kept for 12 s
  f.clock.set(failed + 12s - 1ms);
  CHECK_THROWS(f.get());
  CHECK(f.source.calls == 2);
  f.clock.set(failed + 12s);
  CHECK_THROWS(f.get());
  CHECK(f.source.calls == 3);
}

ENGINE_CASE("a Retry-After is a floor: the kept failure ends at a draw from [W, 2W], even with jitter 0") {
  const std::pair<double, Duration> cases[] = {{0.0, 30s}, {0.5, 45s}, {1.0, 60s}, {0.25, 37500ms}};
  for (const auto& [draw, kept] : cases) {
    CAPTURE(draw);
    Fixture f(Config::on_disk, with_failure_cache(5s));  // refresh_jitter 0, retry_backoff 1 min
    fetch_then_outage(f);
    f.source.retry_after = 30s;
    f.random.queued = {draw};
    const TimePoint failed = f.clock.now();
    CHECK_THROWS(f.get());
    CHECK(f.random.draws == 1);  // the world's draw, although refresh_jitter is 0
    f.clock.set(failed + kept - 1ms);
    CHECK_THROWS(f.get());
    CHECK(f.source.calls == 2);
    f.clock.set(failed + kept);
    CHECK_THROWS(f.get());
    CHECK(f.source.calls == 3);
  }
}

ENGINE_CASE("the bench-only switch keeps a Retry-After's failure exactly R, without a draw") {
  Fixture f(Config::on_disk, with_failure_cache(5s));
  f.world.set_env(tok::kBenchExactRetryAfter, "1");
  fetch_then_outage(f);
  f.source.retry_after = 30s;
  const TimePoint failed = f.clock.now();
  CHECK_THROWS(f.get());
  CHECK(f.random.draws == 0);
  f.clock.set(failed + 30s - 1ms);
  CHECK_THROWS(f.get());
  CHECK(f.source.calls == 2);
  f.clock.set(failed + 30s);
  CHECK_THROWS(f.get());
  CHECK(f.source.calls == 3);
}

ENGINE_CASE("jitter 0 is the seed exactly and draws nothing") {
  Fixture f(Config::on_disk);
  f.random.otherwise = 0.7;
  f.get();
  CHECK(f.entry().stale_after == f.t0() + 40min);
  f.clock.advance(45min);
  f.source.fail = true;
  f.get();
  f.executor.run_all();
  CHECK(f.entry().retry_after == f.clock.now() + 1min);
  CHECK(f.random.draws == 0);
}

// ---- a login's refresh token (docs/login.md) --------------------------------------------------

tok::Error get_error(Fixture& f) {
  try {
    f.get();
  } catch (const tok::Error& e) {
    return e;
  }
  FAIL("get() did not fail");
  return tok::Error(tok::ErrorKind::internal, "no error");
}

Token login_token(std::string access, TimePoint expiry, std::string refresh) {
  Token t = make_token(std::move(access), expiry);
  t.fields[tok::kRefreshTokenField] = std::move(refresh);
  return t;
}

ENGINE_CASE("a refresh is given the entry's token: a blocking one and a background one") {
  Fixture f(Config::on_disk);
  f.source.queued.push_back(login_token("a1", f.clock.now() + 60min, "r1"));
  f.get();
  CHECK_FALSE(f.source.current_seen.has_value());  // the first fetch has nothing to renew
  f.source.queued.push_back(login_token("a2", f.clock.now() + 120min, "r2"));
  f.clock.advance(45min);
  CHECK(f.get().token.access_token == "a1");  // STALE: served, refreshed in the background
  REQUIRE(f.executor.run_all() == 1);
  REQUIRE(f.source.current_seen.has_value());
  CHECK(f.source.current_seen->fields.at(tok::kRefreshTokenField) == "r1");
  CHECK(f.entry().token->fields.at(tok::kRefreshTokenField) == "r2");
  f.clock.advance(121min);  // EXPIRED: blocking
  f.source.queued.push_back(login_token("a3", f.clock.now() + 60min, "r3"));
  CHECK(f.get().token.access_token == "a3");
  CHECK(f.source.current_seen->fields.at(tok::kRefreshTokenField) == "r2");
  CHECK(f.entry().token->fields.at(tok::kRefreshTokenField) == "r3");
}

ENGINE_CASE("a background refresh that sends a refresh token holds the refresh lock while it fetches") {
  Fixture f(Config::on_disk);
  f.source.queued.push_back(login_token("a1", f.clock.now() + 60min, "r1"));
  f.get();
  f.clock.advance(45min);
  f.get();
  REQUIRE(f.executor.pending() == 1);
  HookedStore* other = nullptr;
  auto second = f.make_flow(&other);  // another process on the same entry
  bool held = false;
  f.source.during_fetch = [&] { held = other->hold_refresh(f.world.steady_now()) == nullptr; };
  f.executor.run_all();
  CHECK(held);
  CHECK(f.source.calls == 2);
  // Without a refresh token the fetch runs outside the lock (a blocking caller may overtake it).
  Fixture plain(Config::on_disk);
  plain.get();
  plain.clock.advance(45min);
  plain.get();
  HookedStore* plain_other = nullptr;
  auto plain_second = plain.make_flow(&plain_other);
  bool plain_held = true;
  plain.source.during_fetch = [&] { plain_held = plain_other->hold_refresh(plain.world.steady_now()) == nullptr; };
  plain.executor.run_all();
  CHECK_FALSE(plain_held);
}

ENGINE_CASE("a refused refresh token is forgotten: no request ever sends it again") {
  Fixture f(Config::on_disk);
  f.source.queued.push_back(login_token("a1", f.clock.now() + 60min, "r1"));
  f.get();
  f.clock.advance(61min);
  f.source.end_login = true;
  const auto e = get_error(f);
  CHECK(e.kind() == tok::ErrorKind::refused);
  CHECK(e.login_ended());
  REQUIRE(f.entry().token.has_value());
  CHECK(f.entry().token->fields.count(tok::kRefreshTokenField) == 0);
  f.source.end_login = false;
  f.get();  // the provider is asked without a refresh token (and says "not logged in")
  CHECK(f.source.current_seen->fields.count(tok::kRefreshTokenField) == 0);
}

ENGINE_CASE("a refresh token refused in the background: forgotten, the valid token still served") {
  Fixture f(Config::on_disk);
  f.source.queued.push_back(login_token("a1", f.clock.now() + 60min, "r1"));
  f.get();
  f.clock.advance(45min);
  f.source.end_login = true;
  f.get();
  f.executor.run_all();
  CHECK(f.entry().token->access_token == "a1");
  CHECK(f.entry().token->fields.count(tok::kRefreshTokenField) == 0);
  CHECK(f.entry().last_error.has_value());
}

ENGINE_CASE("a refresh token is never sent when its successor could not be kept") {
  Fixture f(Config::on_disk);
  f.source.queued.push_back(login_token("a1", f.clock.now() + 60min, "r1"));
  f.get();
  f.clock.advance(61min);
  f.hooks->unwritable_reason = "read-only file system";
  CHECK(get_error(f).kind() == tok::ErrorKind::storage);
  CHECK(f.source.calls == 1);
}

// ---- a source that changes behind the cache (provider = file; docs/files.md) ------------------

ENGINE_CASE("a source changed behind a fresh token is read again at once, by one caller") {
  Fixture f(Config::on_disk);
  std::string version = "1";
  const auto changed = [&version](const tok::ProviderMemo& memo) {
    const auto it = memo.find("version");
    return it == memo.end() || it->second != version;
  };
  f.flow->set_source_check(changed);
  f.source.memo_writes = {{"version", "1"}};
  CHECK(f.get().token.access_token == "token-1");
  CHECK(f.get().state == TokenState::fresh);
  CHECK(f.source.calls == 1);

  version = "2";  // the file was swapped
  f.source.memo_writes = {{"version", "2"}};
  const auto r = f.get();
  CHECK(r.token.access_token == "token-2");
  CHECK(r.state == TokenState::expired);
  CHECK(f.source.modes.at(1) == FetchMode::blocking);
  CHECK(f.get().token.access_token == "token-2");
  CHECK(f.source.calls == 2);
  CHECK(f.executor.pending() == 0);
  CHECK(f.entry().generation == 2);

  // Another caller read the changed source while we waited for the lock: we take its token.
  version = "3";
  f.source.memo_writes = {{"version", "3"}};
  HookedStore* other_hooks = nullptr;
  auto other = f.make_flow(&other_hooks);
  other->set_source_check(changed);
  f.hooks->before_hold_refresh = [&] { CHECK(other->get().token.access_token == "token-3"); };
  CHECK(f.get().token.access_token == "token-3");
  CHECK(f.source.calls == 3);
}

ENGINE_CASE("without a source check a hit never asks the source") {
  Fixture f(Config::on_disk);
  f.source.memo_writes = {{"version", "1"}};
  f.get();
  f.source.memo_writes = {{"version", "2"}};
  CHECK(f.get().token.access_token == "token-1");
  CHECK(f.source.calls == 1);
}

}  // TEST_SUITE

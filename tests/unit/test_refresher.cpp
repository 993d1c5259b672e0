// The in-process Refresher (spec/refresh-engine.md 6a), with a fake token source, a FakeClock
// and a ManualExecutor: background work runs only when the test calls run_all().
#include <doctest/doctest.h>

#include <deque>
#include <string>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/refresher.hpp"

using namespace std::chrono_literals;
using tok::CacheEntry;
using tok::Duration;
using tok::EngineSettings;
using tok::FakeClock;
using tok::GetOptions;
using tok::ManualExecutor;
using tok::Refresher;
using tok::TimePoint;
using tok::Token;
using tok::TokenState;

namespace {

// A token source that counts its calls. By default each call returns "token-N" expiring `ttl`
// after the fake clock's time; queued tokens or failures are used first.
struct FakeSource {
  const FakeClock* clock = nullptr;
  Duration ttl = 60min;
  int calls = 0;
  bool fail = false;                 // throw Error(unavailable) on every call
  std::deque<Token> queued;          // returned (in order) before falling back to the default
  std::optional<Token> always;       // returned on every call when set
  tok::ProviderMemo memo_seen;

  Token next(tok::ProviderMemo& memo) {
    ++calls;
    memo_seen = memo;
    if (fail) throw tok::Error(tok::ErrorKind::unavailable, "token service unavailable (call " + std::to_string(calls) + ")");
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

struct Fixture {
  FakeClock clock;
  ManualExecutor executor;
  FakeSource source;
  EngineSettings settings;
  std::unique_ptr<Refresher> refresher;

  explicit Fixture(EngineSettings s = {}) : settings(s) {
    source.clock = &clock;
    make();
  }
  void make() {
    refresher = std::make_unique<Refresher>(
        [this](tok::Deadline, tok::ProviderMemo& memo) { return source.next(memo); }, settings, clock, executor);
  }
  TimePoint t0() const { return start; }
  TimePoint start = clock.now();

  tok::GetResult get(GetOptions o = {}) { return refresher->get(o); }
  CacheEntry entry() const { return refresher->snapshot(); }
};

}  // namespace

TEST_SUITE("refresher") {

TEST_CASE("no token: the first get refreshes blocking") {
  Fixture f;
  const auto r = f.get();
  CHECK(f.source.calls == 1);
  CHECK(r.state == TokenState::expired);
  CHECK(r.token.access_token == "token-1");
  CHECK(f.executor.pending() == 0);
  const CacheEntry e = f.entry();
  CHECK(e.generation == 1);
  CHECK(e.token == r.token);
  CHECK(e.stale_after == f.t0() + 40min);
}

TEST_CASE("no token refreshes blocking with async off too") {
  EngineSettings s;
  s.async_refresh = false;
  Fixture f(s);
  const auto r = f.get();
  CHECK(f.source.calls == 1);
  CHECK(r.state == TokenState::expired);
  CHECK(f.executor.pending() == 0);
}

TEST_CASE("fresh does not refresh") {
  Fixture f;
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
  CHECK_FALSE(f.refresher->background_refresh_running());
}

TEST_CASE("a token without expiry never refreshes") {
  Fixture f;
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

TEST_CASE("stale does not refresh with async off") {
  EngineSettings s;
  s.async_refresh = false;
  Fixture f(s);
  f.get();
  f.clock.advance(45min);  // STALE: past +40 min, before 60 min - 40 s
  const auto r = f.get();
  CHECK(r.state == TokenState::stale);
  CHECK(r.token.access_token == "token-1");
  CHECK(f.executor.pending() == 0);
  CHECK(f.executor.run_all() == 0);
  CHECK(f.source.calls == 1);
}

TEST_CASE("stale does not refresh with --no-async (allow_async = false)") {
  Fixture f;
  f.get();
  f.clock.advance(45min);
  GetOptions o;
  o.allow_async = false;
  const auto r = f.get(o);
  CHECK(r.state == TokenState::stale);
  CHECK(r.token.access_token == "token-1");
  CHECK(f.executor.pending() == 0);
  CHECK(f.source.calls == 1);
}

TEST_CASE("expired refreshes blocking, async on and off") {
  for (bool async : {true, false}) {
    CAPTURE(async);
    EngineSettings s;
    s.async_refresh = async;
    Fixture f(s);
    f.get();
    f.clock.advance(59min + 21s);  // 60 min - 40 s + 1 s: EXPIRED
    const auto r = f.get();
    CHECK(r.state == TokenState::expired);
    CHECK(r.token.access_token == "token-2");
    CHECK(f.source.calls == 2);
    CHECK(f.executor.pending() == 0);
    CHECK(f.entry().generation == 2);
    CHECK(f.entry().stale_after == f.clock.now() + 20min + 20min);
  }
}

TEST_CASE("stale refreshes in the background and the next call sees the new token") {
  Fixture f;
  f.get();
  f.clock.advance(45min);
  const auto r = f.get();
  CHECK(r.state == TokenState::stale);
  CHECK(r.token.access_token == "token-1");  // answered at once with the old token
  CHECK(f.source.calls == 1);                // nothing fetched before the executor runs
  CHECK(f.executor.pending() == 1);
  CHECK(f.refresher->background_refresh_running());

  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 2);
  CHECK_FALSE(f.refresher->background_refresh_running());
  const CacheEntry e = f.entry();
  CHECK(e.generation == 2);
  CHECK(e.token->access_token == "token-2");
  CHECK(e.stale_after == f.clock.now() + 40min);

  const auto next = f.get();
  CHECK(next.state == TokenState::fresh);
  CHECK(next.token.access_token == "token-2");
  CHECK(f.executor.pending() == 0);
}

TEST_CASE("two stale calls submit one refresh (single flight)") {
  Fixture f;
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

TEST_CASE("background failure: cooldown without refreshes, then one retry that succeeds") {
  Fixture f;
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
  CHECK(e.stale_after == failed_at + 1min);
  REQUIRE(e.last_error);
  CHECK(e.last_error->message.find("token service unavailable") != std::string::npos);
  CHECK(e.last_error->at == failed_at);
  CHECK_FALSE(f.refresher->background_refresh_running());

  SUBCASE("repeated calls during the cooldown do not refresh") {
    for (int i = 0; i < 6; ++i) {
      const auto r = f.get();
      CHECK(r.state == TokenState::fresh);
      CHECK(r.token.access_token == "token-1");
      f.clock.advance(10s);  // ends exactly at failed_at + 1 min, still FRESH
    }
    CHECK(f.clock.now() == failed_at + 1min);
    CHECK(f.get().state == TokenState::fresh);
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
    CHECK(f.get().token.access_token == "token-3");
  }

  SUBCASE("a call after the cooldown that fails again backs off again") {
    f.clock.advance(1min + 1ms);
    CHECK(f.get().state == TokenState::stale);
    CHECK(f.executor.run_all() == 1);
    CHECK(f.source.calls == 3);
    e = f.entry();
    CHECK(e.stale_after == f.clock.now() + 1min);
    CHECK(e.generation == 1);
  }

  SUBCASE("the old token is served until it really expires, then a blocking refresh") {
    f.clock.set(f.t0() + 60min - 40s);  // the last instant before EXPIRED (cooldowns in between)
    while (f.get().state == TokenState::stale) {
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

TEST_CASE("late background success does not overwrite a newer blocking result") {
  Fixture f;
  f.get();
  f.clock.advance(45min);
  CHECK(f.get().state == TokenState::stale);
  REQUIRE(f.executor.pending() == 1);  // submitted, not run

  // The token expires while the background refresh is still queued: a blocking refresh stores a
  // newer token, which expires sooner than the late one will (the TTL policy changed).
  f.clock.advance(15min);
  f.source.queued.push_back(make_token("blocking", f.clock.now() + 10min));
  f.source.queued.push_back(make_token("late", f.clock.now() + 24h));
  const auto r = f.get();
  CHECK(r.state == TokenState::expired);
  CHECK(r.token.access_token == "blocking");
  const CacheEntry after_blocking = f.entry();
  CHECK(after_blocking.generation == 2);

  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 3);  // the late one did fetch
  const CacheEntry e = f.entry();
  CHECK(e.token->access_token == "blocking");
  CHECK(e.generation == 2);
  CHECK(e.stale_after == after_blocking.stale_after);
  CHECK_FALSE(f.refresher->background_refresh_running());
  CHECK(f.get().token.access_token == "blocking");
}

TEST_CASE("late background failure does not push back the newer token's stale_after") {
  Fixture f;
  f.get();
  f.clock.advance(45min);
  CHECK(f.get().state == TokenState::stale);
  REQUIRE(f.executor.pending() == 1);

  f.clock.advance(15min);
  const auto r = f.get();  // EXPIRED: blocking; the queued background refresh has not run yet
  CHECK(r.token.access_token == "token-2");
  const CacheEntry after_blocking = f.entry();
  REQUIRE(after_blocking.stale_after == f.clock.now() + 40min);

  f.clock.advance(41min);  // the newer token is STALE now...
  f.source.fail = true;
  CHECK(f.executor.run_all() == 1);  // ...and the late failure lands
  const CacheEntry e = f.entry();
  CHECK(e.stale_after == after_blocking.stale_after);  // not now + 1 min
  CHECK(e.generation == after_blocking.generation);
  CHECK_FALSE(e.last_error.has_value());
  CHECK(e.token->access_token == "token-2");
  CHECK_FALSE(f.refresher->background_refresh_running());
  // Still STALE, so the next call starts a new background refresh at once.
  f.source.fail = false;
  CHECK(f.get().state == TokenState::stale);
  CHECK(f.executor.pending() == 1);
}

TEST_CASE("stale_after is recomputed after a blocking refresh") {
  struct Case {
    Duration first, second, expected;
  };
  for (const Case c : {Case{10min, 60min, 40min}, Case{60min, 10min, 5min}, Case{60min, 90s, 45s}}) {
    CAPTURE(c.first.count());
    CAPTURE(c.second.count());
    Fixture f;
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

TEST_CASE("stale_after is recomputed after a forced refresh too") {
  Fixture f;
  f.source.ttl = 10min;
  f.get();
  REQUIRE(f.entry().stale_after == f.t0() + 5min);
  f.source.ttl = 60min;
  GetOptions o;
  o.force_refresh = true;
  f.get(o);
  CHECK(f.entry().stale_after == f.t0() + 40min);
}

TEST_CASE("stale_after with a fixed window") {
  EngineSettings s;
  s.stale_window = 5min;
  Fixture f(s);
  f.get();
  CHECK(f.entry().stale_after == f.t0() + 55min);
  f.clock.advance(55min);
  CHECK(f.get().state == TokenState::fresh);
  f.clock.advance(1ms);
  CHECK(f.get().state == TokenState::stale);
  CHECK(f.executor.pending() == 1);
}

TEST_CASE("a stored token without expiry drops the old stale_after") {
  Fixture f;
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

TEST_CASE("blocking failure: the error reaches the caller and the entry is unchanged") {
  SUBCASE("first fetch") {
    Fixture f;
    f.source.fail = true;
    CHECK_THROWS_AS(f.get(), tok::Error);
    const CacheEntry e = f.entry();
    CHECK_FALSE(e.token.has_value());
    CHECK(e.generation == 0);
    CHECK_FALSE(e.stale_after.has_value());
    CHECK_FALSE(e.last_error.has_value());
  }
  SUBCASE("expired token") {
    Fixture f;
    f.get();
    const CacheEntry before = f.entry();
    f.clock.advance(60min);
    f.source.fail = true;
    try {
      f.get();
      FAIL("expected an error");
    } catch (const tok::Error& err) {
      CHECK(err.kind() == tok::ErrorKind::unavailable);
      CHECK(std::string(err.what()).find("token service unavailable") != std::string::npos);
    }
    const CacheEntry e = f.entry();
    CHECK(e.token == before.token);
    CHECK(e.stale_after == before.stale_after);  // no backoff recorded
    CHECK(e.generation == before.generation);
    CHECK_FALSE(e.last_error.has_value());
    CHECK(f.executor.pending() == 0);
    // The next call tries again (no cooldown for blocking failures).
    f.source.fail = false;
    CHECK(f.get().token.access_token == "token-3");
    CHECK(f.source.calls == 3);
  }
  SUBCASE("forced refresh of a fresh token") {
    Fixture f;
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

TEST_CASE("--force-refresh always refreshes, blocking") {
  Fixture f;
  GetOptions force;
  force.force_refresh = true;
  f.get();
  CHECK(f.get(force).token.access_token == "token-2");  // FRESH
  f.clock.advance(45min);
  const auto r = f.get(force);  // token-2 is STALE at +45: forced means blocking anyway
  CHECK(r.token.access_token == "token-3");
  CHECK(f.executor.pending() == 0);
  f.source.always = make_token("forever", std::nullopt);
  f.get(force);
  CHECK(f.get(force).token.access_token == "forever");
  CHECK(f.source.calls == 5);
  CHECK(f.entry().generation == 5);
}

TEST_CASE("--force-refresh on a STALE token refreshes blocking, not in the background") {
  Fixture f;
  f.get();
  f.clock.advance(45min);
  GetOptions force;
  force.force_refresh = true;
  const auto r = f.get(force);
  CHECK(r.state == TokenState::stale);
  CHECK(r.token.access_token == "token-2");
  CHECK(f.executor.pending() == 0);
}

TEST_CASE("--min-valid makes a fresh but short token refresh blocking") {
  Fixture f;
  f.source.ttl = 10min;
  f.get();
  GetOptions o;
  o.min_valid = 15min;
  f.source.ttl = 60min;
  const auto r = f.get(o);
  CHECK(r.state == TokenState::expired);
  CHECK(r.token.access_token == "token-2");
  CHECK(f.source.calls == 2);
  CHECK(f.executor.pending() == 0);
  // The new one has enough life: served from the cache.
  CHECK(f.get(o).token.access_token == "token-2");
  CHECK(f.source.calls == 2);
}

TEST_CASE("--min-valid exactly met is not a refresh") {
  Fixture f;
  f.source.ttl = 10min;
  f.get();
  GetOptions o;
  o.min_valid = 10min - 40s;
  CHECK(f.get(o).state == TokenState::fresh);
  o.min_valid += 1ms;
  CHECK(f.get(o).state == TokenState::expired);
  CHECK(f.source.calls == 2);
}

TEST_CASE("the memo round-trips through the source") {
  Fixture f;
  auto calls = std::make_shared<int>(0);
  f.refresher = std::make_unique<Refresher>(
      [&f, calls](tok::Deadline, tok::ProviderMemo& memo) {
        ++*calls;
        f.source.memo_seen = memo;
        memo["seen"] = std::to_string(*calls);
        return make_token("m" + std::to_string(*calls), f.clock.now() + 60min);
      },
      f.settings, f.clock, f.executor);
  f.get();
  CHECK(f.entry().memo.at("seen") == "1");
  f.clock.advance(45min);
  f.get();
  f.executor.run_all();
  CHECK(f.source.memo_seen.at("seen") == "1");
  CHECK(f.entry().memo.at("seen") == "2");
}

TEST_CASE("a refresh still queued when the Refresher goes away runs harmlessly") {
  Fixture f;
  f.get();
  f.clock.advance(45min);
  f.get();
  REQUIRE(f.executor.pending() == 1);
  f.refresher.reset();
  CHECK(f.executor.run_all() == 1);
  CHECK(f.source.calls == 2);
}

}  // TEST_SUITE

// A login's ID token (cli/id_token): when it calls for a refresh, by the access token's rules
// computed from its own iat and exp (docs/login.md, "ID tokens"), and what is handed out.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/id_token.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"
#include "providers/jws.hpp"

using namespace std::chrono_literals;

namespace {

const tok::TimePoint kNow = *tok::instant_from_epoch_seconds(2'000'000'000);

std::string jwt(std::int64_t iat, std::int64_t exp) {
  return tok::base64url_encode(R"({"alg":"RS256"})") + "." +
         tok::base64url_encode(fmt::format(R"({{"iss":"i","aud":"cli","iat":{},"exp":{}}})", iat, exp)) + ".c2ln";
}

tok::CacheEntry entry(const std::string& id_token, bool kept = false) {
  tok::Token t;
  t.access_token = "at";
  t.expiry = kNow + 1h;  // the access token is fresh throughout
  if (!id_token.empty()) t.fields[tok::kIdTokenField] = id_token;
  if (kept) t.fields[tok::kIdTokenKeptField] = "1";
  tok::CacheEntry e;
  e.token = t;
  e.stale_after = kNow + 30min;
  return e;
}

tok::EngineSettings settings() {
  tok::EngineSettings s;
  s.refresh_jitter = 0;
  return s;
}

bool needs(const tok::CacheEntry& e, tok::Duration min_valid = tok::Duration{0}) {
  return tok::id_token_needs_refresh(e, kNow, settings(), min_valid);
}

}  // namespace

TEST_SUITE("id_token") {
  TEST_CASE("fresh, stale and expired by its own iat and exp") {
    const std::int64_t now = 2'000'000'000;
    CHECK_FALSE(needs(entry(jwt(now, now + 3600))));       // stale at +40 min (20 min window)
    CHECK(needs(entry(jwt(now - 2500, now + 1100))));      // 1 h life: stale after exp - 20 min
    CHECK_FALSE(needs(entry(jwt(now - 100, now + 140))));  // 4 min life: stale 2 min before exp
    CHECK(needs(entry(jwt(now - 200, now + 100))));        // 5 min life: past its half
    CHECK(needs(entry(jwt(now, now + 39))));               // within the 40 s buffer
    CHECK_FALSE(needs(entry(jwt(now, now + 40))));         // strict: at the boundary, not yet
    CHECK(needs(entry(jwt(now, now + 600)), 10min));       // --min-valid widens EXPIRED
  }

  TEST_CASE("kept across a refresh that brought none: only its expiry counts") {
    const std::int64_t now = 2'000'000'000;
    CHECK_FALSE(needs(entry(jwt(now - 200, now + 100), true)));
    CHECK(needs(entry(jwt(now - 200, now + 30), true)));
  }

  TEST_CASE("none, or not a b64token: nothing to refresh for, and a usage error to hand out") {
    CHECK_FALSE(needs(entry("")));
    CHECK_FALSE(needs(entry("a b.c")));
    CHECK_FALSE(tok::id_token_of(entry("a\nb").token.value()).has_value());
    std::vector<std::string> warnings;
    const auto warn = [&](const std::string& m) { warnings.push_back(m); };
    try {
      tok::require_id_token(*entry("").token, kNow, "me", settings(), warn);
      FAIL("no error");
    } catch (const tok::Error& e) {
      CHECK(e.kind() == tok::ErrorKind::usage);
      CHECK(std::string(e.what()) == "profile 'me' has no ID token: its provider returned none");
    }
  }

  TEST_CASE("handed out: past its exp refused, within the buffer with a warning") {
    const std::int64_t now = 2'000'000'000;
    std::vector<std::string> warnings;
    const auto warn = [&](const std::string& m) { warnings.push_back(m); };
    const auto good = tok::require_id_token(*entry(jwt(now, now + 3600)).token, kNow, "me", settings(), warn);
    CHECK(good.expiry == kNow + 3600s);
    CHECK(warnings.empty());
    tok::require_id_token(*entry(jwt(now - 300, now + 10), true).token, kNow, "me", settings(), warn);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("expires in 10s") != std::string::npos);
    try {
      tok::require_id_token(*entry(jwt(now - 300, now), true).token, kNow, "me", settings(), warn);
      FAIL("no error");
    } catch (const tok::Error& e) {
      CHECK(e.kind() == tok::ErrorKind::refused);
    }
  }

  TEST_CASE("without a readable exp it lives as its access token") {
    const auto id = tok::id_token_of(*entry("opaque-id-token").token);
    REQUIRE(id.has_value());
    CHECK(id->expiry == kNow + 1h);
    CHECK_FALSE(id->issued_at.has_value());
  }

}  // TEST_SUITE

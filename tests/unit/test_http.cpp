// providers/http: Retry-After, URL rules, encodings, body quoting and the retry loop (with a
// fake transport, on a fake world: recorded, never real, sleeps and queued draws).
#include <doctest/doctest.h>

#include <ctime>
#include <deque>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "fakes.hpp"
#include "providers/http.hpp"
#include "providers/url.hpp"

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using tok::HttpRequest;
using tok::HttpResponse;
using tok::HttpResult;
using tok::TransportFailure;

namespace {

// "Sun, 06 Nov 1994 08:49:37 GMT", the RFC 9110 example.
const tok::TimePoint kDateNow = std::chrono::system_clock::from_time_t(784111777);
// The injected clock: Retry-After dates are measured against it, never the system clock.
tok::FakeClock kClock{kDateNow};

using FakeTransport = tok_test::ScriptedTransport;

HttpResult status(long code, std::string body = {}, std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResult r;
  r.response.status = code;
  r.response.body = std::move(body);
  r.response.headers = std::move(headers);
  return r;
}

HttpResult failure(TransportFailure f, std::string error) {
  HttpResult r;
  r.failure = f;
  r.error = std::move(error);
  return r;
}

// A retry test's fake world: its wall clock at kDateNow (Retry-After dates are measured on it),
// its sleeps recorded (they step its clocks), its draws 1.0 unless the test queues others.
struct Recorder {
  tok_test::FakeWorld world;
  std::vector<milliseconds>& sleeps = world.sleeps;
  std::deque<double>& draws = world.random_source.queued;
  Recorder() { world.wall.set(kDateNow); }
  tok::RetryPolicy policy(int max_attempts = 5) const {
    tok::RetryPolicy p;
    p.max_attempts = max_attempts;
    p.first_backoff = 250ms;
    p.max_backoff = 8000ms;
    return p;
  }
  tok::Deadline far_deadline() const { return world.steady_now() + 1h; }
  milliseconds slept() const { return world.slept(); }
};

HttpRequest post() {
  HttpRequest r;
  r.method = "POST";
  r.url = "https://login.example.com/token";
  r.body = "grant_type=client_credentials";
  return r;
}

}  // namespace

TEST_SUITE("http") {

TEST_CASE("parse_retry_after: delay in seconds") {
  CHECK(tok::parse_retry_after("0", kDateNow) == milliseconds(0));
  CHECK(tok::parse_retry_after("1", kDateNow) == milliseconds(1000));
  CHECK(tok::parse_retry_after("120", kDateNow) == milliseconds(120'000));
  CHECK(tok::parse_retry_after("  5 ", kDateNow) == milliseconds(5000));
  CHECK(tok::parse_retry_after("999999", kDateNow) == milliseconds(999'999'000));
  // More digits than any sensible wait: "not within any deadline", never an overflow.
  const auto huge = tok::parse_retry_after("99999999999999999999999", kDateNow);
  REQUIRE(huge.has_value());
  CHECK(*huge >= milliseconds(24h));
}

TEST_CASE("parse_retry_after: HTTP date") {
  CHECK(tok::parse_retry_after("Sun, 06 Nov 1994 08:51:07 GMT", kDateNow) == milliseconds(90'000));
  CHECK(tok::parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", kDateNow) == milliseconds(24h));
  CHECK(tok::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kDateNow) == milliseconds(0));  // now
  CHECK(tok::parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", kDateNow) == milliseconds(0));  // past
  CHECK(tok::parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", kDateNow) == milliseconds(0));
  // Sub-second "now" is measured exactly.
  CHECK(tok::parse_retry_after("Sun, 06 Nov 1994 08:49:38 GMT", kDateNow + 250ms) == milliseconds(750));
}

TEST_CASE("parse_retry_after: a date the clock cannot hold is unreadable, not an overflow") {
  CHECK_FALSE(tok::parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", kDateNow).has_value());
}

TEST_CASE("parse_retry_after: garbage is nullopt") {
  for (const char* bad : {"", "   ", "soon", "-5", "+5", "1.5", "5s", "0x10", "Sun, 06 Nov 1994 08:49:37 PST",
                          "Sun, 06 Nov 1994 08:49:37 GMT trailing", "06 Nov 1994 08:49:37", "Sunday, 06-Nov-94"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(tok::parse_retry_after(bad, kDateNow).has_value());
  }
}

TEST_CASE("is_loopback_host") {
  for (const char* yes : {"127.0.0.1", "127.1.2.3", "127.255.255.255", "127.0.0.0", "localhost", "LOCALHOST",
                          "[::1]"}) {
    CAPTURE(std::string(yes));
    CHECK(tok::is_loopback_host(yes));
  }
  for (const char* no : {"", "10.0.0.1", "128.0.0.1", "126.0.0.1", "127.0.0", "127.0.0.1.1", "127.256.0.1",
                         "127.0.0.1.evil.com", "127.0.0.", ".127.0.0.1", "127..0.1", "0177.0.0.1", "0x7f.0.0.1",
                         "localhost.evil.com", "evil-localhost", "[::2]", "::1", "[::ffff:10.0.0.1]",
                         "example.com", "127.0.0.1 "}) {
    CAPTURE(std::string(no));
    CHECK_FALSE(tok::is_loopback_host(no));
  }
}

TEST_CASE("url_host") {
  CHECK(tok::url_host("https://login.example.com/token") == "login.example.com");
  CHECK(tok::url_host("http://127.0.0.1:8080/token?x=1") == "127.0.0.1");
  CHECK(tok::url_host("http://[::1]:8080/") == "[::1]");
  CHECK(tok::url_host("http://user:pw@evil.com/") == "evil.com");
  CHECK(tok::url_host("http://evil.com#@127.0.0.1/") == "evil.com");
  CHECK(tok::url_host("no-scheme") == "");
}

TEST_CASE("check_url: https anywhere, plain http only to loopback") {
  for (const char* ok : {"https://login.example.com/token", "https://10.0.0.1/token", "HTTPS://Example.COM/x",
                         "https://example.com:8443", "http://127.0.0.1/token", "http://127.0.0.1:8080/token",
                         "http://127.1.2.3/x", "http://localhost/token", "http://localhost:9000",
                         "http://[::1]:8080/token", "http://[::1]/", "HTTP://LOCALHOST/x",
                         "http://user@127.0.0.1/x"}) {
    CAPTURE(std::string(ok));
    CHECK_FALSE(tok::check_url(ok).has_value());
  }
  for (const char* bad : {"http://10.0.0.1/token", "http://example.com/token", "http://127.0.0.1.evil.com/token",
                          "http://localhost.evil.com/", "http://127.0.0.1@evil.com/token",
                          "http://evil.com#@127.0.0.1/", "ftp://127.0.0.1/token", "ftp://example.com/x",
                          "file:///etc/passwd", "127.0.0.1/token", "login.example.com", "", "http://", "https://",
                          "https:///path", "javascript:alert(1)", "http://[::2]/"}) {
    CAPTURE(std::string(bad));
    const auto problem = tok::check_url(bad);
    CHECK(problem.has_value());
  }
  const auto problem = tok::check_url("http://example.com/token");
  REQUIRE(problem);
  CHECK(problem->find("https") != std::string::npos);
}

TEST_CASE("redacted_url: a user info's password, and only that, is hidden") {
  CHECK(tok::redacted_url("https://alice:pw@host.example/token?x=1") ==
        "https://alice:[redacted]@host.example/token?x=1");
  CHECK(tok::redacted_url("https://:pw@host/") == "https://:[redacted]@host/");
  CHECK(tok::redacted_url("https://a:b:c@d@host:8443") == "https://a:[redacted]@host:8443");  // the last '@'
  CHECK(tok::redacted_url("http://alice@127.0.0.1/x") == "http://alice@127.0.0.1/x");         // a user name only
  CHECK(tok::redacted_url("https://host/a:b@c") == "https://host/a:b@c");                     // '@' past the authority
  CHECK(tok::redacted_url("https://host.example/token") == "https://host.example/token");
  CHECK(tok::redacted_url("not a url: x:y@z") == "not a url: x:y@z");
  // check_url's messages show the URL so.
  const auto problem = tok::check_url("http://alice:pw-secret@example.com/token");
  REQUIRE(problem);
  CHECK(problem->find("pw-secret") == std::string::npos);
  CHECK(problem->find("alice:[redacted]@example.com") != std::string::npos);
}

TEST_CASE("form_encode: RFC 3986 percent-encoding") {
  CHECK(tok::form_encode("") == "");
  CHECK(tok::form_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(tok::form_encode(" ") == "%20");
  CHECK(tok::form_encode("+") == "%2B");
  CHECK(tok::form_encode(":") == "%3A");
  CHECK(tok::form_encode("a b+c:d") == "a%20b%2Bc%3Ad");
  CHECK(tok::form_encode("api:read api:write") == "api%3Aread%20api%3Awrite");
  CHECK(tok::form_encode("&=?/#%") == "%26%3D%3F%2F%23%25");
  CHECK(tok::form_encode("é") == "%C3%A9");  // UTF-8 bytes, upper-case hex
  CHECK(tok::form_encode("€") == "%E2%82%AC");
  CHECK(tok::form_encode(std::string("\0\n\x7f\xff", 4)) == "%00%0A%7F%FF");
  CHECK(tok::form_encode("!*'()") == "%21%2A%27%28%29");
}

TEST_CASE("base64_encode: RFC 4648 test vectors") {
  CHECK(tok::base64_encode("") == "");
  CHECK(tok::base64_encode("f") == "Zg==");
  CHECK(tok::base64_encode("fo") == "Zm8=");
  CHECK(tok::base64_encode("foo") == "Zm9v");
  CHECK(tok::base64_encode("foob") == "Zm9vYg==");
  CHECK(tok::base64_encode("fooba") == "Zm9vYmE=");
  CHECK(tok::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(tok::base64_encode(std::string("\xff\xfe\xfd\x00", 4)) == "//79AA==");
  CHECK(tok::base64_encode(std::string("\xfb\xff", 2)) == "+/8=");
  // RFC 6749 2.3.1 / RFC 7617 example shape: id:secret.
  CHECK(tok::base64_encode("Aladdin:open sesame") == "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_CASE("quote_body: short error bodies stay readable") {
  const std::string body = R"({"error":"invalid_client","error_description":"Client authentication failed"})";
  CHECK(tok::quote_body(body) == body);
  CHECK(tok::quote_body("") == "");
  CHECK(tok::quote_body("line1\nline2\r\tx") == "line1 line2  x");
  CHECK(tok::quote_body(std::string("a\x01z", 3)) == "a?z");
}

TEST_CASE("quote_body: redacts tokens") {
  const std::string token40 = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd";
  REQUIRE(token40.size() == 40);
  const std::string q = tok::quote_body(R"({"access_token":")" + token40 + R"(","token_type":"Bearer"})");
  CHECK(q.find(token40) == std::string::npos);
  CHECK(q.find(token40.substr(0, 8)) == std::string::npos);
  CHECK(q.find("[redacted]") != std::string::npos);
  CHECK(q.find("access_token") != std::string::npos);
  CHECK(q.find("Bearer") != std::string::npos);

  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  const std::string qj = tok::quote_body("Authorization failed for " + jwt + " (invalid_client)");
  CHECK(qj.find("eyJ") == std::string::npos);
  CHECK(qj.find("SflKx") == std::string::npos);
  CHECK(qj.find("[redacted]") != std::string::npos);
  CHECK(qj.find("invalid_client") != std::string::npos);
  CHECK(qj.find("Authorization failed for") != std::string::npos);
}

TEST_CASE("quote_body: at most the first 200 characters") {
  std::string body;
  while (body.size() < 1000) body += "ab ";
  const std::string q = tok::quote_body(body);
  CHECK(q.size() == 203);
  CHECK(q.substr(0, 200) == body.substr(0, 200));
  CHECK(q.substr(200) == "...");
  CHECK(tok::quote_body(body.substr(0, 200)) == body.substr(0, 200));  // exactly 200: no ellipsis

  // A token straddling the cut is redacted as a whole, not cut to a visible prefix.
  const std::string token = "ZZZZZZZZZZ0123456789abcdefghijklmnopqrstuv";
  const std::string straddle = body.substr(0, 195) + token + " tail";
  const std::string qs = tok::quote_body(straddle);
  CHECK(qs.find("ZZZZZ") == std::string::npos);
  CHECK(qs.find("[redacted]") != std::string::npos);
  CHECK(qs.size() <= 200 + std::string("[redacted]...").size());
}

TEST_CASE("HttpResponse::header is case-insensitive") {
  HttpResponse r;
  r.headers = {{"retry-after", "7"}, {"content-type", "application/json"}};
  CHECK(r.header("Retry-After") == std::optional<std::string>("7"));
  CHECK(r.header("CONTENT-TYPE") == std::optional<std::string>("application/json"));
  CHECK_FALSE(r.header("x-missing").has_value());
}

TEST_CASE("send_with_retries: 503 then 200") {
  FakeTransport t;
  t.script = {status(503), status(200, "ok")};
  Recorder rec;
  rec.draws = {0.5};
  const auto r = tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(), "fetching");
  CHECK(r.status == 200);
  CHECK(r.body == "ok");
  CHECK(t.requests.size() == 2);
  REQUIRE(rec.sleeps.size() == 1);
  CHECK(rec.sleeps[0] == 125ms);  // full jitter: the draw x the first backoff
  // The request goes out unchanged each time, with the per-request timeout.
  for (const auto& req : t.requests) {
    CHECK(req.method == "POST");
    CHECK(req.url == "https://login.example.com/token");
    CHECK(req.body == "grant_type=client_credentials");
    CHECK(req.timeout == 30s);
  }
}

TEST_CASE("send_with_retries: 408, 429, 500, 502, 504 are retried") {
  for (long code : {408L, 429L, 500L, 502L, 504L}) {
    CAPTURE(code);
    FakeTransport t;
    t.script = {status(code), status(200)};
    Recorder rec;
    CHECK(tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(), "x").status == 200);
    CHECK(t.requests.size() == 2);
  }
}

TEST_CASE("send_with_retries: a Retry-After in seconds is a floor: the wait is drawn from [R, 2R]") {
  for (const auto& [draw, wait] : {std::pair{0.0, 1000ms}, {0.5, 1500ms}, {1.0, 2000ms}, {0.123, 1123ms}}) {
    CAPTURE(draw);
    FakeTransport t;
    t.script = {status(503, "", {{"retry-after", "1"}}), status(200)};
    Recorder rec;
    rec.draws = {draw};
    CHECK(tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(), "x").status == 200);
    REQUIRE(rec.sleeps.size() == 1);
    CHECK(rec.sleeps[0] == wait);
    CHECK(rec.world.random_source.draws == 1);
  }
}

TEST_CASE("send_with_retries: the Retry-After window is capped by what the deadline leaves, never below R") {
  // R = 2 s, 4 s left: the wait may run to 4 s less the attempt's reserve (min(http_timeout, 1 s)).
  {
    FakeTransport t;
    t.script = {status(429, "", {{"Retry-After", "2"}}), status(200)};
    Recorder rec;
    rec.draws = {1.0};
    CHECK(tok::send_with_retries(t, rec.world, post(), rec.world.steady_now() + 4s, 30s, rec.policy(), "x").status ==
          200);
    REQUIRE(rec.sleeps.size() == 1);
    CHECK(rec.sleeps[0] == 3000ms);
  }
  // 2.5 s left: R itself still fits, and is what it waits, whatever the draw.
  {
    FakeTransport t;
    t.script = {status(429, "", {{"Retry-After", "2"}}), status(200)};
    Recorder rec;
    rec.draws = {1.0};
    CHECK(
        tok::send_with_retries(t, rec.world, post(), rec.world.steady_now() + 2500ms, 30s, rec.policy(), "x").status ==
        200);
    REQUIRE(rec.sleeps.size() == 1);
    CHECK(rec.sleeps[0] == 2000ms);
  }
}

TEST_CASE("send_with_retries: the bench-only exact policy waits a Retry-After exactly, without a draw") {
  FakeTransport t;
  t.script = {status(429, "", {{"Retry-After", "2"}}), status(200)};
  Recorder rec;
  tok::RetryPolicy p = rec.policy();
  p.exact_retry_after = true;
  CHECK(tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, p, "x").status == 200);
  REQUIRE(rec.sleeps.size() == 1);
  CHECK(rec.sleeps[0] == 2000ms);
  CHECK(rec.world.random_source.draws == 0);
}

TEST_CASE("retry_policy: $TOK_BENCH_EXACT_RETRY_AFTER, read from the world, selects the exact policy") {
  tok_test::FakeWorld world;
  tok::ProviderDeps deps;
  deps.world = &world;
  CHECK_FALSE(deps.retry_policy(tok::FetchMode::blocking).exact_retry_after);
  world.set_env(tok::kBenchExactRetryAfter, "0");
  CHECK_FALSE(deps.retry_policy(tok::FetchMode::blocking).exact_retry_after);
  world.set_env(tok::kBenchExactRetryAfter, "1");
  CHECK(deps.retry_policy(tok::FetchMode::blocking).exact_retry_after);
}

TEST_CASE("backoff_wait and retry_after_wait: the draws' arithmetic") {
  CHECK(tok::backoff_wait(250ms, 8s, 0, 0.0) == 0ms);  // full jitter: may be no wait at all
  CHECK(tok::backoff_wait(250ms, 8s, 0, 1.0) == 250ms);
  CHECK(tok::backoff_wait(250ms, 8s, 3, 0.5) == 1000ms);  // [0, 2 s]
  CHECK(tok::backoff_wait(250ms, 8s, 10, 1.0) == 8s);     // capped
  CHECK(tok::backoff_wait(250ms, 8s, 1000, 0.25) == 2s);  // no overflow however many retries
  CHECK(tok::backoff_wait(250ms, 8s, 2, 7.0) == 0ms);     // a draw outside [0, 1] counts as 0
  CHECK(tok::retry_after_wait(2s, 60s, 1s, 0.0) == std::optional<milliseconds>(2s));
  CHECK(tok::retry_after_wait(2s, 60s, 1s, 0.75) == std::optional<milliseconds>(3500ms));
  CHECK(tok::retry_after_wait(2s, 60s, 1s, 1.0) == std::optional<milliseconds>(4s));
  CHECK(tok::retry_after_wait(2s, 60s, 1s, 0.75, true) == std::optional<milliseconds>(2s));
  CHECK(tok::retry_after_wait(2s, 2s, 1s, 0.0) == std::nullopt);  // R does not fit
  CHECK(tok::retry_after_wait(0s, 60s, 1s, 1.0) == std::optional<milliseconds>(0s));
}

TEST_CASE("send_with_retries: a Retry-After date is measured with the injected clock") {
  FakeTransport t;
  t.script = {status(503, "", {{"retry-after", "Sun, 06 Nov 1994 08:49:42 GMT"}}), status(200)};
  Recorder rec;
  rec.draws = {0.0};
  CHECK(tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(), "x").status == 200);
  REQUIRE(rec.sleeps.size() == 1);
  CHECK(rec.sleeps[0] == 5000ms);  // 08:49:37 on the fake clock; draw 0: the floor
}

TEST_CASE("send_with_retries: honours a 429's Retry-After, header name in any case") {
  FakeTransport t;
  t.script = {status(429, "", {{"Retry-After", "3"}}), status(200)};
  Recorder rec;
  rec.draws = {0.0};
  CHECK(tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(), "x").status == 200);
  REQUIRE(rec.sleeps.size() == 1);
  CHECK(rec.sleeps[0] == 3000ms);
}

TEST_CASE("send_with_retries: gives up after max_attempts and returns the last 503") {
  FakeTransport t;
  for (int i = 1; i <= 5; ++i) t.script.push_back(status(503, "attempt " + std::to_string(i)));
  t.script.push_back(status(200, "never reached"));
  Recorder rec;
  rec.draws = {0.0, 0.5, 1.0, 0.25};
  const auto r = tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(5), "x");
  CHECK(r.status == 503);
  CHECK(r.body == "attempt 5");
  CHECK(t.requests.size() == 5);
  // Exponential backoff with full jitter: the n-th wait is the draw x 250 ms x 2^n.
  CHECK(rec.sleeps == std::vector<milliseconds>{0ms, 250ms, 1000ms, 500ms});
  CHECK(rec.world.random_source.draws == 4);
}

TEST_CASE("send_with_retries: backoff is capped at max_backoff") {
  FakeTransport t;
  t.script = {status(500)};
  Recorder rec;
  tok::RetryPolicy p = rec.policy(10);
  p.max_backoff = 1000ms;
  tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, p, "x");
  CHECK(t.requests.size() == 10);
  // Draws of 1: each wait is its step's bound, 250, 500, then 1000 ms from there on.
  CHECK(rec.sleeps == std::vector<milliseconds>{250ms, 500ms, 1000ms, 1000ms, 1000ms, 1000ms, 1000ms, 1000ms, 1000ms});
}

TEST_CASE("send_with_retries: no retry on 2xx, 3xx and 4xx other than 408/429") {
  for (long code : {200L, 204L, 302L, 400L, 401L, 403L, 404L}) {
    CAPTURE(code);
    FakeTransport t;
    t.script = {status(code, "body"), status(200)};
    Recorder rec;
    const auto r = tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(), "x");
    CHECK(r.status == code);
    CHECK(t.requests.size() == 1);
    CHECK(rec.sleeps.empty());
  }
}

TEST_CASE("send_with_retries: connection failures are retried") {
  FakeTransport t;
  t.script = {failure(TransportFailure::connect, "connection refused"),
              failure(TransportFailure::timeout, "timed out"),
              failure(TransportFailure::transfer, "reset"), status(200, "ok")};
  Recorder rec;
  CHECK(tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(), "x").body == "ok");
  CHECK(t.requests.size() == 4);
  CHECK(rec.sleeps.size() == 3);
}

TEST_CASE("send_with_retries: connection failures until exhausted throw Error(unavailable)") {
  FakeTransport t;
  t.script = {failure(TransportFailure::connect, "connection refused")};
  Recorder rec;
  try {
    tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(3), "fetching a token from U");
    FAIL("expected an error");
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::unavailable);
    CHECK(std::string(e.what()).find("fetching a token from U") != std::string::npos);
    CHECK(std::string(e.what()).find("connection refused") != std::string::npos);
    CHECK(e.outage());  // the engine keeps it for failure_cache
  }
  CHECK(t.requests.size() == 3);
  CHECK(rec.sleeps.size() == 2);
}

TEST_CASE("send_with_retries: too_large, tls and other failures are not retried") {
  for (auto f : {TransportFailure::too_large, TransportFailure::tls, TransportFailure::other}) {
    FakeTransport t;
    t.script = {failure(f, "nope"), status(200)};
    Recorder rec;
    try {
      tok::send_with_retries(t, rec.world, post(), rec.far_deadline(), 30s, rec.policy(), "x");
      FAIL("expected an error");
    } catch (const tok::Error& e) {
      CHECK_FALSE(e.outage());  // a local problem, not the service's outage: never kept
    }
    CHECK(t.requests.size() == 1);
    CHECK(rec.sleeps.empty());
  }
}

TEST_CASE("outage_if_so: 408, 429 and 5xx unavailability is an outage, with the server's Retry-After") {
  const auto unavailable = [] { return tok::Error(tok::ErrorKind::unavailable, "down"); };
  const auto e503 = tok::outage_if_so(unavailable(), status(503, "", {{"Retry-After", "7"}}).response, kClock.now());
  CHECK(e503.outage());
  CHECK(e503.retry_after() == std::optional<milliseconds>(7s));
  for (long code : {408L, 429L, 500L, 502L}) {
    CAPTURE(code);
    const auto e = tok::outage_if_so(unavailable(), status(code).response, kClock.now());
    CHECK(e.outage());
    CHECK_FALSE(e.retry_after().has_value());
  }
  CHECK_FALSE(tok::outage_if_so(unavailable(), status(404).response, kClock.now()).outage());
  CHECK_FALSE(tok::outage_if_so(unavailable(), status(302).response, kClock.now()).outage());
  // A refusal stays a refusal, whatever the status says.
  CHECK_FALSE(
      tok::outage_if_so(tok::Error(tok::ErrorKind::refused, "no"), status(503).response, kClock.now()).outage());
}

TEST_CASE("send_with_retries: a Retry-After beyond the deadline returns at once without sleeping") {
  FakeTransport t;
  t.script = {status(503, "busy", {{"retry-after", "3600"}}), status(200)};
  Recorder rec;
  const auto deadline = rec.world.steady_now() + 5s;
  const auto r = tok::send_with_retries(t, rec.world, post(), deadline, 30s, rec.policy(), "x");
  CHECK(r.status == 503);
  CHECK(r.body == "busy");
  CHECK(t.requests.size() == 1);
  CHECK(rec.sleeps.empty());
}

TEST_CASE("send_with_retries: a connection failure whose backoff crosses the deadline throws at once") {
  FakeTransport t;
  t.script = {failure(TransportFailure::connect, "refused"), status(200)};
  Recorder rec;
  tok::RetryPolicy p = rec.policy();
  p.first_backoff = 1h;
  p.max_backoff = 2h;
  CHECK_THROWS_AS(tok::send_with_retries(t, rec.world, post(), rec.world.steady_now() + 10s, 30s, p, "x"), tok::Error);
  CHECK(t.requests.size() == 1);
  CHECK(rec.sleeps.empty());
}

TEST_CASE("send_with_retries: the per-request timeout never exceeds the time left") {
  FakeTransport t;
  t.script = {status(200)};
  Recorder rec;
  tok::send_with_retries(t, rec.world, post(), rec.world.steady_now() + 10s, 30s, rec.policy(), "x");
  REQUIRE(t.requests.size() == 1);
  CHECK(t.requests[0].timeout <= 10s);
  CHECK(t.requests[0].timeout > 0ms);
}

TEST_CASE("send_with_retries: a deadline already passed throws without sending") {
  FakeTransport t;
  t.script = {status(200)};
  Recorder rec;
  try {
    tok::send_with_retries(t, rec.world, post(), rec.world.steady_now() - 1s, 30s, rec.policy(), "fetching X");
    FAIL("expected an error");
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::unavailable);
    CHECK(std::string(e.what()) == "fetching X: refresh_timeout ran out");
  }
  CHECK(t.requests.empty());
  // With the key's value known (the CLI passes it in), the message says it.
  tok::RetryPolicy policy = rec.policy();
  policy.refresh_timeout = 90s;
  try {
    tok::send_with_retries(t, rec.world, post(), rec.world.steady_now() - 1s, 30s, policy, "fetching X");
    FAIL("expected an error");
  } catch (const tok::Error& e) {
    CHECK(std::string(e.what()) == "fetching X: refresh_timeout (1m30s) ran out");
  }
}

// The persistence tests wait minutes on the fake world: they run at once and see exactly the
// time they waited.
using VirtualTime = Recorder;

TEST_CASE("send_with_retries: a retry_status predicate replaces the default statuses") {
  FakeTransport t;
  t.script = {status(404), status(200)};
  VirtualTime vt;
  tok::RetryPolicy p = vt.policy();
  CHECK(tok::send_with_retries(t, vt.world, post(), vt.world.steady_now() + 1h, 30s, p, "x").status ==
        404);  // default: final
  t.script = {status(404), status(200)};
  t.requests.clear();
  p.retry_status = [](long code) { return code == 404; };
  CHECK(tok::send_with_retries(t, vt.world, post(), vt.world.steady_now() + 1h, 30s, p, "x").status == 200);
  CHECK(t.requests.size() == 2);
  t.script = {status(503), status(200)};
  CHECK(tok::send_with_retries(t, vt.world, post(), vt.world.steady_now() + 1h, 30s, p, "x").status ==
        503);  // not in it
}

TEST_CASE("send_with_retries: a persistent status is retried past max_attempts for at least persist_for") {
  FakeTransport t;
  t.script = {status(410)};
  VirtualTime vt;
  tok::RetryPolicy p = vt.policy();
  p.retry_status = [](long code) { return code == 410; };
  p.persistent_status = 410;
  p.persist_for = 70s;
  const auto r = tok::send_with_retries(t, vt.world, post(), vt.world.steady_now() + 1h, 30s, p, "x");
  CHECK(r.status == 410);
  CHECK(vt.slept() >= 70s);
  CHECK(vt.slept() < 70s + p.max_backoff);  // and stops once it has
  CHECK(t.requests.size() > 5);
  CHECK(t.requests.size() == vt.sleeps.size() + 1);
}

TEST_CASE("send_with_retries: a persistent status that clears is answered") {
  FakeTransport t;
  t.script = {status(410), status(410), status(410), status(410), status(410), status(410), status(410), status(200)};
  VirtualTime vt;
  tok::RetryPolicy p = vt.policy();
  p.retry_status = [](long code) { return code == 410; };
  p.persistent_status = 410;
  p.persist_for = 70s;
  CHECK(tok::send_with_retries(t, vt.world, post(), vt.world.steady_now() + 1h, 30s, p, "x").status == 200);
  CHECK(t.requests.size() == 8);
}

TEST_CASE("send_with_retries: persisting never crosses the deadline") {
  FakeTransport t;
  t.script = {status(410)};
  VirtualTime vt;
  tok::RetryPolicy p = vt.policy();
  p.retry_status = [](long code) { return code == 410; };
  p.persistent_status = 410;
  p.persist_for = 70s;
  const auto deadline = vt.world.steady_now() + 30s;
  CHECK(tok::send_with_retries(t, vt.world, post(), deadline, 30s, p, "x").status == 410);
  CHECK(vt.world.steady_now() < deadline);
  CHECK(vt.slept() < 30s);
  CHECK(vt.slept() > 10s);  // but uses the time it has
}

TEST_CASE("send_with_retries: with one attempt nothing persists") {
  FakeTransport t;
  t.script = {status(410), status(200)};
  VirtualTime vt;
  tok::RetryPolicy p = vt.policy();
  p.max_attempts = 1;
  p.retry_status = [](long code) { return code == 410; };
  p.persistent_status = 410;
  p.persist_for = 70s;
  CHECK(tok::send_with_retries(t, vt.world, post(), vt.world.steady_now() + 1h, 30s, p, "x").status == 410);
  CHECK(t.requests.size() == 1);
  CHECK(vt.sleeps.empty());
}

TEST_CASE("quote_body: a known secret is removed exactly, raw, form-encoded and JSON-escaped") {
  const std::string secret = "pa ss\"w/rd";  // short, with characters each encoding changes
  const std::vector<std::string> secrets = {secret};
  CHECK(tok::quote_body("bad secret pa ss\"w/rd here", secrets) == "bad secret [redacted] here");
  CHECK(tok::quote_body("form pa%20ss%22w%2Frd", secrets) == "form [redacted]");
  CHECK(tok::quote_body(R"({"e":"pa ss\"w/rd"})", secrets) == R"({"e":"[redacted]"})");
  // A form decoder that writes spaces as '+', and a JSON encoder that escapes slashes (PHP).
  CHECK(tok::quote_body("form pa+ss%22w%2Frd", secrets) == "form [redacted]");
  CHECK(tok::quote_body(R"({"e":"pa ss\"w\/rd"})", secrets) == R"({"e":"[redacted]"})");
  // Short tokens, and tokens split by characters the token-like heuristic stops at.
  CHECK(tok::quote_body(R"({"access_token":"ab|cd","expires_in":"x"})", {"ab|cd"}) ==
        R"({"access_token":"[redacted]","expires_in":"x"})");
  CHECK(tok::quote_body(R"({"access_token":"ab\/cd"})", {"ab/cd"}) == R"({"access_token":"[redacted]"})");
  // However the server encoded it: %7E for '~', lowercase hex, \u escapes.
  CHECK(tok::quote_body("s=pa%20ss%22w%2frd", secrets) == "s=[redacted]");
  CHECK(tok::redact_known("k=a%7Eb&x=1", {"a~b"}) == "k=[redacted]&x=1");
  CHECK(tok::redact_known(R"({"d":"p\u0061ss"})", {"pass"}) == R"({"d":"[redacted]"})");
  CHECK(tok::redact_known("pass and p%61ss and pa\u0073s", {"pass"}) == "[redacted] and [redacted] and [redacted]");
  CHECK(tok::quote_body("nothing here", secrets) == "nothing here");
  CHECK(tok::quote_body("x", {std::string()}) == "x");
}

// A Latin-1 error page, or a cut in the middle of a character, reached JSON encoders as it was
// (the cache entry's last error, tok serve's error answers), which throw on it.
TEST_CASE("quote_body and printable: UTF-8 whatever the bytes, no C1 controls") {
  CHECK(tok::quote_body("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
  CHECK(tok::quote_body("caf\xe9 d\xe9j\xe0") == "caf? d?j?");
  CHECK(tok::printable("caf\xe9") == "caf?");
  CHECK(tok::printable("\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xff") == "?? ??? ???? ?");  // overlong, surrogate, > U+10FFFF
  CHECK(tok::printable("a\xc2\x9b" "31mb\xc2\x85z") == "a?31mb?z");  // CSI and NEL
  CHECK(tok::quote_body("a\x7f") == "a?");
  // Cut at 200 bytes in the middle of a character.
  const std::string body = std::string(199, 'x') + " \xc3\xa9\xc3\xa9";
  for (const std::string& q : {tok::quote_body(body), tok::printable(body)}) {
    CHECK(q == std::string(199, 'x') + " ...");
  }
  const std::string cut = std::string(198, 'x') + " \xe2\x82\xac";
  CHECK(tok::printable(cut) == std::string(198, 'x') + " ?...");
  CHECK(tok::quote_body(cut) == std::string(198, 'x') + " ?...");
}

TEST_CASE("printable: one line, readable, bounded") {
  CHECK(tok::printable("https://example.cloud.databricks.com/token") == "https://example.cloud.databricks.com/token");
  CHECK(tok::printable("a\nb\rc\x7f") == "a?b?c?");
  CHECK(tok::printable(std::string(300, 'x')) == std::string(200, 'x') + "...");
}

}  // TEST_SUITE

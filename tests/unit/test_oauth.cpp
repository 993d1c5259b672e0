// providers/oauth through a scripted transport: the request on the wire, discovery and its memo,
// RFC 6749 errors, retries (waited on a fake sleeper) and the single background attempt.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "fakes.hpp"
#include "providers/http.hpp"
#include "providers/provider.hpp"

using namespace std::chrono_literals;
using tok::ErrorKind;
using tok::FetchMode;
using tok_test::contains;
using tok_test::error_from;

namespace {

const std::string kSecret = "s3cr:t+/=&? \"quoted\" ~secret";
const std::string kToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLXZhbHVl";
const std::string kGood = R"({"access_token":")" + kToken + R"(","token_type":"Bearer","expires_in":3600})";

struct OAuthFixture {
  tok_test::EnvGuard secret{"TOK_CLIENT_SECRET", kSecret};
  tok_test::ScriptedTransport http;
  tok_test::FakeSleeper sleeper;
  tok::FakeClock clock;
  tok::ProviderMemo memo;

  tok::ProviderDeps deps() {
    tok::ProviderDeps d;
    d.http = &http;
    d.clock = &clock;
    d.sleeper = &sleeper;
    return d;
  }

  tok::Token fetch(tok_test::Settings values, FetchMode mode = FetchMode::blocking) {
    values.emplace("provider", "oauth");
    auto provider = tok::make_provider(tok::ProviderSettings(values), deps());
    return provider->fetch(sleeper.now() + 60s, memo, mode);
  }
};

}  // namespace

TEST_SUITE("oauth") {

TEST_CASE_FIXTURE(OAuthFixture, "basic auth: id and secret form-encoded before base64, scopes space-joined") {
  http.answer(200, kGood);
  const auto token = fetch({{"token_url", "https://login.example.com/oauth2/token"},
                            {"client_id", "ci:deploy/+ %"},
                            {"scopes", "api:read, api:write"},
                            {"audience", "aud 1"},
                            {"resource", "https://r.example/"}});
  CHECK(token.access_token == kToken);
  CHECK(token.expiry == clock.now() + 3600s);
  REQUIRE(http.requests.size() == 1);
  const auto& r = http.requests[0];
  CHECK(r.method == "POST");
  CHECK(r.url == "https://login.example.com/oauth2/token");
  CHECK(r.body ==
        "grant_type=client_credentials&scope=api%3Aread%20api%3Awrite&audience=aud%201&resource=https%3A%2F%2Fr."
        "example%2F");
  CHECK(http.header("Authorization") ==
        "Basic " + tok::base64_encode(tok::form_encode("ci:deploy/+ %") + ":" + tok::form_encode(kSecret)));
  CHECK(http.header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK_FALSE(contains(r.url, "s3cr"));
}

TEST_CASE_FIXTURE(OAuthFixture, "post auth: id and secret in the form, no Authorization header") {
  http.answer(200, kGood);
  fetch({{"token_url", "https://login.example.com/t"}, {"client_id", "ci"}, {"auth_method", "post"}});
  CHECK(http.requests[0].body ==
        "grant_type=client_credentials&client_id=ci&client_secret=" + tok::form_encode(kSecret));
  CHECK_FALSE(http.header("Authorization").has_value());
}

TEST_CASE_FIXTURE(OAuthFixture, "discovery: openid-configuration, then RFC 8414, the endpoint is kept in the memo") {
  http.answer(404, "no")
      .answer(200, R"({"issuer":"https://id.example","token_endpoint":"https://id.example/token"})")
      .answer(200, kGood);
  fetch({{"issuer", "https://id.example/"}, {"client_id", "ci"}});
  REQUIRE(http.requests.size() == 3);
  CHECK(http.requests[0].url == "https://id.example/.well-known/openid-configuration");
  CHECK(http.requests[0].method == "GET");
  CHECK(http.requests[1].url == "https://id.example/.well-known/oauth-authorization-server");
  CHECK(http.requests[2].url == "https://id.example/token");
  CHECK(memo["token_endpoint"] == "https://id.example/token");
  // Next time the memo answers: no discovery request.
  fetch({{"issuer", "https://id.example/"}, {"client_id", "ci"}});
  CHECK(http.requests.size() == 4);
  CHECK(http.requests[3].url == "https://id.example/token");
}

TEST_CASE_FIXTURE(OAuthFixture, "discovery: a plain-http endpoint to another host is refused") {
  http.answer(200, R"({"token_endpoint":"http://evil.example/token"})");
  const auto e = error_from([&] { fetch({{"issuer", "https://id.example"}, {"client_id", "ci"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "not loopback"));
  CHECK(http.requests.size() == 1);
}

TEST_CASE_FIXTURE(OAuthFixture, "RFC 6749 errors: refused with the code, the description and advice") {
  http.answer(400, R"({"error":"invalid_client","error_description":"bad secret"})");
  const auto e = error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(contains(e.what(), "invalid_client: bad secret"));
  CHECK(contains(e.advice(), "$TOK_CLIENT_SECRET"));
  CHECK(http.requests.size() == 1);  // never retried
}

TEST_CASE_FIXTURE(OAuthFixture, "temporarily_unavailable is unavailable, not refused") {
  http.answer(400, R"({"error":"temporarily_unavailable"})");
  CHECK(error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); }).kind() ==
        ErrorKind::unavailable);
}

TEST_CASE_FIXTURE(OAuthFixture, "a server that echoes the secret never gets it into the message") {
  nlohmann::json echo = {{"error", "invalid_client"}, {"error_description", "secret " + kSecret + " is wrong"}};
  http.answer(401, echo.dump());
  auto e = error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); });
  CHECK(contains(e.what(), "invalid_client"));
  CHECK(contains(e.what(), "is wrong"));
  CHECK_FALSE(contains(e.what(), "s3cr:t"));
  http.script.clear();
  http.answer(500, "<html>" + tok::form_encode(kSecret) + "</html>");
  e = error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); });
  CHECK_FALSE(contains(e.what(), "s3cr%3At"));
}

TEST_CASE_FIXTURE(OAuthFixture, "401 and 403 without a JSON error are refused") {
  for (long status : {401L, 403L}) {
    CAPTURE(status);
    http.script.clear();
    http.answer(status, "nope");
    const auto e = error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); });
    CHECK(e.kind() == ErrorKind::refused);
    CHECK(contains(e.what(), "HTTP " + std::to_string(status)));
  }
}

TEST_CASE_FIXTURE(OAuthFixture, "5xx is retried with backoff on the sleeper, then unavailable") {
  http.answer(503, "busy");
  const auto e = error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "HTTP 503"));
  CHECK(http.requests.size() == 5);
  CHECK(sleeper.sleeps.size() == 4);
}

TEST_CASE_FIXTURE(OAuthFixture, "in the background: one attempt, no sleeping") {
  http.answer(503, "busy").answer(200, kGood);
  const auto e = error_from(
      [&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}, FetchMode::background); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(http.requests.size() == 1);
  CHECK(sleeper.sleeps.empty());
}

TEST_CASE_FIXTURE(OAuthFixture, "a redirect is refused and not followed") {
  http.answer(302, "", {{"location", "https://evil.example/steal"}});
  const auto e = error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "redirect refused"));
  CHECK(http.requests.size() == 1);
}

TEST_CASE_FIXTURE(OAuthFixture, "a malformed 200 is unavailable and never shows the token") {
  http.answer(200, R"({"access_token":")" + kToken + R"(","expires_in":-5})");
  const auto e = error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "malformed response"));
  CHECK_FALSE(contains(e.what(), kToken.substr(0, 16)));
}

TEST_CASE("settings: token_url or issuer, one of them") {
  tok_test::ScriptedTransport http;
  const auto make = [&](tok_test::Settings v) {
    v.emplace("provider", "oauth");
    tok::ProviderDeps deps;
    deps.http = &http;
    return tok::make_provider(tok::ProviderSettings(v), deps);
  };
  CHECK(error_from([&] { make({{"client_id", "c"}}); }).kind() == ErrorKind::usage);
  CHECK(error_from([&] { make({{"client_id", "c"}, {"token_url", "https://a/t"}, {"issuer", "https://a"}}); })
            .kind() == ErrorKind::usage);
  CHECK(error_from([&] { make({{"token_url", "https://a/t"}}); }).kind() == ErrorKind::usage);
  CHECK(error_from([&] { make({{"client_id", "c"}, {"token_url", "http://a.example/t"}}); }).kind() ==
        ErrorKind::usage);
  CHECK(http.requests.empty());  // building a provider does no I/O
}

}  // TEST_SUITE

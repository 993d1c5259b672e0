// providers/oauth through a scripted transport: the request on the wire, discovery and its memo,
// RFC 6749 errors, retries (waited on a fake world) and the single background attempt.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands/login_callback.hpp"
#include "fakes.hpp"
#include "providers/http.hpp"
#include "providers/jws.hpp"
#include "providers/oauth.hpp"
#include "providers/oauth_documents.hpp"
#include "providers/provider.hpp"
#include "providers/token_response.hpp"

using namespace std::chrono_literals;
using tok::ErrorKind;
using tok::FetchMode;
using tok_test::contains;
using tok_test::error_from;
using tok_test::with_refresh_token;

namespace {

const std::string kSecret = "s3cr:t+/=&? \"quoted\" ~secret";
const std::string kToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLXZhbHVl";
const std::string kGood = R"({"access_token":")" + kToken + R"(","token_type":"Bearer","expires_in":3600})";

struct OAuthFixture {
  tok_test::FakeWorld world;
  tok_test::EnvGuard secret{world, "TOK_CLIENT_SECRET", kSecret};
  tok_test::ScriptedTransport http;
  tok::FakeClock& clock = world.wall;
  tok::ProviderMemo memo;

  tok::ProviderDeps deps() {
    tok::ProviderDeps d;
    d.http = &http;
    d.world = &world;
    return d;
  }

  // A login profile: a public client at an issuer whose metadata the memo already holds.
  tok_test::Settings login(std::string grant = "device_code") {
    memo = {{"issuer", "https://id.example"},
            {"token_endpoint", "https://id.example/token"},
            {"device_authorization_endpoint", "https://id.example/device/auth"},
            {"revocation_endpoint", "https://id.example/token/revocation"}};
    return {{"provider", "oauth"}, {"issuer", "https://id.example"}, {"client_id", "cli"}, {"grant", grant}};
  }
  tok::Token refresh(tok_test::Settings values, const tok::Token& current) {
    values.emplace("provider", "oauth");
    auto provider = tok::make_provider(tok::ProviderSettings(values), deps());
    return provider->refresh(world.steady_now() + 60s, memo, FetchMode::blocking, current);
  }
  std::unique_ptr<tok::OAuthLogin> login_flow(tok_test::Settings values) {
    auto d = deps();
    d.profile = "me";
    return tok::OAuthLogin::from_settings(tok::ProviderSettings(values), d);
  }

  tok::Token fetch(tok_test::Settings values, FetchMode mode = FetchMode::blocking) {
    values.emplace("provider", "oauth");
    auto provider = tok::make_provider(tok::ProviderSettings(values), deps());
    return provider->fetch(world.steady_now() + 60s, memo, mode);
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
      .answer(200, R"({"issuer":"https://id.example/","token_endpoint":"https://id.example/token"})")
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
  http.answer(200, R"({"issuer":"https://id.example","token_endpoint":"http://evil.example/token"})");
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

TEST_CASE_FIXTURE(OAuthFixture, "5xx is retried with backoff on the fake world, then unavailable") {
  http.answer(503, "busy");
  const auto e = error_from([&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "HTTP 503"));
  CHECK(http.requests.size() == 5);
  CHECK(world.sleeps.size() == 4);
}

TEST_CASE_FIXTURE(OAuthFixture, "in the background: one attempt, no sleeping") {
  http.answer(503, "busy").answer(200, kGood);
  const auto e = error_from(
      [&] { fetch({{"token_url", "https://l.example/t"}, {"client_id", "ci"}}, FetchMode::background); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(http.requests.size() == 1);
  CHECK(world.sleeps.empty());
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

// ---- a person's login (docs/login.md) ------------------------------------------------------------

TEST_CASE_FIXTURE(OAuthFixture, "a login refreshes with its refresh token, as a public client, and keeps the new one") {
  http.answer(200, R"({"access_token":"a2","token_type":"Bearer","expires_in":3600,"refresh_token":"r2"})");
  const auto token = refresh(login(), with_refresh_token("r1 /+"));
  REQUIRE(http.requests.size() == 1);
  CHECK(http.requests[0].url == "https://id.example/token");
  CHECK(http.requests[0].body == "grant_type=refresh_token&refresh_token=r1%20%2F%2B&client_id=cli");
  CHECK_FALSE(http.header("Authorization").has_value());
  CHECK(token.access_token == "a2");
  CHECK(token.fields.at(tok::kRefreshTokenField) == "r2");
}

TEST_CASE_FIXTURE(OAuthFixture, "an answer without a new refresh token keeps the old one") {
  http.answer(200, R"({"access_token":"a2","token_type":"Bearer","expires_in":3600})");
  CHECK(refresh(login(), with_refresh_token("r1")).fields.at(tok::kRefreshTokenField) == "r1");
}

TEST_CASE_FIXTURE(OAuthFixture, "a login keeps the ID token with the refresh token, and a refresh without one keeps it, marked") {
  // docs/login.md, "ID tokens": in the token's fields, so it is committed in the same write.
  http.answer(200, R"({"access_token":"a2","token_type":"Bearer","expires_in":3600,"refresh_token":"r2",)"
                   R"("id_token":"h.p2.s"})")
      .answer(200, R"({"access_token":"a3","token_type":"Bearer","expires_in":3600})");
  tok::Token current = with_refresh_token("r1");
  current.fields[tok::kIdTokenField] = "h.p1.s";
  const auto second = refresh(login(), current);
  CHECK(second.fields.at(tok::kIdTokenField) == "h.p2.s");
  CHECK(second.fields.count(tok::kIdTokenKeptField) == 0);
  const auto third = refresh(login(), second);
  CHECK(third.fields.at(tok::kIdTokenField) == "h.p2.s");
  CHECK(third.fields.at(tok::kIdTokenKeptField) == "1");
  CHECK(third.fields.at(tok::kRefreshTokenField) == "r2");
}

TEST_CASE_FIXTURE(OAuthFixture, "an id_token that is no JWT-shaped text is a malformed answer, never quoted") {
  http.answer(200, R"({"access_token":"a2","token_type":"Bearer","expires_in":3600,"id_token":"a b\nc-secret"})");
  const auto e = error_from([&] { refresh(login(), with_refresh_token("r1")); });
  CHECK(e.kind() == tok::ErrorKind::unavailable);
  CHECK(std::string(e.what()).find("id_token") != std::string::npos);
  CHECK(std::string(e.what()).find("c-secret") == std::string::npos);
}

TEST_CASE_FIXTURE(OAuthFixture, "invalid_grant ends the login: refused, marked, never quoting the refresh token") {
  http.answer(400, R"({"error":"invalid_grant","error_description":"grant request is invalid: r1-secret"})");
  const auto e = error_from([&] { refresh(login(), with_refresh_token("r1-secret")); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(e.login_ended());
  CHECK(contains(e.what(), "invalid_grant"));
  CHECK(contains(e.what(), ": run tok login -p "));
  CHECK_FALSE(contains(e.what(), "r1-secret"));
  CHECK(http.requests.size() == 1);
}

TEST_CASE_FIXTURE(OAuthFixture, "only the code invalid_grant ends the login, never text that mentions it") {
  http.answer(401, R"({"error":"invalid_client","error_description":"unsupported invalid_grant_type"})");
  auto e = error_from([&] { refresh(login(), with_refresh_token("r1")); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(e.oauth_error() == "invalid_client");
  CHECK_FALSE(e.login_ended());
  http.script.clear();
  http.answer(400, R"({"error":"invalid_grant "})");  // not the code: a code has no space at its end
  e = error_from([&] { refresh(login(), with_refresh_token("r1")); });
  CHECK_FALSE(e.login_ended());
}

TEST_CASE("an RFC 6749 error answer is data: its code only when it is one") {
  auto answer = tok::read_oauth_error(R"({"error":"invalid_grant","error_description":"gone"})");
  REQUIRE(answer);
  CHECK(answer->code() == "invalid_grant");
  CHECK(answer->description == "gone");
  CHECK(tok::read_oauth_error(R"({"error":"bad\"code"})")->code().empty());
  CHECK(tok::read_oauth_error(R"({"error":"x\ny"})")->code().empty());
  CHECK(tok::read_oauth_error(R"({"error":""})")->code().empty());
  CHECK_FALSE(tok::read_oauth_error(R"({"error":3})"));
  CHECK_FALSE(tok::read_oauth_error("invalid_grant"));
  tok::HttpResponse response;
  response.status = 400;
  response.body = R"({"error":"slow_down"})";
  const auto e = tok::in_context(tok::token_endpoint_error(response, "fetching", "", {}), "logging in");
  CHECK(e.oauth_error() == "slow_down");
}

TEST_CASE("discovery: the document's issuer must be the configured one, exactly") {
  const std::string doc = R"({"issuer":"https://id.example","token_endpoint":"https://id.example/token"})";
  CHECK(tok::read_discovery_document(doc, "https://id.example", "d").endpoints.at("token_endpoint") ==
        "https://id.example/token");
  for (const char* configured : {"https://id.example/", "https://ID.example", "https://other.example"}) {
    const auto e = error_from([&] { tok::read_discovery_document(doc, configured, "d"); });
    CHECK(e.kind() == ErrorKind::unavailable);
    CHECK(contains(e.what(), "RFC 8414 3.3"));
    CHECK(contains(e.advice(), "set issuer = https://id.example exactly"));
  }
  CHECK(contains(error_from([&] {
                   tok::read_discovery_document(R"({"token_endpoint":"https://id.example/t"})", "https://id.example",
                                                "d");
                 }).what(),
                 "names no issuer"));
  // Not a document at all: the next well-known URL is tried.
  CHECK_FALSE(tok::read_discovery_document("<html>", "https://id.example", "d").problem.empty());
  // Control characters, spaces, bytes beyond ASCII: refused, and quoted printable.
  for (const char* bad : {R"(https://id.example/t\n)", R"(https://id.example/t\u001b[2J)", "https://id.example/ t",
                          R"(https://id.example/\u00e9)"}) {
    const std::string with = R"({"issuer":"https://id.example","token_endpoint":")" + std::string(bad) + "\"}";
    const auto e = error_from([&] { tok::read_discovery_document(with, "https://id.example", "d"); });
    CHECK(contains(e.what(), "control character"));
    CHECK_FALSE(contains(e.what(), "\n"));
    CHECK_FALSE(contains(e.what(), "\x1b"));
  }
}

TEST_CASE("device answer: interval floor and default, bounds") {
  const auto answer = [](const std::string& extra) {
    return tok::read_device_authorization(
        R"({"device_code":"dc","user_code":"C","verification_uri":"https://id.example/device","expires_in":600)" +
            extra + "}",
        "asking");
  };
  CHECK(answer("").interval == 5s);
  CHECK(answer(R"(,"interval":0)").interval == 5s);
  CHECK(answer(R"(,"interval":-7)").interval == 5s);
  CHECK(answer(R"(,"interval":1.5)").interval == 5s);
  CHECK(answer(R"(,"interval":"3")").interval == 5s);
  CHECK(answer(R"(,"interval":1)").interval == 1s);
  CHECK(answer(R"(,"interval":600)").interval == 600s);
  CHECK(contains(error_from([&] { answer(R"(,"interval":601)"); }).what(), "malformed answer (interval"));
  CHECK(answer("").expires_in == 600s);
  CHECK(contains(error_from([&] {
                   tok::read_device_authorization(
                       R"({"device_code":"dc-secret-0123","user_code":"C","verification_uri":"https://id.example/d",)"
                       R"("expires_in":86401})",
                       "asking");
                 }).what(),
                 "malformed answer (expires_in"));
  CHECK_FALSE(contains(
      error_from([&] {
        tok::read_device_authorization(
            R"({"device_code":"dc-secret-0123","user_code":"C","verification_uri":"x","expires_in":1})", "asking");
      }).what(),
      "dc-secret-0123"));
}

TEST_CASE("login callback: a code only with exactly our state, each parameter once") {
  using Kind = tok::LoginCallback::Kind;
  const std::string state = "s-0123";
  const auto read = [&](std::string path, std::vector<std::pair<std::string, std::string>> params) {
    tok::ServerRequest r;
    r.method = "GET";
    r.path = std::move(path);
    for (auto& [k, v] : params) r.params.emplace(k, v);
    return tok::read_login_callback(r, state);
  };
  CHECK(read("/other", {{"state", state}, {"code", "c"}}).kind == Kind::not_found);
  const auto good = read("/callback", {{"state", state}, {"code", "c1"}});
  CHECK(good.kind == Kind::code);
  CHECK(good.code == "c1");
  CHECK(read("/callback", {{"state", "s-012"}, {"code", "c1"}}).kind == Kind::not_ours);
  CHECK(read("/callback", {{"code", "c1"}}).kind == Kind::not_ours);
  CHECK(read("/callback", {{"state", state}, {"state", state}, {"code", "c1"}}).kind == Kind::not_ours);
  CHECK(read("/callback", {{"state", state}, {"code", "c1"}, {"code", "c2"}}).kind == Kind::not_ours);
  CHECK(read("/callback", {{"state", state}}).kind == Kind::no_code);
  CHECK(read("/callback", {{"state", state}, {"code", std::string(4097, 'c')}}).kind == Kind::no_code);
  const auto failed = read("/callback", {{"state", state}, {"error", "access_denied"},
                                         {"error_description", "no\r\ntok: me: logged in as admin"}});
  CHECK(failed.kind == Kind::failed);
  CHECK(failed.problem == "the provider ended the login: access_denied: no??tok: me: logged in as admin");
}

TEST_CASE_FIXTURE(OAuthFixture, "device login: interval 0 waits 5 s, slow_down grows it, no wait passes the expiry") {
  http.answer(200, R"({"device_code":"dc","user_code":"C","verification_uri":"https://id.example/device",)"
                   R"("expires_in":12,"interval":0})")
      .answer(400, R"({"error":"slow_down"})");
  auto d = deps();  // the fake world's sleeps move its clocks, so the device code expires as it would
  d.profile = "me";
  auto flow = tok::OAuthLogin::from_settings(tok::ProviderSettings(login()), d);
  const auto e = error_from([&] { flow->device_login(memo, [&](const tok::DeviceAuthorization&) {}); });
  CHECK(contains(e.what(), "the device code expired"));
  // 5 s (the default for 0), then 10 s asked for but only the 7 s the code has left: no poll.
  CHECK(world.sleeps == std::vector<std::chrono::milliseconds>{5s, 7s});
  CHECK(http.requests.size() == 2);
}

TEST_CASE_FIXTURE(OAuthFixture, "a login profile never fetches by itself: not logged in, no request") {
  auto values = login();
  values.erase("provider");
  const auto e = error_from([&] { fetch(values); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(contains(e.what(), "not logged in: run tok login -p"));
  const auto without = error_from([&] { refresh(login(), tok::Token{}); });
  CHECK(contains(without.what(), "not logged in"));
  CHECK(http.requests.empty());
}

TEST_CASE_FIXTURE(OAuthFixture, "a login needs an issuer, and grant is one of three") {
  CHECK(contains(error_from([&] {
                   fetch({{"token_url", "https://l.example/t"}, {"client_id", "c"}, {"grant", "device_code"}});
                 }).what(),
                 "key 'issuer': required"));
  CHECK(contains(error_from([&] {
                   fetch({{"token_url", "https://l.example/t"}, {"client_id", "c"}, {"grant", "password"}});
                 }).what(),
                 "'password' is not one of"));
}

TEST_CASE_FIXTURE(OAuthFixture, "discovery keeps a login's endpoints in the memo") {
  http.answer(200, R"({"issuer":"https://id.example","token_endpoint":"https://id.example/token",)"
                   R"("device_authorization_endpoint":"https://id.example/d",)"
                   R"("revocation_endpoint":"https://id.example/r","authorization_endpoint":"https://id.example/a"})")
      .answer(200, R"({"access_token":"a2","token_type":"Bearer","expires_in":3600})");
  auto values = login();
  memo.clear();
  refresh(values, with_refresh_token("r1"));
  CHECK(memo["device_authorization_endpoint"] == "https://id.example/d");
  CHECK(memo["revocation_endpoint"] == "https://id.example/r");
  CHECK(memo["authorization_endpoint"] == "https://id.example/a");
}

TEST_CASE_FIXTURE(OAuthFixture, "device login: the code shown, pending polled at the interval, slow_down adds 5 s") {
  http.answer(
          200,
          R"({"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"https://id.example/device",)"
          R"("verification_uri_complete":"https://id.example/device?user_code=ABCD-EFGH","expires_in":600,"interval":2})")
      .answer(400, R"({"error":"authorization_pending"})")
      .answer(400, R"({"error":"slow_down"})")
      .answer(400, R"({"error":"authorization_pending"})")
      .answer(200,
              R"({"access_token":"a1","token_type":"Bearer","expires_in":60,"refresh_token":"r1","id_token":"x.y.z"})");
  auto flow = login_flow(login());
  REQUIRE(flow);
  tok::DeviceAuthorization shown;
  const tok::TimePoint asked = clock.now();  // the polling's sleeps move the fake world's clock on
  const auto grant = flow->device_login(memo, [&](const tok::DeviceAuthorization& d) { shown = d; });
  CHECK(shown.user_code == "ABCD-EFGH");
  CHECK(shown.verification_uri == "https://id.example/device");
  CHECK(shown.expires_at == asked + 600s);
  CHECK(clock.now() == asked + 18s);
  REQUIRE(http.requests.size() == 5);
  CHECK(http.requests[0].body == "client_id=cli");
  CHECK(http.requests[1].body ==
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc&client_id=cli");
  CHECK(world.sleeps == std::vector<std::chrono::milliseconds>{2s, 2s, 7s, 7s});
  CHECK(grant.token.fields.at(tok::kRefreshTokenField) == "r1");
  CHECK(grant.id_token == "x.y.z");
}

TEST_CASE_FIXTURE(OAuthFixture, "device login: expired_token and access_denied each say what happened") {
  const std::string start =
      R"({"device_code":"dc","user_code":"C","verification_uri":"https://id.example/device","expires_in":600})";
  http.answer(200, start).answer(400, R"({"error":"expired_token"})");
  auto e = error_from([&] { login_flow(login())->device_login(memo, [](const tok::DeviceAuthorization&) {}); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(contains(e.what(), "the device code expired"));
  CHECK(world.sleeps.front() == 5s);  // RFC 8628: 5 s when the issuer names no interval
  http.script.clear();
  http.answer(200, start).answer(400, R"({"error":"access_denied"})");
  e = error_from([&] { login_flow(login())->device_login(memo, [](const tok::DeviceAuthorization&) {}); });
  CHECK(contains(e.what(), "denied"));
}

TEST_CASE("PKCE S256: base64url of SHA-256 (the value Python's hashlib gives)") {
  CHECK(tok::base64url_encode(tok::openssl_sha256("dBjftJeZ4CVP-mA3gE1hNbYF8ZaZNUTcE8lUzxyTl0k")) ==
        "UohFEu3EjfTZlkpZkwQF_jA-Ca3B908_P6blfHHHesM");
}

TEST_CASE_FIXTURE(OAuthFixture,
                  "authorization URL: code, PKCE S256, state, the exact redirect URI, then the code redeemed") {
  auto values = login("authorization_code");
  memo["authorization_endpoint"] = "https://id.example/auth";
  auto flow = login_flow(values);
  const std::string url = flow->authorization_url(memo, "http://127.0.0.1:5000/callback", "st", "ch");
  CHECK(url ==
        "https://id.example/auth?response_type=code&client_id=cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback"
        "&state=st&code_challenge=ch&code_challenge_method=S256");
  http.answer(200, R"({"access_token":"a1","token_type":"Bearer","expires_in":60,"refresh_token":"r1"})");
  const auto grant = flow->redeem_code(memo, "the-code", "http://127.0.0.1:5000/callback", "verifier");
  CHECK(http.requests.at(0).body ==
        "grant_type=authorization_code&code=the-code&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback"
        "&code_verifier=verifier&client_id=cli");
  CHECK(grant.token.fields.at(tok::kRefreshTokenField) == "r1");
}

TEST_CASE_FIXTURE(OAuthFixture, "logout revokes the refresh token at the revocation endpoint (RFC 7009)") {
  http.answer(200, "");
  CHECK(login_flow(login())->revoke(memo, "r1"));
  REQUIRE(http.requests.size() == 1);
  CHECK(http.requests[0].url == "https://id.example/token/revocation");
  CHECK(http.requests[0].body == "token=r1&token_type_hint=refresh_token&client_id=cli");
  auto flow = login_flow(login());
  memo.erase("revocation_endpoint");  // an issuer without one
  CHECK_FALSE(flow->revoke(memo, "r1"));
  CHECK(http.requests.size() == 1);
}

}  // TEST_SUITE

// provider = github-app through a fake transport and world: the App JWT's claims, the requests
// GitHub expects, the installation lookup kept in the memo, and GitHub's errors as exit codes.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "fakes.hpp"
#include "providers/base64.hpp"
#include "providers/jws.hpp"
#include "providers/provider.hpp"

using namespace std::chrono_literals;
using tok_test::EnvGuard;
using tok_test::http_status;

namespace {

const tok::TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 12 / 7} + 10h;
const std::int64_t kNowSeconds = std::chrono::duration_cast<std::chrono::seconds>(kNow.time_since_epoch()).count();
const std::string kToken = "ghs_" + std::string(200, 'x');
const std::string kGranted =
    R"({"token":")" + kToken +
    R"(","expires_at":"2026-12-07T11:00:00Z","permissions":{"metadata":"read","contents":"write"},)"
    R"("repository_selection":"selected"})";

struct FakeSigner final : tok::JwsSigner {
  std::vector<std::string> inputs;
  std::string sign(std::string_view key, std::string_view alg, std::string_view input, std::string& problem) override {
    if (key != "PEM" || alg != "RS256") {
      problem = "wrong key or alg";
      return {};
    }
    inputs.emplace_back(input);
    return "sig";
  }
};

struct Fixture {
  tok_test::FakeWorld world;
  tok::FakeClock& clock = world.wall;
  tok_test::ScriptedTransport http;
  FakeSigner signer;
  tok::ProviderMemo memo;
  EnvGuard key{world, "TOK_TEST_GH_KEY", "PEM"};

  Fixture() { clock.set(kNow); }

  std::unique_ptr<tok::Provider> make(tok_test::Settings extra) {
    tok_test::Settings values = {{"provider", "github-app"}, {"app_id", "123"}, {"private_key_env", "TOK_TEST_GH_KEY"}};
    for (auto& [k, v] : extra) values[k] = v;
    tok::ProviderDeps deps;
    deps.http = &http;
    deps.world = &world;
    deps.signer = &signer;
    return tok::make_provider(tok::ProviderSettings(std::move(values)), deps);
  }
  tok::Token fetch(tok::Provider& p) { return p.fetch(world.steady_now() + 1h, memo, tok::FetchMode::background); }
  nlohmann::json claims(std::size_t i) const {
    const std::string& input = signer.inputs.at(i);
    return nlohmann::json::parse(tok::base64url_decode(input.substr(input.find('.') + 1)).value());
  }
};

tok::Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tok::Error& e) {
    return e;
  }
  FAIL("expected an error");
  return tok::Error(tok::ErrorKind::internal, "");
}

}  // namespace

TEST_SUITE("github_app") {
  TEST_CASE("a JWT 60 s back and 5 minutes ahead, GitHub's headers, the token and what it grants") {
    Fixture f;
    f.http.script = {http_status(201, kGranted)};
    auto p = f.make({{"installation_id", "42"}});
    const tok::Token t = f.fetch(*p);
    CHECK(t.access_token == kToken);
    CHECK(t.expiry == kNow + 1h);
    REQUIRE(f.http.requests.size() == 1);
    const auto& r = f.http.requests[0];
    CHECK(r.method == "POST");
    CHECK(r.url == "https://api.github.com/app/installations/42/access_tokens");
    CHECK(r.body.empty());
    CHECK(f.http.header("Accept") == "application/vnd.github+json");
    CHECK(f.http.header("X-GitHub-Api-Version") == "2022-11-28");
    const std::string jwt = f.signer.inputs.at(0) + "." + tok::base64url_encode("sig");
    CHECK(f.http.header("Authorization") == "Bearer " + jwt);
    const auto claims = f.claims(0);
    CHECK(claims["iss"] == "123");
    CHECK(claims["iat"] == kNowSeconds - 60);
    CHECK(claims["exp"] == kNowSeconds + 300);
    CHECK(f.memo.at("github_installation_id") == "42");
    CHECK(f.memo.at("github_permissions") == "contents:write,metadata:read");
    CHECK(f.memo.at("github_repository_selection") == "selected");
  }

  TEST_CASE("the installation is looked up once, kept in the memo, and looked up again when gone") {
    Fixture f;
    f.http.script = {http_status(200, R"({"id": 77})"), http_status(201, kGranted)};
    auto p = f.make({{"repository", "octo-org/tok.js"},
                     {"repositories", "tok.js, docs"},
                     {"permissions", "contents:read,pull_requests:write"},
                     {"api_url", "https://ghe.example.com/api/v3/"}});
    f.fetch(*p);
    REQUIRE(f.http.requests.size() == 2);
    CHECK(f.http.requests[0].method == "GET");
    CHECK(f.http.requests[0].url == "https://ghe.example.com/api/v3/repos/octo-org/tok.js/installation");
    CHECK(f.http.requests[1].url == "https://ghe.example.com/api/v3/app/installations/77/access_tokens");
    CHECK(nlohmann::json::parse(f.http.requests[1].body) ==
          nlohmann::json::parse(
              R"({"repositories":["tok.js","docs"],"permissions":{"contents":"read","pull_requests":"write"}})"));
    CHECK(f.memo.at("github_installation_id") == "77");
    CHECK(f.signer.inputs.size() == 2);  // a JWT per request

    f.http.script = {http_status(201, kGranted)};
    f.fetch(*p);
    CHECK(f.http.requests.size() == 3);  // from the memo: no lookup

    f.http.script = {http_status(404, R"({"message":"Not Found"})"), http_status(200, R"({"id": 78})"),
                     http_status(201, kGranted)};
    f.fetch(*p);
    REQUIRE(f.http.requests.size() == 6);
    CHECK(f.http.requests[4].method == "GET");
    CHECK(f.http.requests[5].url == "https://ghe.example.com/api/v3/app/installations/78/access_tokens");
    CHECK(f.memo.at("github_installation_id") == "78");
  }

  TEST_CASE("GitHub's refusals are exit 3 with its message, and rate limits are an outage") {
    Fixture f;
    auto p = f.make({{"installation_id", "42"}});
    const std::string body =
        R"({"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"})";
    for (long status : {401L, 403L, 404L, 422L}) {
      CAPTURE(status);
      f.http.script = {http_status(status, body)};
      const tok::Error e = error_of([&] { f.fetch(*p); });
      CHECK(e.kind() == tok::ErrorKind::refused);
      CHECK_FALSE(e.outage());
      CHECK(std::string(e.what()).find("A JSON web token could not be decoded (https://docs.github.com/rest)") !=
            std::string::npos);
    }
    f.http.script = {
        http_status(403, R"({"message":"API rate limit exceeded"})",
                    {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", std::to_string(kNowSeconds + 120)}})};
    tok::Error e = error_of([&] { f.fetch(*p); });
    CHECK(e.kind() == tok::ErrorKind::unavailable);
    CHECK(e.outage());
    CHECK(e.retry_after() == std::chrono::milliseconds(120'000));
    f.http.script = {http_status(429, R"({"message":"secondary rate limit"})", {{"retry-after", "30"}})};
    e = error_of([&] { f.fetch(*p); });
    CHECK(e.outage());
    CHECK(e.retry_after() == std::chrono::milliseconds(30'000));
  }

  TEST_CASE("settings: the issuer, the key and the installation are required, and names are checked") {
    Fixture f;
    const auto usage = [&](tok_test::Settings s, const char* key) {
      CAPTURE(key);
      const tok::Error e = error_of([&] { f.make(std::move(s)); });
      CHECK(e.kind() == tok::ErrorKind::usage);
      CHECK(std::string(e.what()).find(std::string("key '") + key + "'") != std::string::npos);
    };
    usage({}, "installation_id");
    usage({{"installation_id", "4x"}}, "installation_id");
    usage({{"repository", "no-slash"}}, "repository");
    usage({{"repository", "o/.."}}, "repository");
    usage({{"organization", "a/b"}}, "organization");
    usage({{"installation_id", "1"}, {"repositories", "o/r"}}, "repositories");
    usage({{"installation_id", "1"}, {"permissions", "contents"}}, "permissions");
    usage({{"installation_id", "1"}, {"permissions", "Contents:read"}}, "permissions");
    usage({{"installation_id", "1"}, {"app_id", "abc"}}, "app_id");
    usage({{"installation_id", "1"}, {"api_url", "http://api.example.com"}}, "api_url");
    // The key is read at fetch time: an unset variable is exit 2, nothing sent.
    EnvGuard unset(f.world, "TOK_TEST_GH_KEY", std::nullopt);
    auto p = f.make({{"installation_id", "1"}});
    const tok::Error e = error_of([&] { f.fetch(*p); });
    CHECK(e.kind() == tok::ErrorKind::usage);
    CHECK(f.http.requests.empty());
  }

}  // TEST_SUITE

// AWS credentials (docs/aws.md): credential_process JSON read by provider = command and written
// by `tok get --format credential-process`; a command's stdout never quoted in an error; the ECS
// container-credentials protocol of `tok serve --aws-ecs`.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "cli/serve/serve_protocols.hpp"
#include "fakes.hpp"
#include "providers/aws_credential.hpp"
#include "providers/metadata/aws_ecs.hpp"
#include "providers/provider.hpp"
#include "providers/token_response.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using tok::ErrorKind;
using tok_test::contains;
using tok_test::error_from;

namespace {

const tok::TimePoint kNow{std::chrono::seconds(1'800'000'000)};  // 2027-01-15T08:00:00Z
constexpr const char* kKeyId = "ASIAEXAMPLEKEYID0001";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1";
constexpr const char* kSession = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN+/=";

std::string answer(json extra = json::object()) {
  json j = {{"Version", 1}, {"AccessKeyId", kKeyId}, {"SecretAccessKey", kSecret}, {"SessionToken", kSession},
            {"Expiration", "2027-01-15T09:00:00Z"}};
  for (auto& [k, v] : extra.items()) {
    if (v.is_null()) {
      j.erase(k);
    } else {
      j[k] = v;
    }
  }
  return j.dump();
}

tok::Token parse(const std::string& body, std::optional<tok::Duration> lifetime = std::nullopt) {
  return tok::parse_token_response(body, kNow, {.program_output = true, .default_lifetime = lifetime, .quote = false});
}

// The message of a malformed program output: never any part of what it printed.
std::string refused(const std::string& body) {
  const auto e = error_from([&] { parse(body); });
  CHECK(e.kind() == ErrorKind::unavailable);
  const std::string m = e.what();
  CHECK(contains(m, "malformed response"));
  for (const char* secret : {kKeyId, kSecret, kSession, "hunter2"}) CHECK_FALSE(contains(m, secret));
  CHECK_FALSE(contains(m, "body:"));
  return m;
}

}  // namespace

TEST_SUITE("aws") {

TEST_CASE("credential_process JSON is an AWS credential: its fields, the Expiration as expiry") {
  const auto t = parse(answer());
  CHECK(tok::is_aws_credential(t));
  CHECK(t.access_token == kKeyId);  // the access key id: never the secret
  CHECK(t.token_type == "AWS4-HMAC-SHA256");
  CHECK(t.expiry == kNow + 3600s);
  CHECK(t.fields == std::map<std::string, std::string>{
                        {"AccessKeyId", kKeyId}, {"SecretAccessKey", kSecret}, {"SessionToken", kSession}});
  // An offset, fractions: RFC 3339 as AWS's tools write it.
  CHECK(parse(answer({{"Expiration", "2027-01-15T10:00:00.123+01:00"}})).expiry == kNow + 3600s);
  // No session token (long-term keys with an expiry given): two fields.
  CHECK(parse(answer({{"SessionToken", nullptr}})).fields.count("SessionToken") == 0);
  CHECK(parse(answer({{"SessionToken", ""}})).fields.count("SessionToken") == 0);
}

TEST_CASE("no Expiration means long-term keys: refused unless default_lifetime says how long to keep them") {
  const std::string m = refused(answer({{"Expiration", nullptr}}));
  CHECK(contains(m, "without Expiration"));
  CHECK(contains(m, "default_lifetime"));
  const auto t = parse(answer({{"Expiration", nullptr}}), 2h);
  CHECK(t.expiry == kNow + 2h);
  CHECK(tok::is_aws_credential(t));
}

TEST_CASE("a malformed credential is named by field, type or length, its values never quoted") {
  CHECK(contains(refused(answer({{"Version", 2}})), "Version is 2"));
  CHECK(contains(refused(answer({{"Version", "1"}})), "Version is a JSON string"));
  CHECK(contains(refused(answer({{"Version", nullptr}})), "without Version"));
  CHECK(contains(refused(answer({{"SecretAccessKey", nullptr}})), "without SecretAccessKey"));
  CHECK(contains(refused(answer({{"SecretAccessKey", 42}})), "SecretAccessKey is a JSON number"));
  CHECK(contains(refused(answer({{"SecretAccessKey", ""}})), "SecretAccessKey is empty"));
  CHECK(contains(refused(answer({{"SessionToken", std::string(20000, 'a')}})), "SessionToken is 20000 characters"));
  CHECK(contains(refused(answer({{"SecretAccessKey", std::string("hunter2\n") + kSecret}})),
                 "SecretAccessKey (48 characters) has characters outside printable ASCII"));
  CHECK(contains(refused(answer({{"AccessKeyId", "AKIA hunter2"}})), "AccessKeyId (12 characters) is not an access key id"));
  CHECK(contains(refused(answer({{"Expiration", "tomorrow"}})), "Expiration is not an RFC 3339 time"));
  CHECK(contains(refused(answer({{"Expiration", "2027-01-15T07:00:00Z"}})), "Expiration is in the past"));
  CHECK(contains(refused(answer({{"Expiration", "2029-01-15T07:00:00Z"}})), "more than a year away"));
}

TEST_CASE("a program's stdout is never quoted, whatever its shape (issue: SecretAccessKey in an error)") {
  // AWS JSON that is not credential_process (no AccessKeyId): named by its fields, values gone.
  const std::string m = refused(json{{"Secret", kSecret}, {"Key", kKeyId}, {"Extra", "hunter2"}}.dump());
  CHECK(contains(m, "no access_token, accessToken or AccessKeyId"));
  CHECK(contains(m, "fields Extra, Key, Secret"));
  // A field name as long as a secret is redacted like one.
  CHECK(contains(refused(json{{kSecret, 1}}.dump()), "[redacted]"));
  const std::string broken = refused(std::string(R"({"AccessKeyId": "hunter2", )"));
  CHECK(contains(broken, "not JSON (a syntax error at byte"));
  refused(R"(["hunter2"])");
  refused(R"({"access_token": "hunter2 x", "expires_in": 60})");
  refused(R"({"access_token": "hunter2", "expires_in": "soon"})");
  // A service's answer is still quoted (redacted, the token removed): only programs are silent.
  const auto service = error_from([] { tok::parse_token_response(R"({"error": "slow_down"})", kNow); });
  CHECK(contains(service.what(), "body: '{\"error\": \"slow_down\"}'"));
}

TEST_CASE("credential_process JSON written back: what AWS reads, the expiry as Expiration") {
  const auto t = parse(answer());
  const json out = json::parse(tok::write_credential_process(t));
  CHECK(out == json{{"Version", 1}, {"AccessKeyId", kKeyId}, {"SecretAccessKey", kSecret}, {"SessionToken", kSession},
                    {"Expiration", "2027-01-15T09:00:00Z"}});
  const json long_term = json::parse(tok::write_credential_process(parse(answer({{"SessionToken", nullptr}}))));
  CHECK_FALSE(long_term.contains("SessionToken"));
  // A bearer token is no AWS credential (the caller refuses it by name).
  CHECK_FALSE(tok::is_aws_credential(tok::Token{"abc", "Bearer", kNow + 60s, {}}));
}

TEST_CASE("command: stderr quoted redacted, stdout never, even on a failure") {
  tok_test::ScriptedRunner runner;
  tok_test::FakeWorld world;
  world.wall.set(kNow);
  tok::ProviderMemo memo;
  const auto fetch = [&] {
    tok::ProviderDeps deps;
    deps.runner = &runner;
    deps.world = &world;
    return tok::make_provider(tok::ProviderSettings(tok_test::Settings{{"provider", "command"}, {"command", "helper"}}),
                              deps)
        ->fetch(world.steady_now() + 60s, memo, tok::FetchMode::blocking);
  };
  // The helper printed its credential (a secret too short for the redaction to spot), then failed
  // and echoed it on stderr: every word of its stdout is cut from the quote.
  runner.exits(1, answer({{"SecretAccessKey", "short5ecret"}}), "error: key short5ecret rejected for " + std::string(kSession));
  auto e = error_from(fetch);
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(contains(e.what(), "exit status 1: error: key"));
  CHECK(contains(e.what(), "rejected for"));
  CHECK_FALSE(contains(e.what(), "short5ecret"));
  CHECK_FALSE(contains(e.what(), kSession));
  runner.script.clear();
  runner.exits(0, answer({{"Version", 3}}), "");
  e = error_from(fetch);
  CHECK(contains(e.what(), "command 'helper': malformed response: Version is 3"));
  CHECK_FALSE(contains(e.what(), kSecret));
  runner.script.clear();
  runner.exits(0, answer(), "");
  CHECK(tok::is_aws_credential(fetch()));
}

}  // TEST_SUITE

TEST_SUITE("serve") {

namespace {

struct EcsFixture {
  tok::FakeClock clock{kNow};
  tok::ServedProtocols served;
  int gets = 0;
  std::optional<tok::Error> failure;
  tok::Token token = parse(answer());

  EcsFixture() { serve_with("0123456789abcdef0123456789abcdef"); }

  void serve_with(std::string secret) {
    served.protocols.clear();
    served.protocols.push_back(std::make_unique<tok::aws_ecs::Served>("aws", std::move(secret), [this] {
      ++gets;
      if (failure) throw *failure;
      return tok::GetResult{token, tok::TokenState::fresh, std::nullopt, std::nullopt, std::nullopt};
    }));
  }

  tok::ServerResponse ask(std::vector<std::pair<std::string, std::string>> headers,
                          std::string path = std::string(tok::aws_ecs::kPath)) {
    tok::ServerRequest r;
    r.method = "GET";
    r.path = std::move(path);
    r.headers = std::move(headers);
    if (!r.header("Host")) r.headers.emplace_back("Host", "127.0.0.1:8789");
    return tok::answer_metadata_request(served, r, clock);
  }
};

const std::pair<std::string, std::string> kAuth{"Authorization", "0123456789abcdef0123456789abcdef"};

}  // namespace

TEST_CASE_FIXTURE(EcsFixture, "aws-ecs: the credential in the ECS agent's shape, for the per-run secret only") {
  const auto r = ask({kAuth, {"Accept", "application/json"}});
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(json::parse(r.body) == json{{"AccessKeyId", kKeyId},
                                    {"SecretAccessKey", kSecret},
                                    {"Token", kSession},
                                    {"Expiration", "2027-01-15T09:00:00Z"}});
  CHECK(gets == 1);
  // No header, another value, a scheme before it, a prefix of it: 401 in the agent's shape, and
  // the credential never asked for.
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {}, {{"Authorization", "0123456789abcdef0123456789abcdee"}},
           {{"Authorization", "Bearer 0123456789abcdef0123456789abcdef"}},
           {{"Authorization", "0123456789abcdef0123456789abcde"}}, {{"Authorization", ""}}}) {
    const auto refused = ask(headers);
    CHECK(refused.status == 401);
    CHECK(json::parse(refused.body)["code"] == "Unauthorized");
    CHECK_FALSE(contains(refused.body, kSecret));
  }
  CHECK(gets == 1);
  // The serve rules hold: another Host is refused before the secret is even looked at.
  CHECK(ask({kAuth, {"Host", "evil.example:8789"}}).status == 403);
  CHECK(ask({kAuth}, "/aws/ecs/credentials/").status == 404);
  serve_with("");  // never served without its secret
  CHECK(ask({{"Authorization", ""}}).status == 404);
}

TEST_CASE_FIXTURE(EcsFixture, "aws-ecs: long-term keys get an empty Token, a bearer token or a failure an error") {
  token.fields.erase("SessionToken");
  CHECK(json::parse(ask({kAuth}).body)["Token"] == "");
  token = tok::Token{"abc", "Bearer", kNow + 60s, {}};
  auto r = ask({kAuth});
  CHECK(r.status == 500);
  CHECK(contains(json::parse(r.body)["message"].get<std::string>(), "profile 'aws' holds a token, not an AWS credential"));
  failure = tok::Error(ErrorKind::refused, "command 'helper': exit status 1");
  r = ask({kAuth});
  CHECK(r.status == 403);
  CHECK(json::parse(r.body)["code"] == "AccessDenied");
  failure = tok::Error(ErrorKind::unavailable, "down");
  CHECK(ask({kAuth}).status == 503);
}

}  // TEST_SUITE

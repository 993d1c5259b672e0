// providers/azure_cli through a scripted process runner: the argv it runs, its deadline, the
// expiry it reads, and what each of az's failures becomes.
#include <doctest/doctest.h>

#include <string>

#include "fakes.hpp"
#include "providers/provider.hpp"

using namespace std::chrono_literals;
using tok::ErrorKind;
using tok::FetchMode;
using tok_test::contains;
using tok_test::error_from;

namespace {

const tok::TimePoint kNow{std::chrono::seconds(1'800'000'000)};  // 2027-01-15 08:00:00 UTC
const std::string kToken = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tLyJ9.c2ln";

std::string az_json(const std::string& expiry_fields) {
  return R"({"accessToken":")" + kToken + R"(","subscription":"00000000-0000-0000-0000-000000000000",)"
         R"("tenant":"11111111-1111-1111-1111-111111111111","tokenType":"Bearer",)" +
         expiry_fields + "}\n";
}

struct AzFixture {
  tok_test::ScriptedRunner runner;
  tok_test::FakeWorld world;
  tok::FakeClock& clock = world.wall;
  tok::ProviderMemo memo;
  AzFixture() { clock.set(kNow); }

  tok::Token fetch(tok_test::Settings values, std::optional<tok::Deadline> deadline = std::nullopt) {
    values.emplace("provider", "azure-cli");
    tok::ProviderDeps deps;
    deps.runner = &runner;
    deps.world = &world;
    return tok::make_provider(tok::ProviderSettings(values), deps)
        ->fetch(deadline.value_or(world.steady_now() + 60s), memo, FetchMode::blocking);
  }
  const std::vector<std::string>& argv() const { return runner.requests.back().argv; }
};

}  // namespace

TEST_SUITE("azure_cli") {

TEST_CASE_FIXTURE(AzFixture, "runs az with an argv, never a shell string, and reads expires_on") {
  runner.exits(0, az_json(R"("expiresOn":"2027-01-15 03:59:00.000000","expires_on":1800003600)"));
  const auto token = fetch({{"resource", "https://management.azure.com/"}});
  CHECK(token.access_token == kToken);
  CHECK(token.token_type == "Bearer");
  CHECK(token.expiry == kNow + 3600s);  // expires_on wins over the local expiresOn
  CHECK(argv() == std::vector<std::string>{"az", "account", "get-access-token", "--output", "json", "--resource",
                                           "https://management.azure.com/"});
}

TEST_CASE_FIXTURE(AzFixture, "scope, tenant, subscription and az_path are passed through as separate arguments") {
  runner.exits(0, az_json(R"("expires_on":1800003600)"));
  fetch({{"scope", "https://graph.microsoft.com/.default api://x/.default"},
         {"tenant", "contoso.onmicrosoft.com"},
         {"subscription", "my sub; rm -rf /"},
         {"az_path", "/opt/az/bin/az"}});
  CHECK(argv() == std::vector<std::string>{"/opt/az/bin/az", "account", "get-access-token", "--output", "json",
                                           "--scope", "https://graph.microsoft.com/.default", "api://x/.default",
                                           "--tenant", "contoso.onmicrosoft.com", "--subscription",
                                           "my sub; rm -rf /"});
}

TEST_CASE_FIXTURE(AzFixture, "without resource or scope az picks its default") {
  runner.exits(0, az_json(R"("expires_on":1800003600)"));
  fetch({});
  CHECK(argv().size() == 5);
}

TEST_CASE_FIXTURE(AzFixture, "older az: expiresOn in local time, converted with the zone's rules at that date") {
  tok_test::TzGuard tz("Europe/Berlin");
  runner.exits(0, az_json(R"("expiresOn":"2027-01-15 10:00:00.000000")"));  // CET, +1
  CHECK(fetch({{"resource", "r"}}).expiry == kNow + 3600s);
  tok_test::TzGuard tz2("America/New_York");
  runner.script.clear();
  runner.exits(0, az_json(R"("expiresOn":"2027-01-15 04:00:00.000000")"));  // EST, -5
  CHECK(fetch({{"resource", "r"}}).expiry == kNow + 3600s);
}

TEST_CASE_FIXTURE(AzFixture, "the deadline is az_timeout or the caller's, whichever comes first") {
  runner.exits(0, az_json(R"("expires_on":1800003600)"));
  fetch({{"resource", "r"}, {"az_timeout", "5s"}});
  CHECK(runner.requests.back().deadline == world.steady_now() + 5s);
  const auto soon = world.steady_now() + 2s;
  fetch({{"resource", "r"}}, soon);
  CHECK(runner.requests.back().deadline == soon);
}

TEST_CASE_FIXTURE(AzFixture, "az not installed: unavailable, saying how to fix it") {
  tok::ProcessResult missing;
  missing.not_found = true;
  runner.script = {missing};
  const auto e = error_from([&] { fetch({{"resource", "r"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(std::string(e.what()) == "Azure CLI not found; install it or set az_path");
  CHECK(contains(e.advice(), "azure-cli"));
}

TEST_CASE_FIXTURE(AzFixture, "not logged in: refused, quoting az's own advice") {
  runner.exits(1, "", "WARNING: a warning first\nERROR: Please run 'az login' to setup account.\n");
  const auto e = error_from([&] { fetch({{"resource", "r"}}); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(contains(e.what(), "ERROR: Please run 'az login' to setup account."));
  CHECK(e.advice() == "run 'az login'");
  runner.script.clear();
  runner.exits(1, "", "ERROR: AADSTS70043: The refresh token has expired.\nTo re-authenticate, please run:\naz login\n");
  const auto expired = error_from([&] { fetch({{"resource", "r"}, {"tenant", "t1"}}); });
  CHECK(expired.kind() == ErrorKind::refused);
  CHECK(expired.advice() == "run 'az login --tenant t1'");
}

TEST_CASE_FIXTURE(AzFixture, "other failures: unavailable, first error line quoted and redacted") {
  const std::string secretish = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef";
  runner.exits(2, "", "ERROR: the server said " + secretish + " and " + std::string(400, 'x') + "\nmore\n");
  const auto e = error_from([&] { fetch({{"resource", "r"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "ERROR: the server said"));
  CHECK_FALSE(contains(e.what(), secretish));
  CHECK_FALSE(contains(e.what(), "more"));
  CHECK(std::string(e.what()).size() < 300);
  runner.script.clear();
  runner.exits(3, "", "");
  CHECK(contains(error_from([&] { fetch({{"resource", "r"}}); }).what(), "exit status 3"));
}

TEST_CASE_FIXTURE(AzFixture, "non-JSON or tokenless output: unavailable, quoted, never the token") {
  runner.exits(0, "Traceback (most recent call last):\n  File \"/usr/bin/az\"\n");
  auto e = error_from([&] { fetch({{"resource", "r"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "not JSON"));
  CHECK(contains(e.what(), "Traceback"));
  runner.script.clear();
  runner.exits(0, az_json(R"("expires_on":"soon")"));
  e = error_from([&] { fetch({{"resource", "r"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK_FALSE(contains(e.what(), kToken.substr(0, 12)));
}

TEST_CASE_FIXTURE(AzFixture, "a hang killed at the deadline, and huge output, are unavailable") {
  tok::ProcessResult hung;
  hung.timed_out = true;
  hung.signal = 9;
  runner.script = {hung};
  auto e = error_from([&] { fetch({{"resource", "r"}, {"az_timeout", "2s"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "no answer within 2s; killed"));
  tok::ProcessResult huge;
  huge.exit_status = 0;
  huge.out_truncated = true;
  runner.script = {huge};
  CHECK(error_from([&] { fetch({{"resource", "r"}}); }).kind() == ErrorKind::unavailable);
}

TEST_CASE("settings: resource or scope, not both, no empty values") {
  tok::ProviderDeps deps;
  const auto make = [&](tok_test::Settings v) {
    v.emplace("provider", "azure-cli");
    return tok::make_provider(tok::ProviderSettings(v), deps);
  };
  CHECK(error_from([&] { make({{"resource", "a"}, {"scope", "b"}}); }).kind() == ErrorKind::usage);
  CHECK(error_from([&] { make({{"tenant", ""}}); }).kind() == ErrorKind::usage);
  CHECK(error_from([&] { make({{"az_timeout", "soon"}}); }).kind() == ErrorKind::usage);
  CHECK(error_from([&] { make({{"az_timeout", "0"}}); }).kind() == ErrorKind::usage);
}

}  // TEST_SUITE

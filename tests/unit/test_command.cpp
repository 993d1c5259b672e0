// providers/command through a scripted process runner, and the splitting of its `command` key.
#include <doctest/doctest.h>

#include <string>

#include "fakes.hpp"
#include "providers/command.hpp"
#include "providers/provider.hpp"

using namespace std::chrono_literals;
using tok::ErrorKind;
using tok::FetchMode;
using tok_test::contains;
using tok_test::error_from;
using Argv = std::vector<std::string>;

namespace {

const tok::TimePoint kNow{std::chrono::seconds(1'800'000'000)};
const std::string kToken = "dapi0123456789abcdef0123456789abcdef";

struct CommandFixture {
  tok_test::ScriptedRunner runner;
  tok_test::FakeWorld world;
  tok::FakeClock& clock = world.wall;
  tok::ProviderMemo memo;
  CommandFixture() { clock.set(kNow); }

  tok::Token fetch(const std::string& command, tok_test::Settings values = {},
                   std::optional<tok::Deadline> deadline = std::nullopt) {
    values.emplace("provider", "command");
    values.emplace("command", command);
    tok::ProviderDeps deps;
    deps.runner = &runner;
    deps.world = &world;
    return tok::make_provider(tok::ProviderSettings(values), deps)
        ->fetch(deadline.value_or(world.steady_now() + 60s), memo, FetchMode::blocking);
  }
};

}  // namespace

TEST_SUITE("command") {

TEST_CASE("split_command: a JSON array is taken as it is") {
  CHECK(tok::split_command(R"(["vault", "read", "-field=token", "a b"])") == Argv{"vault", "read", "-field=token", "a b"});
  CHECK(tok::split_command(R"(  ["x|y", "$HOME"])") == Argv{"x|y", "$HOME"});
  for (const char* bad : {"[]", R"([""])", "[1]", R"(["a", 2])", "[\"a\"", R"(["a"] x)"}) {
    CAPTURE(std::string(bad));
    CHECK(error_from([&] { tok::split_command(bad); }).kind() == ErrorKind::usage);
  }
}

TEST_CASE("split_command: words split as a shell would, with nothing expanded") {
  CHECK(tok::split_command("gh auth token") == Argv{"gh", "auth", "token"});
  CHECK(tok::split_command("  a \t b  ") == Argv{"a", "b"});
  CHECK(tok::split_command("get 'a b' \"c d\" e\\ f") == Argv{"get", "a b", "c d", "e f"});
  CHECK(tok::split_command("x 'it''s' \"\"") == Argv{"x", "its", ""});
  CHECK(tok::split_command(R"(x "q\"uote" "back\\slash" "keep\n" '$HOME|x')") ==
        Argv{"x", "q\"uote", "back\\slash", "keep\\n", "$HOME|x"});
  CHECK(tok::split_command(R"(x "\$HOME" \$HOME \| ~ *.json)") == Argv{"x", "$HOME", "$HOME", "|", "~", "*.json"});
}

TEST_CASE("split_command: shell syntax that would silently not work is refused") {
  for (const char* bad : {"a | b", "a > f", "a; b", "a && b", "echo $HOME", "echo `id`", "a $(b)", "(a)", "a < f",
                          "'open", "\"open", "trailing\\", "", "   "}) {
    CAPTURE(std::string(bad));
    const auto e = error_from([&] { tok::split_command(bad); });
    CHECK(e.kind() == ErrorKind::usage);
    CHECK(contains(e.what(), "key 'command'"));
  }
  CHECK(contains(error_from([&] { tok::split_command("a | b"); }).what(), "no shell"));
}

TEST_CASE_FIXTURE(CommandFixture, "JSON output with access_token and expires_in") {
  runner.exits(0, R"({"access_token":")" + kToken + R"(","expires_in":600,"token_type":"Bearer"})");
  const auto t = fetch(R"(["get-token", "--profile", "a b"])");
  CHECK(t.access_token == kToken);
  CHECK(t.expiry == kNow + 600s);
  CHECK(runner.requests.back().argv == Argv{"get-token", "--profile", "a b"});
}

TEST_CASE_FIXTURE(CommandFixture, "JSON output in the Azure CLI's and credential_process's names") {
  runner.exits(0, R"({"accessToken":")" + kToken + R"(","expires_on":1800000600})");
  CHECK(fetch("x").expiry == kNow + 600s);
  runner.script.clear();
  runner.exits(0, R"({"Version":1,"access_token":")" + kToken + R"(","Expiration":"2027-01-15T08:10:00Z"})");
  CHECK(fetch("x").expiry == kNow + 600s);
}

TEST_CASE_FIXTURE(CommandFixture, "a bare token on one line: no expiry") {
  runner.exits(0, "\n  " + kToken + "  \n\n");
  const auto t = fetch("gh auth token");
  CHECK(t.access_token == kToken);
  CHECK(t.token_type == "Bearer");
  CHECK_FALSE(t.expiry.has_value());
}

TEST_CASE_FIXTURE(CommandFixture, "output that is no token is malformed, and never quoted") {
  for (const std::string& out : {std::string(), std::string("\n \n"), kToken + "\n" + kToken, "Bearer " + kToken,
                                std::string("tok\x01en")}) {
    CAPTURE(out);
    runner.script.clear();
    runner.exits(0, out);
    const auto e = error_from([&] { fetch("x"); });
    CHECK(e.kind() == ErrorKind::unavailable);
    CHECK(contains(e.what(), "malformed response"));
    CHECK_FALSE(contains(e.what(), kToken.substr(0, 8)));
  }
}

TEST_CASE_FIXTURE(CommandFixture, "a non-zero exit is refused with the first line of stderr, quoted") {
  runner.exits(2, kToken, "\nvault: permission denied for " + kToken + "\nsecond line\n");
  const auto e = error_from([&] { fetch(R"(["/usr/bin/vault", "read", "--password=hunter2"])"); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(contains(e.what(), "command 'vault': exit status 2: vault: permission denied for"));
  CHECK_FALSE(contains(e.what(), kToken));
  CHECK_FALSE(contains(e.what(), "second line"));
  CHECK_FALSE(contains(e.what(), "hunter2"));  // arguments are never echoed
}

TEST_CASE_FIXTURE(CommandFixture, "the program's name is shown as it is, but on one line") {
  tok::ProcessResult missing;
  missing.not_found = true;
  runner.script = {missing};
  CHECK(contains(error_from([&] { fetch(R"(["/opt/bin/my-company-token-helper-v2"])"); }).what(),
                 "command 'my-company-token-helper-v2': not found"));
  const std::string forged = error_from([&] { fetch(R"(["evil\ntok: hint: run rm -rf"])"); }).what();
  CHECK_FALSE(contains(forged, "\n"));
}

TEST_CASE_FIXTURE(CommandFixture, "not found, killed by a signal, timed out: unavailable") {
  tok::ProcessResult missing;
  missing.not_found = true;
  runner.script = {missing};
  auto e = error_from([&] { fetch("no-such-tool"); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "not found"));
  tok::ProcessResult killed;
  killed.signal = 11;
  runner.script = {killed};
  CHECK(contains(error_from([&] { fetch("x"); }).what(), "signal 11"));
  tok::ProcessResult hung;
  hung.timed_out = true;
  hung.signal = 9;
  runner.script = {hung};
  e = error_from([&] { fetch("x", {{"command_timeout", "3s"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "no answer within 3s; killed"));
}

TEST_CASE_FIXTURE(CommandFixture, "the deadline is command_timeout or the caller's, whichever comes first") {
  runner.exits(0, kToken);
  fetch("x", {{"command_timeout", "4s"}});
  CHECK(runner.requests.back().deadline == world.steady_now() + 4s);
  const auto soon = world.steady_now() + 1s;
  fetch("x", {}, soon);
  CHECK(runner.requests.back().deadline == soon);
}

TEST_CASE("settings: command is required") {
  tok::ProviderDeps deps;
  tok_test::Settings v{{"provider", "command"}};
  CHECK(error_from([&] { tok::make_provider(tok::ProviderSettings(v), deps); }).kind() == ErrorKind::usage);
}

}  // TEST_SUITE

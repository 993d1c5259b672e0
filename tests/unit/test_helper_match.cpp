// cli/helper_match: which profile a credential helper answers with.
#include <doctest/doctest.h>

#include <string>

#include "cli/config.hpp"
#include "cli/helpers/helper_match.hpp"
#include "cli/helpers/helper_url.hpp"
#include "core/error.hpp"
#include "providers/github_app.hpp"

using tok::git_host_matches;

TEST_SUITE("helper matching") {
  TEST_CASE("lists are comma separated, trimmed, without empty entries") {
    CHECK(tok::split_list(" a.example.com ,b.example.com/org,, ") ==
          std::vector<std::string>{"a.example.com", "b.example.com/org"});
    CHECK(tok::split_list("").empty());
  }

  TEST_CASE("a git host matches without case and with its port") {
    CHECK(git_host_matches("git.example.com", "https", "GIT.example.COM", ""));
    CHECK(git_host_matches("https://git.example.com", "https", "git.example.com", "any/path"));
    CHECK_FALSE(git_host_matches("git.example.com", "https", "git.example.com.evil.org", ""));
    CHECK_FALSE(git_host_matches("git.example.com", "https", "example.com", ""));
    CHECK(git_host_matches("127.0.0.1:8080", "https", "127.0.0.1:8080", ""));
    CHECK_FALSE(git_host_matches("127.0.0.1:8080", "https", "127.0.0.1:8081", ""));
    CHECK_FALSE(git_host_matches("127.0.0.1", "https", "127.0.0.1:8080", ""));
    CHECK_FALSE(git_host_matches("127.0.0.1:8080", "https", "127.0.0.1", ""));
  }

  TEST_CASE("a path prefix matches whole segments, a .git suffix aside") {
    CHECK(git_host_matches("h/org", "https", "h", "org/repo.git"));
    CHECK(git_host_matches("h/org/", "https", "h", "org"));
    CHECK(git_host_matches("h/org/repo", "https", "h", "org/repo.git"));
    CHECK(git_host_matches("h/org/repo.git", "https", "h", "org/repo"));
    CHECK_FALSE(git_host_matches("h/org", "https", "h", "organisation/repo"));
    CHECK_FALSE(git_host_matches("h/org/repo", "https", "h", "org/repo2"));
    // git sends the path only with credential.useHttpPath: a prefix cannot be checked without it.
    CHECK_FALSE(git_host_matches("h/org", "https", "h", ""));
  }

  TEST_CASE("the host compares without case, the path prefix with it") {
    // fuzz_helper_match's regress-2684c3...: its harness upper-cased the whole entry and expected
    // the same answer; the code is right, a path on a git server is case sensitive.
    CHECK(git_host_matches("github.com/org", "https", "github.com", "org/repo.git"));
    CHECK(git_host_matches("GITHUB.COM/org", "https", "github.com", "org/repo.git"));
    CHECK(git_host_matches("https://GitHub.com/org", "https", "GITHUB.COM", "org/repo.git"));
    CHECK_FALSE(git_host_matches("GITHUB.COM/ORG", "https", "github.com", "org/repo.git"));
    CHECK_FALSE(git_host_matches("github.com/org", "https", "github.com", "Org/repo.git"));
  }

  TEST_CASE("the scheme is part of the match: no token over plain http to a remote host") {
    CHECK_FALSE(git_host_matches("git.example.com", "http", "git.example.com", ""));
    CHECK_FALSE(git_host_matches("https://git.example.com", "http", "git.example.com", ""));
    CHECK(git_host_matches("http://git.example.com", "http", "git.example.com", ""));
    CHECK(git_host_matches("127.0.0.1:8080", "http", "127.0.0.1:8080", ""));
    CHECK(git_host_matches("localhost:8080", "http", "LOCALHOST:8080", ""));
    CHECK_FALSE(git_host_matches("git.example.com", "ftp", "git.example.com", ""));
    CHECK_FALSE(git_host_matches("git.example.com", "", "git.example.com", ""));
  }

  TEST_CASE("paths match by segments: '.' dropped, '..' never") {
    CHECK(git_host_matches("h/org", "https", "h", "./org//repo.git"));
    CHECK_FALSE(git_host_matches("h/org", "https", "h", "org/../evil/repo.git"));
    CHECK_FALSE(git_host_matches("h/org/repo", "https", "h", "org/repo/.."));
    CHECK_FALSE(git_host_matches("h/org/repo.git", "https", "h", "org/repo.git.evil"));
  }

  TEST_CASE("an entry that is not a host is an error") {
    CHECK_THROWS_AS(git_host_matches("/org", "https", "h", "org"), tok::Error);
    CHECK_THROWS_AS(git_host_matches("user@h", "https", "h", ""), tok::Error);
    CHECK_THROWS_AS(git_host_matches("h/../x", "https", "h", "x"), tok::Error);
    CHECK_THROWS_AS(git_host_matches("ftp://h", "https", "h", ""), tok::Error);
  }

  TEST_CASE("the first profile in file order wins, a malformed entry matches nothing") {
    const tok::IniFile config = tok::parse_ini(
        "[none]\nprovider = oauth\n"
        "[org]\ngit_hosts = git.example.com/org\ndocker_registries = localhost:5000\n"
        "[all]\ngit_hosts = other.example.com, git.example.com\ndocker_registries = https://registry.example.com/v2/\n"
        "docker_username = robot\n",
        "/etc/tok/config");
    CHECK(tok::find_git_profile(config, "https", "git.example.com", "org/repo").value() == "org");
    CHECK(tok::find_git_profile(config, "https", "git.example.com", "").value() == "all");
    CHECK(tok::find_git_profile(config, "https", "git.example.com", "other/repo").value() == "all");
    CHECK_FALSE(tok::find_git_profile(config, "https", "nowhere.example.com", "").has_value());
    CHECK_FALSE(tok::find_git_profile(config, "https", "", "").has_value());

    CHECK(tok::find_docker_profile(config, {"https", {"registry.example.com", ""}}).value() == "all");
    CHECK(tok::find_docker_profile(config, {"https", {"localhost", "5000"}}).value() == "org");
    CHECK_FALSE(tok::find_docker_profile(config, {"https", {"localhost", "5001"}}).has_value());
    CHECK_FALSE(tok::find_docker_profile(config, {"https", {"localhost", ""}}).has_value());
    CHECK(tok::find_docker_profile(config, {"http", {"localhost", "5000"}}).value() == "org");  // loopback
    CHECK_FALSE(tok::find_docker_profile(config, {"http", {"registry.example.com", ""}}).has_value());

    const auto users = tok::docker_registry_users(config);
    REQUIRE(users.size() == 2);
    CHECK(users[0].registry == "localhost:5000");
    CHECK(users[0].username == "oauth2accesstoken");
    CHECK(users[1].registry == "https://registry.example.com/v2/");
    CHECK(users[1].username == "robot");

    // One profile's malformed entry is its own error (resolve_profile), not every host's.
    const tok::IniFile bad = tok::parse_ini(
        "[a]\nprovider = oauth\ngit_hosts = b\xc3\xa4" "d.example.com, ok.example.com\n"
        "[b]\nprovider = oauth\ngit_hosts = x.example.com\n",
        "/c");
    CHECK(tok::find_git_profile(bad, "https", "x.example.com", "").value() == "b");
    CHECK(tok::find_git_profile(bad, "https", "ok.example.com", "").value() == "a");
  }

  TEST_CASE("a github-app profile without git_hosts answers for its API's host") {
    const tok::IniFile config = tok::parse_ini(
        "[other]\nprovider = oauth\n"
        "[public]\nprovider = github-app\n"
        "[ghes]\nprovider = github-app\napi_url = https://GHE.example.com/api/v3\n"
        "[local]\nprovider = github-app\napi_url = http://127.0.0.1:8080\n"
        "[set]\nprovider = github-app\napi_url = https://set.example.com/api/v3\ngit_hosts = git.example.com\n",
        "/c");
    CHECK(tok::find_git_profile(config, "https", "github.com", "").value() == "public");
    CHECK_FALSE(tok::find_git_profile(config, "https", "api.github.com", "").has_value());
    CHECK(tok::find_git_profile(config, "https", "ghe.example.com", "org/repo").value() == "ghes");
    CHECK(tok::find_git_profile(config, "http", "127.0.0.1:8080", "").value() == "local");
    CHECK(tok::find_git_profile(config, "https", "git.example.com", "").value() == "set");
    CHECK_FALSE(tok::find_git_profile(config, "https", "set.example.com", "").has_value());
    CHECK(tok::github_git_host("https://api.github.com") == "github.com");
    CHECK(tok::github_git_host("https://ghe.example.com:8443/api/v3") == "ghe.example.com:8443");
    CHECK(tok::github_git_host("http://[::1]:9/") == "http://[::1]:9");
  }
}

// cli/credential_input: what git, Docker and kubectl hand a helper. Hostile input must give a
// usage error that quotes none of it, never a crash.
#include <doctest/doctest.h>

#include <string>

#include "cli/credential_input.hpp"
#include "core/error.hpp"

using tok::GitCredentialRequest;
using tok::parse_git_credential;
using tok::parse_registry_address;
using tok::RegistryAddress;

namespace {

template <typename F>
std::string usage_error(F&& f) {
  try {
    f();
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::usage);
    return e.what();
  }
  FAIL_CHECK("expected Error(usage)");
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("git credential input") {
  TEST_CASE("attributes up to the blank line, unknown keys ignored") {
    const auto r = parse_git_credential(
        "protocol=https\nhost=git.example.com:8443\npath=org/repo.git/\nusername=me\npassword=p=w\n"
        "capability[]=authtype\nwwwauth[]=Basic realm=\"x\"\n\nhost=after.example.com\n");
    CHECK(r.protocol == "https");
    CHECK(r.host == "git.example.com:8443");
    CHECK(r.path == "org/repo.git");  // trailing slashes go, as in git
    CHECK(r.username == "me");
    CHECK(r.password == "p=w");  // split at the first '='
  }

  TEST_CASE("the end of input ends a request too, with or without a last newline") {
    CHECK(parse_git_credential("host=a").host == "a");
    CHECK(parse_git_credential("host=a\n").host == "a");
    CHECK(parse_git_credential("").host.empty());
    CHECK(parse_git_credential("\nhost=a\n").host.empty());
  }

  TEST_CASE("later keys replace earlier ones, empty values are values") {
    const auto r = parse_git_credential("host=a\nhost=b\npassword=\n");
    CHECK(r.host == "b");
    CHECK(r.password.empty());
  }

  TEST_CASE("url= resets the request and fills it as git does") {
    const auto r = parse_git_credential("host=old\npassword=old\nurl=https://u%40x:p%3Aw@Git.Example.com:8443/org/repo.git/\n");
    CHECK(r.protocol == "https");
    CHECK(r.host == "Git.Example.com:8443");
    CHECK(r.path == "org/repo.git");
    CHECK(r.username == "u@x");
    CHECK(r.password == "p:w");
    const auto bare = parse_git_credential("url=http://h\n");
    CHECK(bare.host == "h");
    CHECK(bare.path.empty());
    CHECK(contains(usage_error([] { parse_git_credential("url=git.example.com/x\n"); }), "no scheme"));
  }

  TEST_CASE("a url hiding a control character is refused") {
    CHECK(contains(usage_error([] { parse_git_credential("url=https://h/x%0ahost=evil\n"); }), "control character"));
    CHECK(contains(usage_error([] { parse_git_credential("url=https://h%00/x\n"); }), "control character"));
  }

  TEST_CASE("lines up to 64 KiB, not one byte more") {
    const std::string longest = "password=" + std::string(tok::kGitLineMax - 9, 'x');
    CHECK(parse_git_credential(longest + "\n").password.size() == tok::kGitLineMax - 9);
    const std::string too_long = longest + "x";
    CHECK(contains(usage_error([&] { parse_git_credential("host=a\n" + too_long + "\n"); }), "line 2 is longer than 64 KiB"));
  }

  TEST_CASE("a NUL byte, a carriage return, no '=' or an empty key is an error that quotes nothing") {
    const std::string nul = std::string("host=a\npassword=se") + '\0' + "cret\n";
    std::string message = usage_error([&] { parse_git_credential(nul); });
    CHECK(contains(message, "line 2 holds a NUL byte"));
    CHECK_FALSE(contains(message, "se"));
    message = usage_error([] { parse_git_credential("protocol=https\r\nhost=a\r\n\r\n"); });
    CHECK(contains(message, "line 1 holds a carriage return"));
    message = usage_error([] { parse_git_credential("host=a\nsecretwithoutequals\n"); });
    CHECK(contains(message, "line 2 is not key=value"));
    CHECK_FALSE(contains(message, "secretwithoutequals"));
    CHECK(contains(usage_error([] { parse_git_credential("=value\n"); }), "empty key"));
  }

  TEST_CASE("garbage after the blank line is not read") {
    const std::string after = std::string("host=a\n\n") + '\0' + "\r\nnoequals";
    CHECK(parse_git_credential(after).host == "a");
  }

  TEST_CASE("a request is complete at its blank line") {
    CHECK_FALSE(tok::git_request_complete(""));
    CHECK_FALSE(tok::git_request_complete("host=a\n"));
    CHECK(tok::git_request_complete("host=a\n\n"));
    CHECK(tok::git_request_complete("\n"));
  }

  TEST_CASE("every byte value in every position: an answer or a usage error, never a crash") {
    const std::string base = "protocol=https\nhost=h\nurl=https://u:p@h/p%41\n\n";
    for (std::size_t pos = 0; pos < base.size(); ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string input = base;
        input[pos] = static_cast<char>(b);
        try {
          (void)parse_git_credential(input);
        } catch (const tok::Error& e) {
          REQUIRE(e.kind() == tok::ErrorKind::usage);
        }
      }
    }
  }
}

TEST_SUITE("docker helper input") {
  TEST_CASE("server URLs with or without scheme, path and port") {
    CHECK(parse_registry_address("https://Registry.Example.com/v2/") == RegistryAddress{"registry.example.com", ""});
    CHECK(parse_registry_address("registry.example.com") == RegistryAddress{"registry.example.com", ""});
    CHECK(parse_registry_address("  localhost:5000\n") == RegistryAddress{"localhost", "5000"});
    CHECK(parse_registry_address("http://localhost:5000/v1/") == RegistryAddress{"localhost", "5000"});
    CHECK(parse_registry_address("[::1]:5000") == RegistryAddress{"[::1]", "5000"});
    CHECK(parse_registry_address("https://[::1]/v2/") == RegistryAddress{"[::1]", ""});
  }

  TEST_CASE("what is not an address") {
    for (const char* bad : {"", "   ", "https://", "host:", "host:port", "host:123456", "user@host", "a b", "[::1",
                            "[::1]x", "ho\x01st", "caf\xc3\xa9.example.com", "a\\b", "h\x7f"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_registry_address(bad).has_value());
    }
  }

  TEST_CASE("store requests") {
    const auto r = tok::parse_docker_store(R"({"ServerURL":"https://r.example.com","Username":"u","Secret":"s"})");
    CHECK(r.server_url == "https://r.example.com");
    CHECK(r.username == "u");
    CHECK(contains(usage_error([] { tok::parse_docker_store("{\"ServerURL\": "); }), "not JSON"));
    CHECK(contains(usage_error([] { tok::parse_docker_store("[1]"); }), "not a JSON object"));
    CHECK(contains(usage_error([] { tok::parse_docker_store(R"({"ServerURL":1,"Username":"u"})"); }), "ServerURL is not a string"));
    CHECK(usage_error([] { tok::parse_docker_store(R"({"Username":"u","Secret":"s"})"); }) == "no credentials server URL");
    CHECK(usage_error([] { tok::parse_docker_store(R"({"ServerURL":"r","Secret":"s"})"); }) == "no credentials username");
  }
}

TEST_SUITE("kubectl exec info") {
  TEST_CASE("apiVersion v1 by default, v1 or v1beta1 as asked") {
    CHECK(tok::exec_credential_api_version(nullptr) == "client.authentication.k8s.io/v1");
    CHECK(tok::exec_credential_api_version(
              R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}})") ==
          "client.authentication.k8s.io/v1beta1");
    CHECK(tok::exec_credential_api_version(R"({"apiVersion":"client.authentication.k8s.io/v1"})") ==
          "client.authentication.k8s.io/v1");
  }

  TEST_CASE("malformed or unknown exec info is a clear error") {
    CHECK(contains(usage_error([] { tok::exec_credential_api_version("{"); }), "not a JSON object"));
    CHECK(contains(usage_error([] { tok::exec_credential_api_version("{}"); }), "no apiVersion"));
    CHECK(contains(usage_error([] { tok::exec_credential_api_version(R"({"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"})"); }),
                   "kind is not ExecCredential"));
    const std::string message = usage_error(
        [] { tok::exec_credential_api_version("{\"apiVersion\":\"client.authentication.k8s.io/v1alpha1\\nforged\"}"); });
    CHECK(contains(message, "v1alpha1?forged"));  // shown, but on one line
  }
}

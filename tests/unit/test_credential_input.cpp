// cli/credential_input: what git, Docker and kubectl hand a helper. Hostile input must give a
// usage error that quotes none of it, never a crash.
#include <doctest/doctest.h>

#include <string>

#include "cli/helpers/credential_input.hpp"
#include "core/error.hpp"

using tok::GitCredentialRequest;
using tok::parse_git_credential;

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
    CHECK(contains(usage_error([] { parse_git_credential("url=https://h%01/x\n"); }), "control character"));
    CHECK(contains(usage_error([] { parse_git_credential("url=https://u%0a@h/x\n"); }), "control character"));
    // git's url_decode leaves %00 as written: no NUL, and no host tok serves either.
    CHECK(parse_git_credential("url=https://h%00/x\n").host == "h%00");
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
  TEST_CASE("apiVersion v1 by default, v1 or v1beta1 as asked, spec.interactive when said") {
    CHECK(tok::read_exec_info(nullptr).api_version == "client.authentication.k8s.io/v1");
    CHECK_FALSE(tok::read_exec_info(nullptr).interactive.has_value());
    const auto beta = tok::read_exec_info(
        R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}})");
    CHECK(beta.api_version == "client.authentication.k8s.io/v1beta1");
    CHECK(beta.interactive == false);
    CHECK(tok::read_exec_info(R"({"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}})").interactive ==
          true);
  }

  TEST_CASE("nothing but apiVersion and spec.interactive is read: any kind, any cluster") {
    // provideClusterInfo: kubectl adds the cluster, its whole CA bundle (base64) included.
    const std::string ca(100 * 1024, 'A');
    const std::string info = R"({"kind":"Whatever","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{)"
                             R"("server":"https://127.0.0.1:6443","certificate-authority-data":")" + ca +
                             R"(","config":{"x":[1,2,{"y":null}]}},"interactive":false}})";
    CHECK(info.size() > 100 * 1024);
    const auto r = tok::read_exec_info(info.c_str());
    CHECK(r.api_version == "client.authentication.k8s.io/v1");
    CHECK(r.interactive == false);
  }

  TEST_CASE("up to 128 KiB, kubectl's own limit (execve's for one string)") {
    const std::string head = R"({"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"certificate-authority-data":")";
    const std::string tail = R"("}}})";
    const std::string fits = head + std::string(tok::kExecInfoMax - head.size() - tail.size(), 'A') + tail;
    CHECK(fits.size() == tok::kExecInfoMax);
    CHECK(tok::read_exec_info(fits.c_str()).api_version == "client.authentication.k8s.io/v1");
    const std::string over = head + std::string(tok::kExecInfoMax - head.size() - tail.size() + 1, 'A') + tail;
    CHECK(contains(usage_error([&] { tok::read_exec_info(over.c_str()); }), "longer than 128 KiB"));
  }

  TEST_CASE("malformed or unknown exec info is a clear error") {
    CHECK(contains(usage_error([] { tok::read_exec_info("{"); }), "not a JSON object"));
    CHECK(contains(usage_error([] { tok::read_exec_info("[]"); }), "not a JSON object"));
    CHECK(contains(usage_error([] { tok::read_exec_info("{}"); }), "no apiVersion"));
    CHECK(contains(usage_error([] { tok::read_exec_info(R"({"spec":{"apiVersion":"client.authentication.k8s.io/v1"}})"); }),
                   "no apiVersion"));
    CHECK(contains(usage_error([] {
                     tok::read_exec_info(R"({"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":"no"}})");
                   }),
                   "spec.interactive"));
    const std::string message = usage_error(
        [] { tok::read_exec_info("{\"apiVersion\":\"client.authentication.k8s.io/v1alpha1\\nforged\"}"); });
    CHECK(contains(message, "v1alpha1?forged"));  // shown, but on one line
  }
}

TEST_CASE("the answers: git's lines, Docker's JSON, kubectl's ExecCredential") {
  using namespace std::chrono_literals;
  const tok::TimePoint expiry{std::chrono::seconds(1795000000)};
  CHECK(tok::git_answer("x-access-token", "tok-abc", std::nullopt) == "username=x-access-token\npassword=tok-abc\n");
  CHECK(tok::git_answer("u", "t", expiry + 999ms) == "username=u\npassword=t\npassword_expiry_utc=1795000000\n");
  CHECK(tok::docker_answer("https://registry.example.com", "<token>", "tok\"abc") ==
        "{\"ServerURL\":\"https://registry.example.com\",\"Username\":\"<token>\",\"Secret\":\"tok\\\"abc\"}\n");
  CHECK(tok::exec_credential(tok::kExecCredentialV1beta1, "t", std::nullopt) ==
        "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}\n");
  CHECK(tok::exec_credential(tok::kExecCredentialV1, "t", expiry).find("\"expirationTimestamp\":\"2026-11-18T") !=
        std::string::npos);
}

TEST_CASE("git_answer: a value git would split or cut is refused, never written") {
  using namespace std::string_literals;
  for (const std::string& bad : {"x\nusername=evil"s, "x\r"s, "x\0evil"s, "\n"s}) {
    CAPTURE(bad);
    CHECK_THROWS_AS((void)tok::git_answer(bad, "tok-abc", std::nullopt), tok::Error);
    CHECK_THROWS_AS((void)tok::git_answer("u", bad, std::nullopt), tok::Error);
  }
  try {
    (void)tok::git_answer("x\nusername=evil", "t", std::nullopt);
    FAIL("a user name with a line break was written");
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::usage);
    CHECK(std::string(e.what()).find("evil") == std::string::npos);
  }
  // Anything else one line may hold is written as it is.
  CHECK(tok::git_answer("a=b c\t\"d\"", "t", std::nullopt) == "username=a=b c\t\"d\"\npassword=t\n");
}

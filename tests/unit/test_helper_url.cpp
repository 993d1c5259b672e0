// cli/helper_url: the one URL reader of the credential helpers. The git rows are what git's own
// credential_from_url makes of each URL (tests/peers/test_git.py checks the hostile ones against
// the real git); the Docker rows what the Docker CLI's ConvertToHostname makes of a server URL.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cli/helpers/helper_url.hpp"
#include "core/error.hpp"

using tok::HostPort;

TEST_SUITE("helper urls") {
  TEST_CASE("git urls read by git's rules: first '@', host ends at '/', '?' or '#'") {
    struct Row {
      const char* url;
      const char* protocol;
      const char* host;
      const char* path;
      const char* username;
      const char* password;
    };
    const Row rows[] = {
        // The attacks: git reads the host as evil.test, so must tok.
        {"https://evil.test#@git.example.com/", "https", "evil.test", "#@git.example.com", "", ""},
        {"https://evil.test?@git.example.com/", "https", "evil.test", "?@git.example.com", "", ""},
        {"https://evil.test/@git.example.com/", "https", "evil.test", "@git.example.com", "", ""},
        // A backslash is nothing special to git: user info up to the first '@'.
        {"https://evil.test\\@git.example.com/", "https", "git.example.com", "", "evil.test\\", ""},
        // The first '@', not the last; the first ':' before it splits user and password.
        {"https://a@b@git.example.com/x", "https", "b@git.example.com", "x", "a", ""},
        {"https://u:p:q@git.example.com/", "https", "git.example.com", "", "u", "p:q"},
        {"https://user@git.example.com:8443/org/", "https", "git.example.com:8443", "org", "user", ""},
        {"https://u%40x:p%3Aw@Git.Example.com:8443/org/repo.git/", "https", "Git.Example.com:8443", "org/repo.git",
         "u@x", "p:w"},
        // Percent-decoding as git's url_decode_mem: not before a part's first ':', never %00.
        {"https://git%2eexample.com/org%2Frepo", "https", "git.example.com", "org/repo", "", ""},
        {"https://git%2eexample.com:443/", "https", "git%2eexample.com:443", "", "", ""},
        {"https://h/a%00b", "https", "h", "a%00b", "", ""},
        {"https://h/org/%2e%2e/evil/repo.git", "https", "h", "org/../evil/repo.git", "", ""},
        // Ports, IPv6 literals, slashes.
        {"http://127.0.0.1:8080", "http", "127.0.0.1:8080", "", "", ""},
        {"https://[::1]:8443/x", "https", "[::1]:8443", "x", "", ""},
        {"https://u:pw@[::1]/x", "https", "[::1]", "x", "u", "pw"},
        {"https://h//org///repo//", "https", "h", "org///repo", "", ""},
        {"https://h/", "https", "h", "", "", ""},
        {"https://", "https", "", "", "", ""},
        {"weird+scheme://h/p", "weird+scheme", "h", "p", "", ""},
    };
    for (const Row& row : rows) {
      CAPTURE(row.url);
      const tok::GitUrl u = tok::read_git_url(row.url);
      CHECK(u.protocol == row.protocol);
      CHECK(u.host == row.host);
      CHECK(u.path == row.path);
      CHECK(u.username == row.username);
      CHECK(u.password == row.password);
    }
  }

  TEST_CASE("git urls without a scheme or with a control character are errors quoting nothing") {
    for (const char* bad : {"git.example.com/x", "://h/x", "", "https://h/x%0ahost=evil", "https://u%0d@h/",
                            "https://u:p%7f@h/", "https://h%01/"}) {
      CAPTURE(bad);
      try {
        (void)tok::read_git_url(bad);
        FAIL("expected an error");
      } catch (const tok::Error& e) {
        CHECK(e.kind() == tok::ErrorKind::usage);
        CHECK(std::string(e.what()).find("evil") == std::string::npos);
      }
    }
  }

  TEST_CASE("Docker server urls: a scheme only at the very start") {
    struct Row {
      const char* url;
      const char* scheme;
      const char* host;
      const char* port;
    };
    const Row rows[] = {
        // The attack: "://" later in the text is no scheme, so this is evil.test.
        {"evil.test/x://registry.example.com", "https", "evil.test", ""},
        {"https://Registry.Example.com/v2/", "https", "registry.example.com", ""},
        {"registry.example.com", "https", "registry.example.com", ""},
        {"  localhost:5000\n", "https", "localhost", "5000"},
        {"http://localhost:5000/v1/", "http", "localhost", "5000"},
        {"HTTPS://r.example.com", "https", "r.example.com", ""},
        {"[::1]:5000", "https", "[::1]", "5000"},
        {"https://[::1]/v2/", "https", "[::1]", ""},
        {"https://index.docker.io/v1/", "https", "index.docker.io", ""},
    };
    for (const Row& row : rows) {
      CAPTURE(row.url);
      const auto u = tok::read_registry_url(row.url);
      REQUIRE(u.has_value());
      CHECK(u->scheme == row.scheme);
      CHECK(u->address == HostPort{row.host, row.port});
    }
    for (const char* bad : {"",
                            "   ",
                            "https://",
                            "host:",
                            "host:port",
                            "host:123456",
                            "user@host",
                            "a b",
                            "[::1",
                            "[::1]x",
                            "[]",
                            "[zz]",
                            "ho\x01st",
                            "caf\xc3\xa9.example.com",
                            "a\\b",
                            "h\x7f",
                            "ftp://r.example.com",
                            "r.example.com#x",
                            "r.example.com?x",
                            "https://evil.test#@r.example.com"}) {
      CAPTURE(bad);
      CHECK_FALSE(tok::read_registry_url(bad).has_value());
    }
  }

  TEST_CASE("entries: an optional http(s) scheme, a host, a path prefix without '..'") {
    const auto e = tok::read_helper_entry("git.example.com");
    CHECK(e.scheme == "https");
    CHECK(e.address == HostPort{"git.example.com", ""});
    CHECK(e.path.empty());
    const auto h = tok::read_helper_entry("HTTP://Git.example.com:8080/org/./team//");
    CHECK(h.scheme == "http");
    CHECK(h.address == HostPort{"git.example.com", "8080"});
    CHECK(h.path == std::vector<std::string>{"org", "team"});
    for (const char* bad : {"ftp://h", "/org", "user@h", "h/../x", "h/org/..", "evil.test/x://h", "h?x", "h#x",
                            "b\xc3\xa4"
                            "d.example.com",
                            "h/org/a%2fb", "h:99999", ""}) {
      CAPTURE(bad);
      CHECK_THROWS_AS((void)tok::read_helper_entry(bad), tok::Error);
    }
  }

  TEST_CASE("path segments: '.' and empty ones dropped, '..' matches nothing") {
    CHECK(tok::path_segments("org/./repo.git//") == std::vector<std::string>{"org", "repo.git"});
    CHECK(tok::path_segments("").value().empty());
    CHECK_FALSE(tok::path_segments("org/../evil/repo.git").has_value());
    CHECK_FALSE(tok::path_segments("..").has_value());
    CHECK(tok::path_segments("org/...").value() == std::vector<std::string>{"org", "..."});
  }

  TEST_CASE("http only for an http:// entry or a loopback host") {
    const auto https_entry = tok::read_helper_entry("git.example.com");
    const auto http_entry = tok::read_helper_entry("http://git.example.com");
    const HostPort remote{"git.example.com", ""};
    CHECK(tok::scheme_allowed(https_entry, "https", remote));
    CHECK(tok::scheme_allowed(https_entry, "HTTPS", remote));
    CHECK_FALSE(tok::scheme_allowed(https_entry, "http", remote));
    CHECK(tok::scheme_allowed(http_entry, "http", remote));
    CHECK(tok::scheme_allowed(http_entry, "https", remote));
    CHECK_FALSE(tok::scheme_allowed(https_entry, "ftp", remote));
    CHECK_FALSE(tok::scheme_allowed(https_entry, "", remote));
    for (const char* host : {"localhost", "127.0.0.1", "127.255.0.9", "[::1]"}) {
      CAPTURE(host);
      CHECK(tok::is_loopback({host, "8080"}));
      CHECK(tok::scheme_allowed(https_entry, "http", {host, "8080"}));
    }
    for (const char* host :
         {"127.0.0.1.evil.test", "127.0.0", "127.0.0.256", "128.0.0.1", "[::2]", "localhost.evil.test", "0.0.0.0"}) {
      CAPTURE(host);
      CHECK_FALSE(tok::is_loopback({host, ""}));
    }
  }

  TEST_CASE("host and port") {
    CHECK(tok::read_host_port("Git.Example.COM:443") == HostPort{"git.example.com", "443"});
    CHECK(tok::read_host_port("[::1]") == HostPort{"[::1]", ""});
    CHECK(tok::read_host_port("[FE80::1]:22") == HostPort{"[fe80::1]", "22"});
    for (const char* bad : {"", ":80", "h:", "h:1a", "h:123456", "[::1]:", "h h", "h/x", "[::1", "u@h"}) {
      CAPTURE(bad);
      CHECK_FALSE(tok::read_host_port(bad).has_value());
    }
  }
}

// provider = oidc-federation and auth_method = private_key_jwt through a fake transport: what
// goes on the wire, where the ID token comes from, and which errors say what.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/error.hpp"
#include "fakes.hpp"
#include "providers/jws.hpp"
#include "providers/provider.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;
using FakeTransport = tok_test::ScriptedTransport;
using tok_test::form_field;
using tok_test::http_status;

namespace {

const tok::TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 29} + 10h;
const std::string kGood = R"({"access_token":"at-1","token_type":"Bearer","expires_in":3600})";

struct FakeSigner final : tok::JwsSigner {
  std::string sign(std::string_view, std::string_view, std::string_view, std::string&) override { return "sig"; }
};

// The tests' fake world: its environment is what the Env guards set, never the process's.
tok_test::FakeWorld& test_world() {
  static tok_test::FakeWorld world;
  return world;
}

// Sets a variable of the fake world for the scope of a test (nullptr: unset).
struct Env {
  tok_test::EnvGuard guard;
  Env(std::string n, const char* value)
      : guard(test_world(), std::move(n), value != nullptr ? std::optional<std::string>(value) : std::nullopt) {}
};

struct Fixture {
  tok::FakeClock& clock = test_world().wall;
  Fixture() { clock.set(kNow); }
  FakeTransport http;
  FakeSigner signer;
  tok::ProviderMemo memo;

  std::unique_ptr<tok::Provider> make(std::map<std::string, std::string, std::less<>> values) {
    tok::ProviderDeps deps;
    deps.http = &http;
    deps.world = &test_world();
    deps.signer = &signer;
    return tok::make_provider(tok::ProviderSettings(std::move(values)), deps);
  }
  tok::Token fetch(tok::Provider& p, tok::FetchMode mode = tok::FetchMode::blocking) {
    return p.fetch(test_world().steady_now() + 1h, memo, mode);
  }
};

std::string error_of(const std::function<void()>& f, tok::ErrorKind expected) {
  try {
    f();
  } catch (const tok::Error& e) {
    CHECK(e.kind() == expected);
    return std::string(e.what()) + " | " + e.advice();
  }
  FAIL("expected an error");
  return {};
}

}  // namespace

TEST_SUITE("federation") {

TEST_CASE("github: asks for the ID token with the bearer and audience, then exchanges it (RFC 8693)") {
  Env url("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/idtoken?api-version=2.0");
  Env bearer("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-bearer");
  Fixture f;
  f.http.script = {http_status(200, R"({"count":1,"value":"id.token.jwt"})"), http_status(200, kGood)};
  auto p = f.make({{"provider", "oidc-federation"},
                   {"token_url", "https://login.example.com/token"},
                   {"id_token_source", "github"},
                   {"id_token_audience", "api://tok ci"},
                   {"scopes", "a b"}});
  const tok::Token t = f.fetch(*p);
  CHECK(t.access_token == "at-1");
  CHECK(t.expiry == kNow + 3600s);
  REQUIRE(f.http.requests.size() == 2);
  const auto& id_request = f.http.requests[0];
  CHECK(id_request.method == "GET");
  CHECK(id_request.url == "http://127.0.0.1:9/idtoken?api-version=2.0&audience=api%3A%2F%2Ftok%20ci");
  CHECK(std::find(id_request.headers.begin(), id_request.headers.end(), "Authorization: Bearer request-bearer") !=
        id_request.headers.end());
  const auto& exchange = f.http.requests[1];
  CHECK(exchange.method == "POST");
  CHECK(exchange.url == "https://login.example.com/token");
  CHECK(form_field(exchange.body, "grant_type") == "urn:ietf:params:oauth:grant-type:token-exchange");
  CHECK(form_field(exchange.body, "subject_token") == "id.token.jwt");
  CHECK(form_field(exchange.body, "subject_token_type") == "urn:ietf:params:oauth:token-type:jwt");
  CHECK(form_field(exchange.body, "scope") == "a b");
  CHECK(form_field(exchange.body, "client_id") == "<absent>");
  for (const auto& h : exchange.headers) CHECK(h.rfind("Authorization:", 0) != 0);  // no other credential
}

TEST_CASE("github: the missing variables are named, exit 2, nothing sent") {
  Env url("ACTIONS_ID_TOKEN_REQUEST_URL", nullptr);
  Env bearer("ACTIONS_ID_TOKEN_REQUEST_TOKEN", nullptr);
  Fixture f;
  auto p = f.make({{"provider", "oidc-federation"}, {"token_url", "https://login.example.com/token"}, {"id_token_source", "github"}});
  const auto m = error_of([&] { f.fetch(*p); }, tok::ErrorKind::usage);
  CHECK(m.find("$ACTIONS_ID_TOKEN_REQUEST_URL and $ACTIONS_ID_TOKEN_REQUEST_TOKEN not set") != std::string::npos);
  CHECK(m.find("id-token: write") != std::string::npos);
  CHECK(f.http.requests.empty());
}

TEST_CASE("github: a refused ID token request is exit 3, a malformed answer exit 4") {
  Env url("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/idtoken");
  Env bearer("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-bearer");
  Fixture f;
  auto p = f.make({{"provider", "oidc-federation"}, {"token_url", "https://login.example.com/token"}, {"id_token_source", "github"}});
  f.http.script = {http_status(403, "forbidden")};
  error_of([&] { f.fetch(*p); }, tok::ErrorKind::refused);
  f.http.script = {http_status(200, R"({"count":0})")};
  CHECK(error_of([&] { f.fetch(*p); }, tok::ErrorKind::unavailable).find("no 'value'") != std::string::npos);
  CHECK(f.http.requests.back().url == "http://127.0.0.1:9/idtoken");  // no audience asked: none added
}

TEST_CASE("gitlab: the variable named by id_token_env, as the client assertion") {
  Env id("CI_TOK_ID_TOKEN", "gitlab.id.token");
  Fixture f;
  f.http.script = {http_status(200, kGood)};
  auto p = f.make({{"provider", "oidc-federation"},
                   {"token_url", "https://login.example.com/token"},
                   {"id_token_source", "gitlab"},
                   {"id_token_env", "CI_TOK_ID_TOKEN"},
                   {"exchange", "client-assertion"},
                   {"client_id", "app-123"},
                   {"scopes", "api://x/.default"}});
  f.fetch(*p);
  REQUIRE(f.http.requests.size() == 1);
  const auto& body = f.http.requests[0].body;
  CHECK(form_field(body, "grant_type") == "client_credentials");
  CHECK(form_field(body, "client_id") == "app-123");
  CHECK(form_field(body, "client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  CHECK(form_field(body, "client_assertion") == "gitlab.id.token");
  CHECK(form_field(body, "scope") == "api://x/.default");
}

TEST_CASE("gitlab: an unset variable is exit 2 naming it") {
  Env id("CI_TOK_ID_TOKEN", nullptr);
  Fixture f;
  auto p = f.make({{"provider", "oidc-federation"}, {"token_url", "https://login.example.com/token"},
                   {"id_token_source", "gitlab"}, {"id_token_env", "CI_TOK_ID_TOKEN"}});
  CHECK(error_of([&] { f.fetch(*p); }, tok::ErrorKind::usage).find("$CI_TOK_ID_TOKEN is not set") != std::string::npos);
}

TEST_CASE("file: re-read at every fetch (Kubernetes rotates it), whoever owns it") {
  tok_test::TempDir tmp;
  const auto path = (tmp.path / "token").string();
  std::ofstream(path) << "first.id.token\n";
  ::chmod(path.c_str(), 0644);
  Fixture f;
  f.http.script = {http_status(200, kGood)};
  auto p = f.make({{"provider", "oidc-federation"}, {"token_url", "https://login.example.com/token"},
                   {"id_token_source", "file"}, {"id_token_file", path}});
  f.fetch(*p);
  std::ofstream(path) << "second.id.token";
  f.fetch(*p);
  CHECK(form_field(f.http.requests[0].body, "subject_token") == "first.id.token");
  CHECK(form_field(f.http.requests[1].body, "subject_token") == "second.id.token");
  std::ofstream(path) << "";
  CHECK(error_of([&] { f.fetch(*p); }, tok::ErrorKind::usage).find("is empty") != std::string::npos);
}

TEST_CASE("a refused exchange is exit 3 and never quotes the ID token") {
  Env id("CI_TOK_ID_TOKEN", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmV4YW1wbGUifQ.c2lnbmF0dXJlc2lnbmF0dXJl");
  Fixture f;
  f.http.script = {http_status(400, R"({"error":"invalid_grant","error_description":"subject token rejected: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmV4YW1wbGUifQ.c2lnbmF0dXJlc2lnbmF0dXJl"})")};
  auto p = f.make({{"provider", "oidc-federation"}, {"token_url", "https://login.example.com/token"},
                   {"id_token_source", "gitlab"}, {"id_token_env", "CI_TOK_ID_TOKEN"}});
  const auto m = error_of([&] { f.fetch(*p); }, tok::ErrorKind::refused);
  CHECK(m.find("invalid_grant") != std::string::npos);
  CHECK(m.find("eyJhbGciOiJSUzI1NiJ9") == std::string::npos);
}

TEST_CASE("a background fetch makes one attempt") {
  Env id("CI_TOK_ID_TOKEN", "id");
  Fixture f;
  f.http.script = {http_status(503), http_status(200, kGood)};
  auto p = f.make({{"provider", "oidc-federation"}, {"token_url", "https://login.example.com/token"},
                   {"id_token_source", "gitlab"}, {"id_token_env", "CI_TOK_ID_TOKEN"}});
  error_of([&] { f.fetch(*p, tok::FetchMode::background); }, tok::ErrorKind::unavailable);
  CHECK(f.http.requests.size() == 1);
}

TEST_CASE("configuration: what is required, and keys of another source") {
  Fixture f;
  const auto usage = [&](std::map<std::string, std::string, std::less<>> v) {
    v.emplace("provider", "oidc-federation");
    return error_of([&] { f.make(v); }, tok::ErrorKind::usage);
  };
  CHECK(usage({{"id_token_source", "file"}, {"id_token_file", "/x"}}).find("key 'token_url'") != std::string::npos);
  CHECK(usage({{"token_url", "https://x/t"}}).find("key 'id_token_source'") != std::string::npos);
  CHECK(usage({{"token_url", "https://x/t"}, {"id_token_source", "circleci"}}).find("not one of") != std::string::npos);
  CHECK(usage({{"token_url", "https://x/t"}, {"id_token_source", "gitlab"}}).find("key 'id_token_env'") != std::string::npos);
  CHECK(usage({{"token_url", "https://x/t"}, {"id_token_source", "file"}}).find("key 'id_token_file'") != std::string::npos);
  CHECK(usage({{"token_url", "https://x/t"}, {"id_token_source", "github"}, {"id_token_file", "/x"}})
            .find("only used with id_token_source = file") != std::string::npos);
  CHECK(usage({{"token_url", "https://x/t"}, {"id_token_source", "github"}, {"exchange", "client-assertion"}})
            .find("key 'client_id'") != std::string::npos);
  CHECK(usage({{"token_url", "http://login.example.com/t"}, {"id_token_source", "github"}}).find("plain http") !=
        std::string::npos);
}

TEST_CASE("oauth with private_key_jwt: the assertion in the form, no secret, aud = the endpoint") {
  tok_test::TempDir tmp;
  const auto key = (tmp.path / "key.pem").string();
  std::ofstream(key) << "-----BEGIN PRIVATE KEY-----\n...\n";
  ::chmod(key.c_str(), 0600);
  Fixture f;
  f.http.script = {http_status(200, kGood)};
  auto p = f.make({{"provider", "oauth"},
                   {"token_url", "https://login.example.com/token"},
                   {"client_id", "ci"},
                   {"auth_method", "private_key_jwt"},
                   {"private_key_file", key},
                   {"key_id", "k1"}});
  f.fetch(*p);
  const auto& r = f.http.requests.at(0);
  CHECK(form_field(r.body, "grant_type") == "client_credentials");
  CHECK(form_field(r.body, "client_id") == "ci");
  CHECK(form_field(r.body, "client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  CHECK(form_field(r.body, "client_assertion").find('.') != std::string::npos);
  CHECK(form_field(r.body, "client_secret") == "<absent>");
  for (const auto& h : r.headers) CHECK(h.rfind("Authorization:", 0) != 0);
}

TEST_CASE("oauth with private_key_jwt: the key file follows the secret file's rules") {
  tok_test::TempDir tmp;
  const auto key = (tmp.path / "key.pem").string();
  std::ofstream(key) << "pem";
  Fixture f;
  auto p = f.make({{"provider", "oauth"}, {"token_url", "https://login.example.com/token"}, {"client_id", "ci"},
                   {"auth_method", "private_key_jwt"}, {"private_key_file", key}});
  for (mode_t mode : {0644, 0640, 0604}) {
    ::chmod(key.c_str(), mode);
    CHECK(error_of([&] { f.fetch(*p); }, tok::ErrorKind::usage).find("group or others may access it") != std::string::npos);
  }
  CHECK(f.http.requests.empty());
  const auto usage = [&](std::map<std::string, std::string, std::less<>> v) {
    v.emplace("provider", "oauth");
    v.emplace("token_url", "https://login.example.com/token");
    v.emplace("client_id", "ci");
    return error_of([&] { f.make(v); }, tok::ErrorKind::usage);
  };
  CHECK(usage({{"auth_method", "private_key_jwt"}}).find("key 'private_key_file'") != std::string::npos);
  CHECK(usage({{"private_key_file", key}}).find("only used with auth_method = private_key_jwt") != std::string::npos);
  CHECK(usage({{"auth_method", "private_key_jwt"}, {"private_key_file", key}, {"signing_alg", "HS256"}})
            .find("not one of") != std::string::npos);
  CHECK(usage({{"auth_method", "private_key_jwt"}, {"private_key_file", key}, {"client_secret_env", "X"}})
            .find("not used with auth_method = private_key_jwt") != std::string::npos);
}

}  // TEST_SUITE

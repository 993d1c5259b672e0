// Each grant or flow of providers/oauth/ on its own, over the small client and a scripted
// transport: what it sends, what it makes of the answer.
#include <doctest/doctest.h>

#include <string>

#include "fakes.hpp"
#include "providers/http.hpp"
#include "providers/oauth.hpp"
#include "providers/oauth/grants.hpp"

using namespace std::chrono_literals;
using tok::ErrorKind;
using tok::FetchMode;
using tok_test::contains;
using tok_test::error_from;

namespace {

const std::string kGrantsSecret = "gr4nt-s3cret";

struct GrantsFixture {
  tok_test::FakeWorld world;
  tok_test::EnvGuard secret{world, "TOK_CLIENT_SECRET", kGrantsSecret};
  tok_test::ScriptedTransport http;
  tok::ProviderMemo memo{{"issuer", "https://id.example"},
                         {"token_endpoint", "https://id.example/token"},
                         {"authorization_endpoint", "https://id.example/auth?tenant=t1"},
                         {"device_authorization_endpoint", "https://id.example/device/auth"},
                         {"revocation_endpoint", "https://id.example/revoke"}};

  tok::ProviderSettings settings(tok_test::Settings values) {
    values.emplace("provider", "oauth");
    return tok::ProviderSettings(values, tok::oauth_provider_info().keys);
  }
  // A person's login at an issuer whose metadata the memo holds: a public client.
  tok::ProviderSettings login_settings(std::string grant = "device_code", tok_test::Settings more = {}) {
    more.emplace("issuer", "https://id.example");
    more.emplace("client_id", "cli");
    more.emplace("grant", std::move(grant));
    return settings(std::move(more));
  }
  tok::ProviderDeps deps() {
    tok::ProviderDeps d;
    d.http = &http;
    d.world = &world;
    d.profile = "me";
    return d;
  }
  tok::Deadline deadline() { return world.steady_now() + 60s; }
};

}  // namespace

TEST_SUITE("oauth_grants") {

TEST_CASE_FIXTURE(GrantsFixture,
                  "oauth client: a form posted with the client's proof or without, and the code as data") {
  const tok::OAuthClient login(login_settings(), deps());
  std::vector<std::string> secrets;
  http.answer(400, R"({"error":"slow_down","error_description":"authorization_pending in text"})");
  const auto response = login.post_form("https://id.example/x", "a=b", tok::OAuthClient::Proof::client, secrets,
                                        deadline(), deps().retry_policy(FetchMode::blocking), "asking x");
  CHECK(http.requests.at(0).body == "a=b&client_id=cli");
  CHECK(http.header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(http.header("Accept") == "application/json");
  CHECK(secrets.empty());
  const tok::Error e = login.refusal(response, "asking x", secrets);
  CHECK(e.oauth_error() == "slow_down");
  CHECK(contains(e.what(), "asking x"));

  login.post_form("https://id.example/x", "a=b", tok::OAuthClient::Proof::none, secrets, deadline(),
                  deps().retry_policy(FetchMode::blocking), "asking x");
  CHECK(http.requests.at(1).body == "a=b");

  const tok::OAuthClient confidential(
      settings({{"token_url", "https://id.example/token"}, {"client_id", "ci"}, {"auth_method", "post"}}), deps());
  confidential.post_form("https://id.example/token", "a=b", tok::OAuthClient::Proof::client, secrets, deadline(),
                         deps().retry_policy(FetchMode::blocking), "asking x");
  CHECK(http.requests.at(2).body == "a=b&client_id=ci&client_secret=" + kGrantsSecret);
  CHECK(secrets == std::vector<std::string>{kGrantsSecret});
}

TEST_CASE_FIXTURE(GrantsFixture,
                  "oauth client: a login's token carries its refresh and ID tokens, a client's does not") {
  const std::string answer =
      R"({"access_token":"a1","token_type":"Bearer","expires_in":60,"refresh_token":"r1","id_token":"x.y.z"})";
  http.answer(200, answer);
  const tok::OAuthClient login(login_settings(), deps());
  const auto grant =
      login.request_token("https://id.example/token", "grant_type=x", {}, deadline(), FetchMode::blocking);
  CHECK(grant.token.access_token == "a1");
  CHECK(grant.token.fields.at(tok::kRefreshTokenField) == "r1");
  CHECK(grant.token.fields.at(tok::kIdTokenField) == "x.y.z");
  CHECK(grant.id_token == "x.y.z");

  const tok::OAuthClient client(settings({{"token_url", "https://id.example/token"}, {"client_id", "ci"}}), deps());
  const auto plain =
      client.request_token("https://id.example/token", "grant_type=x", {}, deadline(), FetchMode::blocking);
  CHECK(plain.token.fields.count(tok::kRefreshTokenField) == 0);
  CHECK(plain.id_token.empty());
}

TEST_CASE_FIXTURE(GrantsFixture,
                  "client_credentials grant: scope, audience and resource in the form, the token returned") {
  http.answer(200, R"({"access_token":"cc1","token_type":"Bearer","expires_in":60})");
  const tok::OAuthClient client(settings({{"token_url", "https://id.example/token"},
                                          {"client_id", "ci"},
                                          {"scopes", "a,b"},
                                          {"audience", "aud"},
                                          {"resource", "res"}}),
                                deps());
  const auto token = tok::fetch_client_credentials(client, deadline(), memo, FetchMode::blocking);
  CHECK(token.access_token == "cc1");
  REQUIRE(http.requests.size() == 1);
  CHECK(http.requests[0].url == "https://id.example/token");
  CHECK(http.requests[0].body == "grant_type=client_credentials&scope=a%20b&audience=aud&resource=res");
  CHECK(http.header("Authorization").has_value());
}

TEST_CASE_FIXTURE(GrantsFixture,
                  "refresh grant: a rotated refresh token replaces the old one, which is what was sent") {
  http.answer(200, R"({"access_token":"a2","token_type":"Bearer","expires_in":60,"refresh_token":"r2"})");
  const auto s = login_settings("device_code", {{"token_storage", "file"}});
  const tok::OAuthClient client(s, deps());
  const tok::LoginStorage storage(s, client);
  const auto token =
      tok::refresh_login(client, storage, deadline(), memo, FetchMode::blocking, tok_test::with_refresh_token("r1"));
  CHECK(http.requests.at(0).body == "grant_type=refresh_token&refresh_token=r1&client_id=cli");
  CHECK(token.access_token == "a2");
  CHECK(token.fields.at(tok::kRefreshTokenField) == "r2");

  const auto e = error_from([&] {
    tok::refresh_login(client, storage, deadline(), memo, FetchMode::blocking, tok_test::with_refresh_token(""));
  });
  CHECK(e.login_ended());
  CHECK(contains(e.what(), "not logged in: run tok login -p me"));
  CHECK(http.requests.size() == 1);
}

TEST_CASE_FIXTURE(GrantsFixture,
                  "device_code flow: asked without client proof, polled with the device code until approved") {
  http.answer(200, R"({"device_code":"dc/1","user_code":"U","verification_uri":"https://id.example/device",)"
                   R"("expires_in":60,"interval":3})")
      .answer(400, R"({"error":"authorization_pending"})")
      .answer(200, R"({"access_token":"d1","token_type":"Bearer","expires_in":60,"refresh_token":"r1"})");
  const tok::OAuthClient client(login_settings("device_code", {{"scopes", "openid offline_access"}}), deps());
  std::string shown;
  const auto grant = tok::device_login(client, memo, [&](const tok::DeviceAuthorization& d) { shown = d.user_code; });
  CHECK(shown == "U");
  REQUIRE(http.requests.size() == 3);
  CHECK(http.requests[0].url == "https://id.example/device/auth");
  CHECK(http.requests[0].body == "client_id=cli&scope=openid%20offline_access");
  CHECK(http.requests[2].url == "https://id.example/token");
  CHECK(http.requests[2].body ==
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc%2F1&client_id=cli");
  CHECK(world.sleeps == std::vector<std::chrono::milliseconds>{3s, 3s});
  CHECK(grant.token.fields.at(tok::kRefreshTokenField) == "r1");
}

TEST_CASE_FIXTURE(GrantsFixture,
                  "authorization_code flow: the URL after the endpoint's own query, scope last, the code redeemed") {
  const tok::OAuthClient client(login_settings("authorization_code", {{"scopes", "openid"}}), deps());
  CHECK(tok::authorization_url(client, memo, "http://127.0.0.1:8/cb", "st", "ch") ==
        "https://id.example/"
        "auth?tenant=t1&response_type=code&client_id=cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A8%2Fcb"
        "&state=st&code_challenge=ch&code_challenge_method=S256&scope=openid");
  CHECK(http.requests.empty());
  http.answer(400, R"({"error":"invalid_grant","error_description":"code c0de and v3rifier"})");
  const auto e = error_from([&] { tok::redeem_code(client, memo, "c0de", "http://127.0.0.1:8/cb", "v3rifier"); });
  CHECK(http.requests.at(0).body ==
        "grant_type=authorization_code&code=c0de&redirect_uri=http%3A%2F%2F127.0.0.1%3A8%2Fcb&code_verifier=v3rifier"
        "&client_id=cli");
  CHECK(e.oauth_error() == "invalid_grant");
  CHECK_FALSE(contains(e.what(), "c0de"));
  CHECK_FALSE(contains(e.what(), "v3rifier"));

  CHECK(tok::redirect_port_of(login_settings("authorization_code", {{"redirect_port", "8400"}})) == 8400);
  CHECK(tok::redirect_port_of(login_settings("authorization_code")) == 0);
  CHECK(error_from([&] {
          tok::redirect_port_of(login_settings("authorization_code", {{"redirect_port", "0"}}));
        }).kind() == ErrorKind::usage);
}

TEST_CASE_FIXTURE(GrantsFixture, "revoke flow: the client's proof sent, a refusal never quotes the refresh token") {
  const tok::OAuthClient client(
      login_settings("device_code", {{"auth_method", "post"}, {"client_secret_env", "TOK_CLIENT_SECRET"}}), deps());
  http.answer(200, "");
  CHECK(tok::revoke_refresh_token(client, memo, "r-1"));
  CHECK(http.requests.at(0).url == "https://id.example/revoke");
  CHECK(http.requests.at(0).body ==
        "token=r-1&token_type_hint=refresh_token&client_id=cli&client_secret=" + kGrantsSecret);
  http.script.clear();
  http.answer(400, R"({"error":"invalid_request","error_description":"r-1 and )" + kGrantsSecret + R"("})");
  const auto e = error_from([&] { tok::revoke_refresh_token(client, memo, "r-1"); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(e.oauth_error() == "invalid_request");
  CHECK_FALSE(contains(e.what(), "r-1"));
  CHECK_FALSE(contains(e.what(), kGrantsSecret));
}

TEST_CASE_FIXTURE(GrantsFixture,
                  "login storage: token_storage = file keeps the refresh token in the entry, no keyring asked") {
  const auto s = login_settings("device_code", {{"token_storage", "file"}});
  const tok::OAuthClient client(s, deps());
  const tok::LoginStorage storage(s, client);
  memo["refresh_token_in"] = "keyring";  // an earlier login's choice
  CHECK_FALSE(storage.choose(memo).has_value());
  CHECK(memo.count("refresh_token_in") == 0);
  tok::Token token = tok_test::with_refresh_token("r1");
  storage.keep(token, memo);
  CHECK(token.fields.at(tok::kRefreshTokenField) == "r1");
  CHECK(storage.refresh_token_of(token, memo) == "r1");
  CHECK(storage.refresh_token_of(tok::Token{}, memo).empty());
  CHECK(storage.legacy_refresh_token(memo).empty());
  CHECK(storage.wait_within(world.steady_now() + 1500ms) == 1500ms);
  CHECK(storage.wait_within(world.steady_now() - 1s) == 0ms);
}

}  // TEST_SUITE

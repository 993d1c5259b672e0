// The metadata-service protocols of `tok serve` (cli/serve_protocols), without sockets: headers
// required, refusals with the documented status, exact response shapes, errors in each
// protocol's own shape.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "cli/serve_protocols.hpp"
#include "core/error.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using tok::ServerRequest;
using tok::ServerResponse;

namespace {

const tok::TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 29} + 10h;

struct Fixture {
  tok::FakeClock clock{kNow};
  tok::ServedProtocols served;
  int gets = 0;
  std::optional<tok::Error> failure;
  tok::Token token{"tok-abc.123", "Bearer", kNow + 3600s};

  Fixture() {
    tok::ServedProfile p;
    p.name = "ws";
    p.host = "https://ws.example.com";
    p.resource = "https://management.azure.com/";
    p.client_id = "my-client";
    p.gcp_account = "tok@localhost";
    p.scopes = {"https://www.googleapis.com/auth/cloud-platform"};
    p.get = [this] {
      ++gets;
      if (failure) throw *failure;
      return tok::GetResult{token, tok::TokenState::fresh, std::nullopt, std::nullopt};
    };
    served.databricks = p;
    served.azure_imds = p;
    served.gcp = p;
  }

  ServerResponse ask(std::string path, std::vector<std::pair<std::string, std::string>> headers = {},
                     std::multimap<std::string, std::string> params = {}, std::string method = "GET") {
    ServerRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.headers = std::move(headers);
    r.params = std::move(params);
    return tok::answer_metadata_request(served, r, clock);
  }
};

const std::vector<std::pair<std::string, std::string>> kDatabricksHeaders = {
    {"X-Databricks-Metadata-Version", "1"}, {"X-Databricks-Host", "https://ws.example.com"}};
const std::multimap<std::string, std::string> kImdsParams = {{"api-version", "2018-02-01"},
                                                             {"resource", "https://management.azure.com/"}};
const std::vector<std::pair<std::string, std::string>> kImdsHeaders = {{"Metadata", "true"}};
const std::vector<std::pair<std::string, std::string>> kGoogle = {{"Metadata-Flavor", "Google"}};
constexpr const char* kGcpToken = "/computeMetadata/v1/instance/service-accounts/default/token";

std::optional<std::string> header(const ServerResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

}  // namespace

TEST_SUITE("serve") {

TEST_CASE("databricks: the token, its type and expires_on in epoch seconds") {
  Fixture f;
  const auto r = f.ask("/databricks/token", kDatabricksHeaders);
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  const auto body = json::parse(r.body);
  CHECK(body == json{{"access_token", "tok-abc.123"}, {"token_type", "Bearer"},
                     {"expires_on", std::chrono::floor<std::chrono::seconds>(kNow + 3600s).time_since_epoch().count()}});
}

TEST_CASE("databricks: the version header is required (400), the host must match (403)") {
  Fixture f;
  CHECK(f.ask("/databricks/token", {{"X-Databricks-Host", "https://ws.example.com"}}).status == 400);
  CHECK(f.ask("/databricks/token", {{"X-Databricks-Metadata-Version", "2"}, {"X-Databricks-Host", "https://ws.example.com"}})
            .status == 400);
  CHECK(f.ask("/databricks/token", {{"X-Databricks-Metadata-Version", "1"}}).status == 403);
  CHECK(f.ask("/databricks/token", {{"X-Databricks-Metadata-Version", "1"}, {"X-Databricks-Host", "https://evil.example.com"}})
            .status == 403);
  CHECK(f.gets == 0);  // refused before any token is asked for
  // Header names in any case, and a trailing slash on the host, are the same request.
  CHECK(f.ask("/databricks/token", {{"x-databricks-metadata-version", "1"}, {"x-databricks-host", "https://ws.example.com/"}})
            .status == 200);
}

TEST_CASE("azure-imds: numbers as strings, the resource, not_before") {
  Fixture f;
  const auto r = f.ask("/metadata/identity/oauth2/token", kImdsHeaders, kImdsParams);
  CHECK(r.status == 200);
  const auto body = json::parse(r.body);
  const auto now_s = std::chrono::floor<std::chrono::seconds>(kNow).time_since_epoch().count();
  CHECK(body["access_token"] == "tok-abc.123");
  CHECK(body["token_type"] == "Bearer");
  CHECK(body["expires_on"] == std::to_string(now_s + 3600));
  CHECK(body["expires_in"] == "3600");
  CHECK(body["not_before"] == std::to_string(now_s));
  CHECK(body["resource"] == "https://management.azure.com/");
}

TEST_CASE("azure-imds: Metadata header (400), no X-Forwarded-For (400), api-version and resource (400)") {
  Fixture f;
  const auto error_of = [](const ServerResponse& r) { return json::parse(r.body).at("error").get<std::string>(); };
  auto r = f.ask("/metadata/identity/oauth2/token", {}, kImdsParams);
  CHECK(r.status == 400);
  CHECK(error_of(r) == "invalid_request");
  CHECK(f.ask("/metadata/identity/oauth2/token", {{"Metadata", "false"}}, kImdsParams).status == 400);
  CHECK(f.ask("/metadata/identity/oauth2/token", {{"Metadata", "true"}, {"X-Forwarded-For", "10.0.0.1"}}, kImdsParams)
            .status == 400);
  CHECK(f.ask("/metadata/identity/oauth2/token", kImdsHeaders, {{"resource", "https://management.azure.com/"}}).status ==
        400);
  r = f.ask("/metadata/identity/oauth2/token", kImdsHeaders, {{"api-version", "2018-02-01"}, {"resource", "https://vault.azure.net"}});
  CHECK(r.status == 400);
  CHECK(error_of(r) == "invalid_resource");
  CHECK(f.gets == 0);
  // azure-identity strips "/.default" from the scope, which also drops the trailing slash.
  CHECK(f.ask("/metadata/identity/oauth2/token", kImdsHeaders,
              {{"api-version", "2018-02-01"}, {"resource", "https://management.azure.com"}})
            .status == 200);
}

TEST_CASE("azure-imds: the one identity served, and no other") {
  Fixture f;
  auto params = kImdsParams;
  params.emplace("client_id", "my-client");
  CHECK(f.ask("/metadata/identity/oauth2/token", kImdsHeaders, params).status == 200);
  for (const char* id : {"client_id", "object_id", "msi_res_id"}) {
    auto other = kImdsParams;
    other.emplace(id, "someone-else");
    CHECK(f.ask("/metadata/identity/oauth2/token", kImdsHeaders, other).status == 400);
  }
}

TEST_CASE("gcp: the token, the account info by alias or e-mail, always Metadata-Flavor") {
  Fixture f;
  auto r = f.ask(kGcpToken, kGoogle, {{"scopes", "a,b"}});
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(header(r, "Metadata-Flavor") == "Google");
  CHECK(json::parse(r.body) == json{{"access_token", "tok-abc.123"}, {"expires_in", 3600}, {"token_type", "Bearer"}});

  r = f.ask("/computeMetadata/v1/instance/service-accounts/default/", kGoogle, {{"recursive", "true"}});
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(header(r, "Metadata-Flavor") == "Google");
  CHECK(json::parse(r.body) == json{{"email", "tok@localhost"},
                                    {"scopes", {"https://www.googleapis.com/auth/cloud-platform"}},
                                    {"aliases", {"default"}}});
  // google-auth then asks for the token by the e-mail it was given.
  CHECK(f.ask("/computeMetadata/v1/instance/service-accounts/tok@localhost/token", kGoogle).status == 200);
  r = f.ask("/computeMetadata/v1/instance/service-accounts/tok@localhost/email", kGoogle);
  CHECK(r.status == 200);
  CHECK(r.body == "tok@localhost");
  CHECK(f.ask("/computeMetadata/v1/instance/service-accounts/other@example.com/token", kGoogle).status == 404);
  CHECK(f.ask("/computeMetadata/v1/instance/service-accounts/default/nothing", kGoogle).status == 404);
}

TEST_CASE("gcp: Metadata-Flavor: Google is required (403, with the header on the answer)") {
  Fixture f;
  auto r = f.ask(kGcpToken);
  CHECK(r.status == 403);
  CHECK(header(r, "Metadata-Flavor") == "Google");
  CHECK(f.ask(kGcpToken, {{"Metadata-Flavor", "google"}}).status == 403);
  CHECK(f.ask(kGcpToken, {{"Metadata-Flavor", "Google"}, {"X-Forwarded-For", "1.2.3.4"}}).status == 403);
  CHECK(f.gets == 0);
}

TEST_CASE("a protocol not served, an unknown path, another method") {
  Fixture f;
  f.served.gcp.reset();
  CHECK(f.ask(kGcpToken, kGoogle).status == 404);
  CHECK(f.ask("/", {}).status == 404);
  CHECK(f.ask("/databricks/tokens", kDatabricksHeaders).status == 404);
  const auto r = f.ask("/databricks/token", kDatabricksHeaders, {}, "POST");
  CHECK(r.status == 405);
  CHECK(f.gets == 0);
}

TEST_CASE("a token the engine cannot get: each protocol's error shape, never a token") {
  Fixture f;
  f.failure = tok::Error(tok::ErrorKind::unavailable, "fetching a token from https://login.example.com/token: HTTP 503");
  auto r = f.ask("/databricks/token", kDatabricksHeaders);
  CHECK(r.status == 503);
  CHECK(json::parse(r.body)["error_code"] == "TEMPORARILY_UNAVAILABLE");
  CHECK(json::parse(r.body)["message"].get<std::string>().find("HTTP 503") != std::string::npos);
  r = f.ask("/metadata/identity/oauth2/token", kImdsHeaders, kImdsParams);
  CHECK(r.status == 503);
  CHECK(json::parse(r.body)["error"] == "service_unavailable");
  r = f.ask(kGcpToken, kGoogle);
  CHECK(r.status == 503);
  CHECK(header(r, "Metadata-Flavor") == "Google");

  f.failure = tok::Error(tok::ErrorKind::refused, "invalid_client");
  CHECK(f.ask("/databricks/token", kDatabricksHeaders).status == 403);
  CHECK(json::parse(f.ask("/metadata/identity/oauth2/token", kImdsHeaders, kImdsParams).body)["error"] == "access_denied");
  CHECK(f.ask(kGcpToken, kGoogle).status == 403);
}

TEST_CASE("a token without expiry is reported with a day's life") {
  Fixture f;
  f.token.expiry.reset();
  CHECK(json::parse(f.ask(kGcpToken, kGoogle).body)["expires_in"] == 24 * 3600);
  CHECK(json::parse(f.ask("/metadata/identity/oauth2/token", kImdsHeaders, kImdsParams).body)["expires_in"] == "86400");
}

}  // TEST_SUITE

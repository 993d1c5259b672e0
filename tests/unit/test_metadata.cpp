// providers/metadata through a scripted transport: each flavor's URL, query and headers, where
// the environment overrides them, how answers map to errors, and IMDS's retry rules on a fake
// world (the 70 s of 410s take no time here).
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "fakes.hpp"
#include "providers/base64.hpp"
#include "providers/provider.hpp"

using namespace std::chrono_literals;
using tok::ErrorKind;
using tok::FetchMode;
using tok_test::contains;
using tok_test::EnvGuard;
using tok_test::error_from;

namespace {

const tok::TimePoint kNow{std::chrono::seconds(1'800'000'000)};
const std::string kToken = "ya29.c0AfH6SMBx-token_value.with/chars+";
const std::string kDatabricks =
    R"({"access_token":")" + kToken + R"(","token_type":"Bearer","expires_on":1800003600})";
const std::string kImds = R"({"access_token":")" + kToken +
                          R"(","expires_in":"3599","expires_on":"1800003599","resource":"r","token_type":"Bearer"})";
const std::string kGcp = R"({"access_token":")" + kToken + R"(","expires_in":3599,"token_type":"Bearer"})";
const std::vector<std::pair<std::string, std::string>> kGoogle = {{"metadata-flavor", "Google"}};

struct MetadataFixture {
  // Nothing from the machine's environment leaks in: the fake world's is empty.
  tok_test::ScriptedTransport http;
  tok_test::FakeWorld world;
  tok::FakeClock& clock = world.wall;
  MetadataFixture() { clock.set(kNow); }
  tok::ProviderMemo memo;

  std::unique_ptr<tok::Provider> make(tok_test::Settings values) {
    values.emplace("provider", "metadata");
    tok::ProviderDeps deps;
    deps.http = &http;
    deps.world = &world;
    return tok::make_provider(tok::ProviderSettings(values), deps);
  }
  tok::Token fetch(tok_test::Settings values, FetchMode mode = FetchMode::blocking, tok::Duration within = 1h) {
    return make(std::move(values))->fetch(world.steady_now() + within, memo, mode);
  }
  const tok::HttpRequest& request() const { return http.requests.back(); }
};

const tok_test::Settings kDatabricksProfile = {
    {"flavor", "databricks"}, {"url", "http://127.0.0.1:8789/token"}, {"host", "https://ws.cloud.databricks.com"}};
const tok_test::Settings kImdsProfile = {{"flavor", "azure-imds"}, {"resource", "https://vault.azure.net"}};

}  // namespace

TEST_SUITE("metadata") {

TEST_CASE_FIXTURE(MetadataFixture, "databricks: GET url with the two headers, expires_on") {
  http.answer(200, kDatabricks);
  const auto t = fetch(kDatabricksProfile);
  CHECK(t.access_token == kToken);
  CHECK(t.expiry == kNow + 3600s);
  CHECK(request().method == "GET");
  CHECK(request().url == "http://127.0.0.1:8789/token");
  CHECK(http.header("X-Databricks-Metadata-Version") == "1");
  CHECK(http.header("X-Databricks-Host") == "https://ws.cloud.databricks.com");
}

TEST_CASE_FIXTURE(MetadataFixture, "databricks: url and host from the environment, the profile wins") {
  EnvGuard url(world, "DATABRICKS_METADATA_SERVICE_URL", "http://localhost:9999/x");
  EnvGuard host(world, "DATABRICKS_HOST", "https://env.cloud.databricks.com");
  http.answer(200, kDatabricks);
  fetch({{"flavor", "databricks"}});
  CHECK(request().url == "http://localhost:9999/x");
  CHECK(http.header("X-Databricks-Host") == "https://env.cloud.databricks.com");
  fetch(kDatabricksProfile);
  CHECK(request().url == "http://127.0.0.1:8789/token");
  CHECK(http.header("X-Databricks-Host") == "https://ws.cloud.databricks.com");
}

TEST_CASE_FIXTURE(MetadataFixture, "databricks: only localhost, 127.0.0.1 or [::1], url and host required") {
  for (const char* ok : {"http://localhost:1/t", "https://127.0.0.1/t", "http://[::1]:8/t", "http://LOCALHOST/t"}) {
    CAPTURE(std::string(ok));
    auto p = kDatabricksProfile;
    p["url"] = ok;
    CHECK_NOTHROW(make(p));
  }
  for (const char* bad : {"http://127.0.0.2/t", "https://ws.cloud.databricks.com/t", "http://10.0.0.1/t",
                          "http://localhost.evil.com/t", "http://127.0.0.1.evil.com/t", "ftp://localhost/t",
                          "localhost:8/t"}) {
    CAPTURE(std::string(bad));
    auto p = kDatabricksProfile;
    p["url"] = bad;
    const auto e = error_from([&] { make(p); });
    CHECK(e.kind() == ErrorKind::usage);
    CHECK(contains(e.what(), "key 'url'"));
  }
  {
    EnvGuard url(world, "DATABRICKS_METADATA_SERVICE_URL", "http://192.168.1.1/t");
    const auto e = error_from([&] { make({{"flavor", "databricks"}, {"host", "h"}}); });
    CHECK(contains(e.what(), "$DATABRICKS_METADATA_SERVICE_URL"));
  }
  CHECK(contains(error_from([&] { make({{"flavor", "databricks"}, {"host", "h"}}); }).what(), "key 'url'"));
  CHECK(contains(error_from([&] { make({{"flavor", "databricks"}, {"url", "http://localhost/t"}}); }).what(),
                 "key 'host'"));
  CHECK(http.requests.empty());
}

TEST_CASE_FIXTURE(MetadataFixture, "databricks: 404 is unavailable, 400, 401, 403 refused with the body's message") {
  http.answer(404, "not here");
  auto e = error_from([&] { fetch(kDatabricksProfile); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "metadata service not available at http://127.0.0.1:8789/token"));
  for (long status : {400L, 401L, 403L}) {
    CAPTURE(status);
    http.script.clear();
    http.answer(status, R"({"error_code":"PERMISSION_DENIED","message":"host does not match"})");
    e = error_from([&] { fetch(kDatabricksProfile); });
    CHECK(e.kind() == ErrorKind::refused);
    CHECK(contains(e.what(), "host does not match"));
  }
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: the default URL, api-version, resource and the Metadata header") {
  http.answer(200, kImds);
  const auto t = fetch(kImdsProfile);
  CHECK(t.expiry == kNow + 3599s);
  CHECK(request().url ==
        "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault."
        "azure.net");
  CHECK(http.header("Metadata") == "true");
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: one identity parameter at most") {
  http.answer(200, kImds);
  for (const char* key : {"client_id", "object_id", "msi_res_id"}) {
    CAPTURE(std::string(key));
    auto p = kImdsProfile;
    p[key] = "/subscriptions/x y";
    fetch(p);
    CHECK(contains(request().url, std::string("&") + key + "=%2Fsubscriptions%2Fx%20y"));
  }
  auto p = kImdsProfile;
  p["client_id"] = "a";
  p["object_id"] = "b";
  CHECK(error_from([&] { make(p); }).kind() == ErrorKind::usage);
  CHECK(error_from([&] { make({{"flavor", "azure-imds"}}); }).kind() == ErrorKind::usage);  // resource
  p = kImdsProfile;
  p["account"] = "x";  // a gcp key
  CHECK(contains(error_from([&] { make(p); }).what(), "not used by flavor 'azure-imds'"));
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: url replaces the whole URL, the pod identity host only the authority") {
  http.answer(200, kImds);
  {
    EnvGuard pod(world, "AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:2579/");
    fetch(kImdsProfile);
    CHECK(contains(request().url, "http://127.0.0.1:2579/metadata/identity/oauth2/token?api-version=2018-02-01&"));
    auto p = kImdsProfile;
    p["url"] = "http://[::1]:5000/custom/path";
    fetch(p);
    CHECK(contains(request().url, "http://[::1]:5000/custom/path?api-version=2018-02-01&resource="));
  }
  auto p = kImdsProfile;
  p["url"] = "http://10.1.2.3/metadata/identity/oauth2/token";
  CHECK(error_from([&] { make(p); }).kind() == ErrorKind::usage);  // plain http off the machine
  EnvGuard pod(world, "AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://evil.example");
  CHECK(contains(error_from([&] { make(kImdsProfile); }).what(), "$AZURE_POD_IDENTITY_AUTHORITY_HOST"));
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: App Service's endpoint, api-version and secret header") {
  const std::string secret = "f3c9a1e2-identity-header";
  EnvGuard endpoint(world, "IDENTITY_ENDPOINT", "http://127.0.0.1:41741/MSI/token/");
  EnvGuard header(world, "IDENTITY_HEADER", secret);
  http.answer(200, kImds);
  auto p = kImdsProfile;
  p["object_id"] = "oid";
  fetch(p);
  CHECK(request().url ==
        "http://127.0.0.1:41741/MSI/token/?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&principal_"
        "id=oid");
  CHECK(http.header("X-IDENTITY-HEADER") == secret);
  CHECK_FALSE(http.header("Metadata").has_value());
  // The secret never shows, even when the service echoes it.
  http.script.clear();
  http.answer(500, R"({"error":"bad header )" + secret + R"("})");
  const auto e = error_from([&] { fetch(p); });
  CHECK_FALSE(contains(e.what(), secret));
  CHECK(contains(e.what(), "bad header"));
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: App Service needs both variables") {
  EnvGuard endpoint(world, "IDENTITY_ENDPOINT", "http://127.0.0.1:41741/MSI/token/");
  http.answer(200, kImds);
  fetch(kImdsProfile);
  CHECK(contains(request().url, "169.254.169.254"));
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: 400 is refused at once: no identity") {
  http.answer(400, R"({"error":"invalid_request","error_description":"Identity not found"})");
  const auto e = error_from([&] { fetch(kImdsProfile); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(contains(e.what(), "no managed identity"));
  CHECK(contains(e.what(), "Identity not found"));
  CHECK(http.requests.size() == 1);
  CHECK(world.sleeps.empty());
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: 404, 429 and 5xx are retried with backoff") {
  for (long status : {404L, 429L, 500L, 503L}) {
    CAPTURE(status);
    http.script.clear();
    http.requests.clear();
    http.answer(status, "{}").answer(200, kImds);
    CHECK(fetch(kImdsProfile).access_token == kToken);
    CHECK(http.requests.size() == 2);
  }
  http.script.clear();
  http.requests.clear();
  http.answer(404, "{}");
  const auto e = error_from([&] { fetch(kImdsProfile); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(http.requests.size() == 5);
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: 410 is retried for at least 70 s, then answered") {
  for (int i = 0; i < 12; ++i) http.answer(410, "starting");
  http.answer(200, kImds);
  CHECK(fetch(kImdsProfile).access_token == kToken);
  CHECK(http.requests.size() == 13);
  http.script.clear();
  http.requests.clear();
  world.sleeps.clear();
  http.answer(410, "starting");
  const auto e = error_from([&] { fetch(kImdsProfile); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "HTTP 410"));
  CHECK(world.slept() >= 70s);
}

TEST_CASE_FIXTURE(MetadataFixture, "azure-imds: 410 retries stop at the deadline") {
  http.answer(410, "starting");
  const auto e = error_from([&] { fetch(kImdsProfile, FetchMode::blocking, 20s); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(world.slept() < 20s);
}

TEST_CASE_FIXTURE(MetadataFixture, "every flavor makes one attempt in the background") {
  http.answer(410, "starting").answer(200, kImds);
  CHECK(error_from([&] { fetch(kImdsProfile, FetchMode::background); }).kind() == ErrorKind::unavailable);
  CHECK(http.requests.size() == 1);
  http.script.clear();
  http.answer(503, "busy").answer(200, kDatabricks);
  CHECK(error_from([&] { fetch(kDatabricksProfile, FetchMode::background); }).kind() == ErrorKind::unavailable);
  CHECK(http.requests.size() == 2);
  CHECK(world.sleeps.empty());
}

TEST_CASE_FIXTURE(MetadataFixture, "gcp: default host, account, scopes and the Metadata-Flavor header") {
  http.answer(200, kGcp, kGoogle);
  const auto t = fetch({{"flavor", "gcp"}});
  CHECK(t.expiry == kNow + 3599s);
  CHECK(request().url ==
        "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token");
  CHECK(http.header("Metadata-Flavor") == "Google");
  fetch({{"flavor", "gcp"},
         {"account", "sa@project.iam.gserviceaccount.com"},
         {"scopes", "https://www.googleapis.com/auth/cloud-platform, openid"},
         {"url", "http://127.0.0.1:8080/"}});
  CHECK(request().url ==
        "http://127.0.0.1:8080/computeMetadata/v1/instance/service-accounts/sa@project.iam.gserviceaccount.com/"
        "token?scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform,openid");
}

TEST_CASE_FIXTURE(MetadataFixture, "gcp: id_token_audience asks the identity endpoint and reads the JWT's exp") {
  // An identity token as the metadata server answers it: a JWT, a line break after it.
  const std::string payload = tok::base64url_encode(R"({"aud":"https://a b/?x=1&y","exp":1800003600})");
  const std::string jwt = "eyJhbGciOiJSUzI1NiJ9." + payload + ".c2ln";
  http.answer(200, jwt + "\n", kGoogle);
  const auto t = fetch({{"flavor", "gcp"}, {"id_token_audience", "https://a b/?x=1&y"}});
  CHECK(request().url ==
        "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity"
        "?audience=https%3A%2F%2Fa%20b%2F%3Fx%3D1%26y&format=full");
  CHECK(http.header("Metadata-Flavor") == "Google");
  CHECK(t.access_token == jwt);
  CHECK(t.expiry == tok::TimePoint{std::chrono::seconds(1800003600)});
  for (const std::string& body : {std::string("<html>hello</html>"), std::string(R"({"access_token":"x"})"),
                                 std::string("a.b"), "eyJhbGciOiJSUzI1NiJ9." + tok::base64url_encode("{}") + ".c2ln"}) {
    CAPTURE(body);
    http.script.clear();
    http.answer(200, body, kGoogle);
    const auto e = error_from([&] { fetch({{"flavor", "gcp"}, {"id_token_audience", "x"}}); });
    CHECK(e.kind() == ErrorKind::unavailable);
    CHECK(contains(e.what(), "not an identity token"));
    CHECK_FALSE(contains(e.what(), "hello"));
  }
  CHECK(error_from([&] { make({{"flavor", "gcp"}, {"id_token_audience", "x"}, {"scopes", "openid"}}); }).kind() ==
        ErrorKind::usage);
  CHECK(error_from([&] { make({{"flavor", "azure-imds"}, {"resource", "r"}, {"id_token_audience", "x"}}); }).kind() ==
        ErrorKind::usage);
}

TEST_CASE_FIXTURE(MetadataFixture, "gcp: GCE_METADATA_HOST, else GCE_METADATA_ROOT, url wins") {
  http.answer(200, kGcp, kGoogle);
  {
    EnvGuard root(world, "GCE_METADATA_ROOT", "127.0.0.1:1111");
    fetch({{"flavor", "gcp"}});
    CHECK(contains(request().url, "http://127.0.0.1:1111/computeMetadata/v1/"));
    EnvGuard host(world, "GCE_METADATA_HOST", "127.0.0.1:2222");
    fetch({{"flavor", "gcp"}});
    CHECK(contains(request().url, "http://127.0.0.1:2222/computeMetadata/v1/"));
    fetch({{"flavor", "gcp"}, {"url", "http://localhost:3333"}});
    CHECK(contains(request().url, "http://localhost:3333/computeMetadata/v1/"));
  }
  EnvGuard host(world, "GCE_METADATA_HOST", "metadata.example.com");
  CHECK(contains(error_from([&] { make({{"flavor", "gcp"}}); }).what(), "$GCE_METADATA_HOST"));
}

TEST_CASE_FIXTURE(MetadataFixture, "gcp: an answer without Metadata-Flavor: Google is not a metadata server") {
  http.answer(200, kGcp);
  auto e = error_from([&] { fetch({{"flavor", "gcp"}}); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "Metadata-Flavor"));
  http.script.clear();
  http.answer(200, kGcp, {{"metadata-flavor", "Evil"}});
  CHECK(error_from([&] { fetch({{"flavor", "gcp"}}); }).kind() == ErrorKind::unavailable);
}

TEST_CASE_FIXTURE(MetadataFixture, "gcp: 404 means no such service account here: refused") {
  http.answer(404, "not found", kGoogle);
  const auto e = error_from([&] { fetch({{"flavor", "gcp"}, {"account", "x@y"}}); });
  CHECK(e.kind() == ErrorKind::refused);
  CHECK(contains(e.what(), "'x@y'"));
}

TEST_CASE_FIXTURE(MetadataFixture, "gcp: an account with path characters is refused") {
  for (const char* bad : {"../../attributes", "a/b", "a?b", "a b", ""}) {
    CAPTURE(std::string(bad));
    CHECK(error_from([&] { make({{"flavor", "gcp"}, {"account", bad}}); }).kind() == ErrorKind::usage);
  }
}

TEST_CASE_FIXTURE(MetadataFixture, "a redirect is refused, not followed") {
  http.answer(302, "", {{"location", "http://127.0.0.1:1/elsewhere"}});
  const auto e = error_from([&] { fetch(kDatabricksProfile); });
  CHECK(e.kind() == ErrorKind::unavailable);
  CHECK(contains(e.what(), "redirect refused"));
  CHECK(http.requests.size() == 1);
}

TEST_CASE_FIXTURE(MetadataFixture, "flavor is required and checked") {
  CHECK(error_from([&] { make({}); }).kind() == ErrorKind::usage);
  CHECK(contains(error_from([&] { make({{"flavor", "aws"}}); }).what(), "key 'flavor'"));
}

}  // TEST_SUITE

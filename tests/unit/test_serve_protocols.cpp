// The metadata-service protocols of `tok serve` (cli/serve_protocols), without sockets: headers
// required, refusals with the documented status, exact response shapes, errors in each
// protocol's own shape.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "cli/serve/serve_peer.hpp"
#include "cli/serve/serve_protocols.hpp"
#include "providers/metadata/azure_app_service.hpp"
#include "providers/metadata/databricks.hpp"
#include "providers/metadata/gcp.hpp"
#include "core/error.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using tok::ServerRequest;
using tok::ServerResponse;

namespace {

const tok::TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 29} + 10h;

constexpr const char* kDatabricksSecret = "0123456789abcdef0123456789abcdef";
constexpr const char* kAppServiceSecret = "fedcba9876543210fedcba9876543210";

struct Fixture {
  tok::FakeClock clock{kNow};
  tok::ServedProtocols served;
  int gets = 0;
  std::optional<tok::Error> failure;
  tok::Token token{"tok-abc.123", "Bearer", kNow + 3600s, {}};
  tok::TokenGetter get;  // the profile's engine, counted

  Fixture() {
    get = [this] {
      ++gets;
      if (failure) throw *failure;
      return tok::GetResult{token, tok::TokenState::fresh, std::nullopt, std::nullopt, std::nullopt};
    };
    const std::string resource = "https://management.azure.com/";
    served.protocols.push_back(std::make_unique<tok::databricks::Served>(kDatabricksSecret, "https://ws.example.com", get));
    served.protocols.push_back(std::make_unique<tok::azure::ImdsServed>(resource, "my-client", get));
    served.protocols.push_back(std::make_unique<tok::azure::AppServiceServed>(kAppServiceSecret, resource, "my-client", get));
    served.protocols.push_back(std::make_unique<tok::gcp::Served>(
        "tok@localhost", std::vector<std::string>{"https://www.googleapis.com/auth/cloud-platform"}, get));
  }

  ServerResponse ask(std::string path, std::vector<std::pair<std::string, std::string>> headers = {},
                     std::multimap<std::string, std::string> params = {}, std::string method = "GET") {
    ServerRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.headers = std::move(headers);
    // Every client names the server; the tests of the Host rule give their own.
    if (!r.header("Host")) r.headers.emplace_back("Host", "127.0.0.1:8789");
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
constexpr const char* kDatabricks = "/databricks/0123456789abcdef0123456789abcdef/token";

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
  const auto r = f.ask(kDatabricks, kDatabricksHeaders);
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  const auto body = json::parse(r.body);
  CHECK(body == json{{"access_token", "tok-abc.123"}, {"token_type", "Bearer"},
                     {"expires_on", std::chrono::floor<std::chrono::seconds>(kNow + 3600s).time_since_epoch().count()}});
}

TEST_CASE("databricks: the version header is required (400), the host must match (403)") {
  Fixture f;
  CHECK(f.ask(kDatabricks, {{"X-Databricks-Host", "https://ws.example.com"}}).status == 400);
  CHECK(f.ask(kDatabricks, {{"X-Databricks-Metadata-Version", "2"}, {"X-Databricks-Host", "https://ws.example.com"}})
            .status == 400);
  CHECK(f.ask(kDatabricks, {{"X-Databricks-Metadata-Version", "1"}}).status == 403);
  CHECK(f.ask(kDatabricks, {{"X-Databricks-Metadata-Version", "1"}, {"X-Databricks-Host", "https://evil.example.com"}})
            .status == 403);
  CHECK(f.gets == 0);  // refused before any token is asked for
  // Header names in any case, and a trailing slash on the host, are the same request.
  CHECK(f.ask(kDatabricks, {{"x-databricks-metadata-version", "1"}, {"x-databricks-host", "https://ws.example.com/"}})
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
  auto r = f.ask(kGcpToken, kGoogle, {{"scopes", "https://www.googleapis.com/auth/cloud-platform"}});
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

TEST_CASE("one Host, every byte of it printable: two Host headers or a NUL in one are 400") {
  Fixture f;
  using namespace std::string_literals;
  const std::vector<std::vector<std::pair<std::string, std::string>>> refused = {
      {{"Host", "127.0.0.1:8789"}, {"Host", "evil.example"}},
      {{"Host", "evil.example"}, {"host", "127.0.0.1:8789"}},
      {{"Host", "127.0.0.1:8789"}, {"HOST", "127.0.0.1:8789"}},
      {{"Host", "127.0.0.1:8789\0.evil.example"s}},
      {{"Host", "127.0.0.1\0"s}},
      {{"Host", "localhost\r"}},
  };
  for (auto headers : refused) {
    headers.emplace_back("Metadata-Flavor", "Google");
    const auto r = f.ask(kGcpToken, headers);
    CHECK(r.status == 400);
    CHECK(r.body.find("access_token") == std::string::npos);
  }
  CHECK(f.ask(kGcpToken, {{"Host", "127.0.0.1:8789"}, {"Metadata-Flavor", "Google"}}).status == 200);
  CHECK(f.gets == 1);
}

TEST_CASE("a protocol not served, an unknown path, another method") {
  Fixture f;
  f.served.protocols.pop_back();  // gcp
  CHECK(f.ask(kGcpToken, kGoogle).status == 404);
  CHECK(f.ask("/", {}).status == 404);
  CHECK(f.ask("/databricks/tokens", kDatabricksHeaders).status == 404);
  CHECK(f.ask("/databricks/token", kDatabricksHeaders).status == 404);  // without the secret segment
  CHECK(f.ask("/databricks/0123456789abcdef0123456789abcdee/token", kDatabricksHeaders).status == 404);
  const auto r = f.ask(kDatabricks, kDatabricksHeaders, {}, "POST");
  CHECK(r.status == 405);
  CHECK(f.gets == 0);
}

TEST_CASE("a token the engine cannot get: each protocol's error shape, never a token") {
  Fixture f;
  f.failure = tok::Error(tok::ErrorKind::unavailable, "fetching a token from https://login.example.com/token: HTTP 503");
  auto r = f.ask(kDatabricks, kDatabricksHeaders);
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
  CHECK(f.ask(kDatabricks, kDatabricksHeaders).status == 403);
  CHECK(json::parse(f.ask("/metadata/identity/oauth2/token", kImdsHeaders, kImdsParams).body)["error"] == "access_denied");
  CHECK(f.ask(kGcpToken, kGoogle).status == 403);
}

TEST_CASE("a token without expiry is reported with a day's life") {
  Fixture f;
  f.token.expiry.reset();
  CHECK(json::parse(f.ask(kGcpToken, kGoogle).body)["expires_in"] == 24 * 3600);
  CHECK(json::parse(f.ask("/metadata/identity/oauth2/token", kImdsHeaders, kImdsParams).body)["expires_in"] == "86400");
}

TEST_CASE("databricks: the workspace host compares case-insensitively") {
  Fixture f;
  CHECK(f.ask(kDatabricks, {{"X-Databricks-Metadata-Version", "1"}, {"X-Databricks-Host", "HTTPS://WS.Example.COM/"}}).status ==
        200);
}

TEST_CASE("the Host header must name this server: loopback literals or localhost, any port") {
  for (const char* own : {"127.0.0.1", "127.0.0.1:8789", "localhost", "LOCALHOST:80", "[::1]", "[::1]:8789", "127.1.2.3:1"}) {
    CAPTURE(own);
    CHECK(tok::is_own_host(own));
  }
  for (const char* foreign : {"", "evil.example", "evil.example:8789", "127.0.0.1.evil.example", "localhost.evil.example",
                              "localhost.", "127.0.0.1:", "127.0.0.1:80:80", "127.0.0.1:http", "[::1", "[::1]x",
                              "[::2]:80", "0.0.0.0", "10.0.0.1:8789", "127.0.0.1@evil.example", "127.0.0.1:123456"}) {
    CAPTURE(foreign);
    CHECK_FALSE(tok::is_own_host(foreign));
  }
}

TEST_CASE("a foreign or missing Host is refused on every protocol (403, no token, no CORS header)") {
  Fixture f;
  const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> requests = {
      {kDatabricks, kDatabricksHeaders},
      {"/metadata/identity/oauth2/token", kImdsHeaders},
      {std::string(tok::azure::kAppServicePath), {{"X-IDENTITY-HEADER", "fedcba9876543210fedcba9876543210"}}},
      {kGcpToken, kGoogle},
      {"/", kGoogle}};
  for (const auto& [path, headers] : requests) {
    for (const char* host : {"evil.example:8789", "127.0.0.1.nip.io"}) {
      CAPTURE(path);
      CAPTURE(host);
      auto with_host = headers;
      with_host.emplace_back("Host", host);
      const auto r = f.ask(path, with_host, kImdsParams);
      CHECK(r.status == 403);
      CHECK(r.body.find("tok-abc.123") == std::string::npos);
      CHECK(r.reason.find("Host") != std::string::npos);
      for (const auto& [name, value] : r.headers) CHECK(name.rfind("Access-Control-", 0) != 0);
    }
  }
  ServerRequest bare;
  bare.method = "GET";
  bare.path = kGcpToken;
  bare.headers = kGoogle;
  CHECK(tok::answer_metadata_request(f.served, bare, f.clock).status == 403);
  CHECK(f.gets == 0);
}

TEST_CASE("a request with a body is refused (413) before anything else is done with it") {
  Fixture f;
  auto headers = kGoogle;
  headers.emplace_back("Content-Length", "104857600");
  CHECK(f.ask(kGcpToken, headers).status == 413);
  headers = kGoogle;
  headers.emplace_back("Transfer-Encoding", "chunked");
  CHECK(f.ask(kGcpToken, headers, {}, "POST").status == 413);
  headers = kGoogle;
  headers.emplace_back("Content-Length", "0");
  CHECK(f.ask(kGcpToken, headers).status == 200);
  CHECK(f.gets == 1);
}

TEST_CASE("azure app service: the per-run secret header, then IMDS's rules, App Service's shape") {
  Fixture f;
  const std::multimap<std::string, std::string> params = {{"api-version", "2019-08-01"},
                                                          {"resource", "https://management.azure.com"}};
  auto r = f.ask(std::string(tok::azure::kAppServicePath), {}, params);
  CHECK(r.status == 401);
  CHECK(f.ask(std::string(tok::azure::kAppServicePath), {{"X-IDENTITY-HEADER", "fedcba9876543210fedcba987654321"}}, params).status == 401);
  CHECK(f.ask(std::string(tok::azure::kAppServicePath), {{"X-IDENTITY-HEADER", "fedcba9876543210fedcba9876543211"}}, params).status == 401);
  CHECK(f.gets == 0);
  const std::vector<std::pair<std::string, std::string>> secret = {{"x-identity-header", "fedcba9876543210fedcba9876543210"}};
  CHECK(f.ask(std::string(tok::azure::kAppServicePath), secret, {{"api-version", "2019-08-01"}, {"resource", "https://vault.azure.net"}}).status ==
        400);
  auto other = params;
  other.emplace("principal_id", "someone-else");
  CHECK(f.ask(std::string(tok::azure::kAppServicePath), secret, other).status == 400);
  r = f.ask(std::string(tok::azure::kAppServicePath), secret, params);
  CHECK(r.status == 200);
  const auto body = json::parse(r.body);
  const auto now_s = std::chrono::floor<std::chrono::seconds>(kNow).time_since_epoch().count();
  CHECK(body == json{{"access_token", "tok-abc.123"},
                     {"token_type", "Bearer"},
                     {"expires_on", std::to_string(now_s + 3600)},
                     {"resource", "https://management.azure.com"},
                     {"client_id", "my-client"}});
  // Without a secret (not set up) the path is not served at all.
  f.served.protocols[2] =
      std::make_unique<tok::azure::AppServiceServed>("", "https://management.azure.com/", "my-client", f.get);
  CHECK(f.ask(std::string(tok::azure::kAppServicePath), {{"X-IDENTITY-HEADER", ""}}, params).status == 404);
}

TEST_CASE("gcp: the root probe of google.auth.default() and the v1 directory") {
  Fixture f;
  for (const char* path : {"/", "/computeMetadata/v1/"}) {
    CAPTURE(path);
    auto r = f.ask(path, kGoogle);
    CHECK(r.status == 200);
    CHECK(header(r, "Metadata-Flavor") == "Google");
    r = f.ask(path);
    CHECK(r.status == 403);
    CHECK(header(r, "Metadata-Flavor") == "Google");
  }
  CHECK(f.gets == 0);
}

TEST_CASE("gcp: requested scopes must be the profile's (400 otherwise, as IMDS's resource)") {
  Fixture f;
  CHECK(f.ask(kGcpToken, kGoogle, {{"scopes", "https://www.googleapis.com/auth/cloud-platform"}}).status == 200);
  auto r = f.ask(kGcpToken, kGoogle, {{"scopes", "https://www.googleapis.com/auth/cloud-platform,https://www.googleapis.com/auth/drive"}});
  CHECK(r.status == 400);
  CHECK(header(r, "Metadata-Flavor") == "Google");
  CHECK(r.reason.find("scopes") != std::string::npos);
  f.served.protocols.back() = std::make_unique<tok::gcp::Served>("tok@localhost", std::vector<std::string>{}, f.get);
  CHECK(f.ask(kGcpToken, kGoogle, {{"scopes", "a"}}).status == 400);
  CHECK(f.gets == 1);
}

TEST_CASE("the -v log's path: printable, the Databricks secret replaced") {
  Fixture f;
  ServerRequest r;
  r.path = kDatabricks;
  CHECK(tok::loggable_path(f.served, r) == "/databricks/SECRET/token");
  r.path = "/x\x1b[31mred\n";
  const std::string logged = tok::loggable_path(f.served, r);
  CHECK(logged.find('\x1b') == std::string::npos);
  CHECK(logged.find('\n') == std::string::npos);
}

TEST_CASE("refusals say why, for the -v line") {
  Fixture f;
  CHECK(f.ask(kDatabricks, {{"X-Databricks-Host", "https://ws.example.com"}}).reason ==
        "X-Databricks-Metadata-Version: 1 is required");
  CHECK(f.ask("/metadata/identity/oauth2/token", {}, kImdsParams).reason == "Required metadata header not specified");
  CHECK(f.ask(kGcpToken).reason == "Missing required header: Metadata-Flavor: Google");
  CHECK(f.ask(kGcpToken, kGoogle).reason.empty());
}

namespace {

sockaddr_storage v4(const char* address, std::uint16_t port) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in&>(s);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, address, &a.sin_addr);
  return s;
}

sockaddr_storage v6(const char* address, std::uint16_t port) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in6&>(s);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  inet_pton(AF_INET6, address, &a.sin6_addr);
  return s;
}

}  // namespace

TEST_CASE("peer uid: the /proc/net/tcp fallback finds the client's end of the connection") {
  // Server 127.0.0.1:8789 (0x2255), client 127.0.0.1:40000 (0x9C40) owned by uid 1000; the
  // server's own accepted socket (owned by 0) has the same two addresses the other way round.
  const std::string table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:2255 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
      "   1: 0100007F:2255 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n"
      "   2: 0100007F:9C40 0100007F:2255 01 00000000:00000000 00:00000000 00000000  1000        0 3 1 0 20 4 30 10 -1\n";
  const auto server = v4("127.0.0.1", 8789);
  CHECK(tok::uid_from_proc_net_tcp(table, server, v4("127.0.0.1", 40000), false) == 1000U);
  CHECK_FALSE(tok::uid_from_proc_net_tcp(table, server, v4("127.0.0.1", 40001), false));
  CHECK_FALSE(tok::uid_from_proc_net_tcp(table, server, v4("127.0.0.2", 40000), false));
  CHECK_FALSE(tok::uid_from_proc_net_tcp("garbage\n\n   2: 0100007F:9C40 0100007F:2255 01 x y z abc", server,
                                         v4("127.0.0.1", 40000), false));

  // tcp6: an IPv6 client of [::1]:8789, and an IPv4 client whose socket is IPv6 (v4-mapped).
  const std::string table6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:9C41 00000000000000000000000001000000:2255 01 00000000:00000000 00:00000000 00000000  1001        0 4 1 0 20 4 30 10 -1\n"
      "   1: 0000000000000000FFFF00000100007F:9C42 0000000000000000FFFF00000100007F:2255 01 00000000:00000000 00:00000000 00000000  1002        0 5 1 0 20 4 30 10 -1\n";
  CHECK(tok::uid_from_proc_net_tcp(table6, v6("::1", 8789), v6("::1", 40001), true) == 1001U);
  CHECK(tok::uid_from_proc_net_tcp(table6, server, v4("127.0.0.1", 40002), true) == 1002U);
  CHECK_FALSE(tok::uid_from_proc_net_tcp(table6, v6("::1", 8789), v6("::1", 40001), false));
}

TEST_CASE("peer uid: a live loopback connection's client end is owned by this process's uid") {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_storage local = v4("127.0.0.1", 0);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&local), sizeof(sockaddr_in)) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t length = sizeof local;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&local), &length);
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&local), sizeof(sockaddr_in)) == 0);
  sockaddr_storage peer{};
  length = sizeof peer;
  const int accepted = ::accept(listener, reinterpret_cast<sockaddr*>(&peer), &length);
  REQUIRE(accepted >= 0);
  CHECK(tok::peer_socket_uid(local, peer) == ::geteuid());
  ::close(client);
  ::close(accepted);
  ::close(listener);
}

TEST_CASE("--allow-user: a name from the password database or a uid") {
  CHECK(tok::user_id("0") == 0U);
  CHECK(tok::user_id("root") == 0U);
  CHECK(tok::user_id("65534") == 65534U);
  CHECK_THROWS_AS(tok::user_id("no-such-user-here"), tok::Error);
  CHECK_THROWS_AS(tok::user_id(""), tok::Error);
}

}  // TEST_SUITE

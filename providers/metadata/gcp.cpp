#include "providers/metadata/gcp.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "providers/jwt.hpp"
#include "providers/provider.hpp"

namespace tok::gcp {

namespace {

using nlohmann::json;

ServerResponse response(int status, const std::string& content_type, std::string body, std::string reason = {}) {
  return {status, content_type, std::move(body), {{std::string(kFlavorHeader), "Google"}}, std::move(reason)};
}

ServerResponse text_refusal(int status, const std::string& message) {
  return response(status, "text/plain", message + "\n", message);
}

std::int64_t seconds_left(const Token& token, TimePoint now) {
  if (!token.expiry) return 0;
  return std::max<std::int64_t>(0, std::chrono::floor<std::chrono::seconds>(*token.expiry - now).count());
}

}  // namespace

namespace {

std::string token_url(const std::string& base, const std::string& account, const std::vector<std::string>& scopes,
                      const std::string& id_token_audience) {
  if (!id_token_audience.empty()) {
    // format=full: the token also names the instance and project (gcloud's default on GCE).
    return base + std::string(kAccountsPrefix) + account + "/identity?audience=" + form_encode(id_token_audience) +
           "&format=full";
  }
  std::string url = base + std::string(kAccountsPrefix) + account + "/token";
  if (!scopes.empty()) {
    url += "?scopes=";
    for (std::size_t i = 0; i < scopes.size(); ++i) url += (i ? "," : "") + form_encode(scopes[i]);
  }
  return url;
}

}  // namespace

Source::Source(std::string base, std::string account, std::vector<std::string> scopes, std::string id_token_audience)
    : MetadataSource(token_url(base, account, scopes, id_token_audience)),
      account_(std::move(account)),
      identity_(!id_token_audience.empty()) {}

// An identity token is the body itself: a JWT, a trailing line break aside. Anything else (an
// HTML page, a JSON token answer, a JWT without exp) is not one, said so, never quoted.
Token Source::parse_success(const HttpResponse& response, const AnswerContext& context) const {
  if (!identity_) return MetadataSource::parse_success(response, context);
  constexpr std::size_t kMaxIdentityToken = 16 * 1024;
  std::string body = response.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  const auto not_one = [&](std::string_view why) {
    return Error(ErrorKind::unavailable, fmt::format("the answer is not an identity token: {}", why),
                 "check url: the metadata server answers a JWT for .../identity?audience=");
  };
  if (body.empty()) throw not_one("it is empty");
  if (body.size() > kMaxIdentityToken) throw not_one("it is larger than 16 KiB");
  if (!is_b64token(body) || std::count(body.begin(), body.end(), '.') != 2) throw not_one("it is not a JWT");
  const auto exp = jwt_expiry(body);
  if (!exp) throw not_one("a JWT without a readable exp");
  if (*exp <= context.now) throw not_one("a JWT whose exp has passed");
  Token token;
  token.access_token = std::move(body);
  token.expiry = *exp;
  return token;
}

HttpRequest Source::request(std::vector<std::string>&) const {
  HttpRequest request;
  request.url = url();
  request.headers = {"Accept: application/json", fmt::format("{}: Google", kFlavorHeader)};
  return request;
}

void Source::check_answer(const HttpResponse& response, const AnswerContext& context) const {
  if (response.header("metadata-flavor") != std::optional<std::string>("Google")) {
    // Anything can answer on port 80 of a name; only the metadata server says what it is.
    throw Error(ErrorKind::unavailable,
                fmt::format("{}: HTTP {} without the header 'Metadata-Flavor: Google': not a GCP metadata server",
                            context.what, response.status),
                "check url, $GCE_METADATA_HOST or $GCE_METADATA_ROOT");
  }
}

void Source::refuse(long status, const std::string& message, const AnswerContext& context) const {
  if (status == 404) {
    throw Error(ErrorKind::refused,
                fmt::format("{}: HTTP 404: no service account '{}' on this instance: {}", context.what, account_, message),
                "check account ('default' or the service account's e-mail)");
  }
  if (status == 400 || status == 401 || status == 403) {
    throw Error(ErrorKind::refused, fmt::format("{}: HTTP {}: {}", context.what, status, message));
  }
}

Served::Served(std::string account, std::vector<std::string> scopes, TokenGetter get)
    : account_(std::move(account)), scopes_(std::move(scopes)), get_(std::move(get)) {}

bool Served::owns(std::string_view path) const {
  return path == "/" || path == "/computeMetadata/v1/" || path.substr(0, kAccountsPrefix.size()) == kAccountsPrefix;
}

ServerResponse Served::answer(const ServerRequest& r, const Clock& clock) const {
  if (r.header(kFlavorHeader) != "Google") return text_refusal(403, "Missing required header: Metadata-Flavor: Google");
  if (r.header("X-Forwarded-For")) return text_refusal(403, "Request is forwarded; not accepted");
  // The root and its v1 directory: google.auth.default() decides it runs on GCE when `GET /`
  // with Metadata-Flavor: Google answers 200 with that header.
  if (r.path == "/") return response(200, "application/text", "computeMetadata/\n");
  if (r.path == "/computeMetadata/v1/") return response(200, "application/text", "instance/\n");
  return account_answer(r, clock);
}

ServerResponse Served::account_answer(const ServerRequest& r, const Clock& clock) const {
  const std::string rest = r.path.substr(kAccountsPrefix.size());
  const auto slash = rest.find('/');
  const std::string account = rest.substr(0, slash);
  const std::string leaf = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (account != "default" && account != account_) return text_refusal(404, "Not found: no such service account");
  if (slash == std::string::npos) {  // ".../ACCOUNT" without a slash: a directory, as GCE redirects
    return response(301, "text/plain", "", "a directory: add a slash");
  }
  if (leaf.empty()) {
    if (r.param("recursive") == "true") {
      return response(200, "application/json", json{{"email", account_}, {"scopes", scopes_}, {"aliases", {"default"}}}.dump());
    }
    return response(200, "application/text", "aliases\nemail\nscopes\ntoken\n");
  }
  if (leaf == "email") return response(200, "application/text", account_);
  if (leaf == "scopes") {
    std::string lines;
    for (const auto& s : scopes_) lines += s + "\n";
    return response(200, "application/text", lines);
  }
  if (leaf == "aliases") return response(200, "application/text", "default\n");
  if (leaf == "token") {
    // The token carries the profile's scopes: asking for one it does not have is refused, as
    // IMDS refuses another resource (the caller would get a token that cannot do what it wants).
    if (const auto asked = r.param("scopes")) {
      const std::set<std::string> have(scopes_.begin(), scopes_.end());
      for (const auto& scope : split_scopes(*asked)) {
        if (have.count(scope) == 0) {
          return text_refusal(400, "This server serves a token for other scopes (the profile's 'scopes')");
        }
      }
    }
    const Token token = get_().token;
    const TimePoint now = clock.now();
    return response(200, "application/json",
                    json{{"access_token", token.access_token},
                         {"expires_in", token.expiry ? seconds_left(token, now) : 24 * 3600},
                         {"token_type", token.token_type}}
                        .dump());
  }
  return text_refusal(404, "Not found");
}

ServerResponse Served::refusal(int status, const std::string& message) const { return text_refusal(status, message); }

ServerResponse Served::failure(const Error& e) const { return text_refusal(failure_status(e), failure_message(e)); }

}  // namespace tok::gcp

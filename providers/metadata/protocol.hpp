#pragma once
// The shape of one metadata protocol (docs/design.md, "Protocol units"). A metadata protocol is
// spoken in two directions: the `metadata` provider asks a service for a token (client side),
// `tok serve` answers the vendors' SDKs that ask it (server side). Each protocol is one unit,
// providers/metadata/<name>.{hpp,cpp}, holding its paths, headers and shapes once, with:
//   - a MetadataSource subclass: the request it sends and how it reads the answer;
//   - a ServedProtocol subclass: which paths it owns, its refusals, its answer, its error shape.
// Both sides are pure (no sockets, no environment read except where the protocol says so), so
// every rule has a unit test; the provider adds the retries, `tok serve` the HTTP server.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/refresh_flow.hpp"
#include "core/token.hpp"
#include "providers/http.hpp"
#include "providers/metadata/exchange.hpp"

namespace tok {

// ---- client side --------------------------------------------------------------------------------

// What reading an answer needs besides the answer.
struct AnswerContext {
  std::string what;                          // "fetching a token from URL": starts every message
  std::vector<std::string> secrets;          // sent by the request: redacted from quoted bodies
  TimePoint now;
  std::optional<Duration> default_lifetime;  // for answers that carry no lifetime
};

class MetadataSource {
 public:
  // url: the token URL, without a query that may carry identities (messages name it).
  explicit MetadataSource(std::string url) : url_(std::move(url)) {}
  virtual ~MetadataSource() = default;
  // The token request. A secret it sends goes into `secrets` too (never into a message).
  virtual HttpRequest request(std::vector<std::string>& secrets) const = 0;
  // The protocol's own retry rules on top of the provider's (default: none).
  virtual void adjust_retry(RetryPolicy&) const {}
  const std::string& url() const { return url_; }
  // The answer as a token, or a tok::Error in this protocol's words: refused (the service said
  // no: 4xx), unavailable (not there, redirected, 5xx, an outage).
  Token read(const HttpResponse& response, const AnswerContext& context) const;

 protected:
  // First, for every answer: throws when the answer is not this protocol's (GCP's header).
  virtual void check_answer(const HttpResponse&, const AnswerContext&) const {}
  // An error status this protocol has words for (404, 4xx): throws; returns when it has none.
  virtual void refuse(long status, const std::string& message, const AnswerContext& context) const = 0;
  // A 2xx answer's body as a token (default: an OAuth token response in JSON). Errors are put in
  // context.what's words by read().
  virtual Token parse_success(const HttpResponse& response, const AnswerContext& context) const;

 private:
  std::string url_;
};

// The human part of an error body: error_description, message or error from JSON, else the body
// itself; quoted (200 characters, redacted).
std::string body_message(const std::string& body, const std::vector<std::string>& secrets);

// ---- server side --------------------------------------------------------------------------------

// The served profile's engine: the token or a tok::Error.
using TokenGetter = std::function<GetResult()>;

class ServedProtocol {
 public:
  virtual ~ServedProtocol() = default;
  // Whether a request for this path is this protocol's.
  virtual bool owns(std::string_view path) const = 0;
  // The answer to a request it owns (Host, body and method already checked by the caller).
  // Throws tok::Error when the token source fails: failure() shapes it.
  virtual ServerResponse answer(const ServerRequest& request, const Clock& clock) const = 0;
  // A refusal before any token is asked for, in this protocol's own error shape.
  virtual ServerResponse refusal(int status, const std::string& message) const = 0;
  // A token the engine could not produce, in this protocol's own error shape.
  virtual ServerResponse failure(const Error& error) const = 0;
  // Per-run secrets in its paths (replaced by SECRET in the -v log line).
  virtual std::vector<std::string> path_secrets() const { return {}; }
};

// ---- what the units share ----------------------------------------------------------------------

// A response whose body is a JSON text.
ServerResponse json_response(int status, std::string json_text, std::string reason = {});
// The status a failed token source is reported with: refused 403, unavailable 503, else 500.
int failure_status(const Error& error);
// A protocol's word for failure_status(): its refused (403), unavailable (503) or other (500) code.
struct FailureCodes {
  const char* refused;
  const char* unavailable;
  const char* internal;
  const char* of(int status) const { return status == 403 ? refused : status == 503 ? unavailable : internal; }
};
// "tok could not get a token: ...": the provider's message, already redacted.
std::string failure_message(const Error& error);
std::int64_t epoch_seconds(TimePoint t);
// A token that never expires is reported with a day's life: every protocol here needs a number,
// and the SDKs simply ask again.
TimePoint reported_expiry(const Token& token, TimePoint now);
// A secret compared in time that does not depend on where it differs.
bool same_secret(std::string_view given, std::string_view secret);
std::string without_trailing_slashes(std::string text);
std::string lowercase(std::string_view text);

}  // namespace tok

#pragma once
// The HTTP client the HTTP providers share. The transport (libcurl) lives in a module loaded on
// first use, so the cache-hit path of `tok get` never loads libcurl and the ~3 ms it costs a
// process start (docs/engine.md). Tests replace the transport.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/policy.hpp"
#include "core/world.hpp"
#include "providers/base64.hpp"

namespace tok {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{30'000};
  std::string ca_bundle;                 // extra CA file, empty for the system's
  std::size_t max_body = std::size_t{1} << 20;  // a token response is small; more is refused
  // Loopback: never through a proxy, whatever *_proxy says (send_with_retries sets it from the
  // URL). A proxy must never see plain-text credentials, and plain http is loopback only.
  bool direct = false;
};

// Header names compare without regard to case (RFC 9110 5.1).
bool same_header_name(std::string_view a, std::string_view b);

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::optional<std::string> header(std::string_view name) const;
};

enum class TransportFailure {
  none,
  connect,    // refused, unreachable, DNS: worth another try
  timeout,    // no answer or a drip slower than the deadline
  transfer,   // reset mid-body, protocol error: worth another try
  too_large,  // body over max_body: refused, not retried
  tls,        // certificate problems: not retried
  other,
};

struct HttpResult {
  TransportFailure failure = TransportFailure::none;
  std::string error;  // set when failure != none
  HttpResponse response;
};

// The seam: one call, no redirects followed (credentials must never reach another host).
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResult perform(const HttpRequest& request) = 0;
};

// Where the n-th retry's wait falls (RetryPolicy): `draw` in [0, 1] from the world's random
// source. Full jitter (n from 0): draw x min(first x 2^n, max). A Retry-After of R: R + draw x R
// (`exact`: R), capped at `left` less `reserve` (the deadline's remaining time, less time for the
// attempt itself) but never below R; nullopt when R does not fit in `left` at all.
std::chrono::milliseconds backoff_wait(std::chrono::milliseconds first, std::chrono::milliseconds max, int n,
                                       double draw);
std::optional<std::chrono::milliseconds> retry_after_wait(std::chrono::milliseconds retry_after,
                                                          std::chrono::milliseconds left,
                                                          std::chrono::milliseconds reserve, double draw,
                                                          bool exact = false);

// The libcurl transport, loaded from the tok-curl module next to the program on first use.
// Throws Error(internal) if the module is missing.
HttpTransport& curl_transport();

// The retry series of a blocking fetch (docs/engine.md, "Retries"): exponential backoff with full
// jitter, the n-th wait drawn from [0, min(first_backoff x 2^n, max_backoff)]; a Retry-After of R
// is a floor, the wait drawn from [R, 2R] (within the deadline). Draws, waits and time come from
// the world send_with_retries is given.
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{250};
  std::chrono::milliseconds max_backoff{8'000};
  // The old policy, for bench/fleet.py's comparison only (kBenchExactRetryAfter, core/policy.hpp):
  // wait a Retry-After exactly, so that every client told the same value comes back on the same beat.
  bool exact_retry_after = false;
  // The HTTP statuses worth another attempt; empty: 408, 429 and 5xx (docs/engine.md).
  std::function<bool(long status)> retry_status;
  // A status that means "starting up, ask again later": retried past max_attempts until at least
  // `persist_for` has been spent waiting (Azure IMDS answers 410 for up to 70 s after a boot).
  long persistent_status = 0;
  std::chrono::milliseconds persist_for{0};
  std::function<void(const std::string&)> note;  // -v: one line per attempt and per wait
  // The value of refresh_timeout (the deadline's origin), for timeout messages; 0: unknown.
  std::chrono::milliseconds refresh_timeout{0};
};

// scheme://host[:port]/path of a URL: what may be shown of it (no user info, no query, no
// fragment, which can carry credentials).
std::string url_for_display(std::string_view url);

// Sends with retries on connection errors and the policy's retryable statuses (408, 429 and 5xx
// unless it says otherwise), with exponential backoff and full jitter, a Retry-After (seconds or
// HTTP date) as the floor of its wait, never past the deadline. Returns the last response (which
// may still be a 5xx); throws Error(unavailable) when no response came at all. `what` names the
// request in errors ("fetching a token from URL"). Time, waits and draws are the world's.
HttpResponse send_with_retries(HttpTransport& transport, const World& world, HttpRequest request, Deadline deadline,
                               std::chrono::milliseconds http_timeout, const RetryPolicy& policy,
                               std::string_view what);

// Retry-After as a wait from now; nullopt if absent or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now);
// An error built from `response`, marked as an outage (with the response's Retry-After) when the
// status is one (408, 429, 5xx) and the error an unavailability: the engine keeps those.
Error outage_if_so(Error error, const HttpResponse& response, TimePoint now);

// Plain http is allowed only to loopback (127.0.0.0/8, localhost, [::1]); https anywhere.
// Returns an explanation when the URL is not acceptable.
std::optional<std::string> check_url(std::string_view url);
bool is_loopback_host(std::string_view host);
// The host part of an http(s) URL (brackets kept for IPv6), empty if none.
std::string url_host(std::string_view url);

// RFC 3986 percent-encoding of everything but the unreserved characters: correct both as
// application/x-www-form-urlencoded and for RFC 6749 2.3.1's id and secret before Basic.
std::string form_encode(std::string_view text);

// At most the first 200 characters of a body, with anything that looks like a token redacted,
// for error messages; valid UTF-8 without control characters whatever the body held. Each known secret is removed first, exactly: raw, form-encoded and
// JSON-escaped (a short secret would not look like a token).
std::string quote_body(std::string_view body, const std::vector<std::string>& known_secrets = {});
// `body` with every known secret cut out, however it was echoed: raw, form-encoded (by any
// encoder: %XX in either case, + or %20 for a space) or JSON-escaped (\/, \uXXXX...).
std::string redact_known(std::string_view body, const std::vector<std::string>& known_secrets);

// A name from the profile or the environment (a URL, a program), safe in a one-line message:
// control characters (C0, DEL, C1) and bytes that are not UTF-8 become '?', at most 200
// characters. Not redacted: it is not a secret.
std::string printable(std::string_view text);

}  // namespace tok

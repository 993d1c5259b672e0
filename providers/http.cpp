#include "providers/http.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/module.hpp"
#include "core/time_format.hpp"
#include "providers/url.hpp"

namespace tok {

bool same_header_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (same_header_name(k, name)) return v;
  }
  return std::nullopt;
}

// ---- loading the libcurl module -------------------------------------------------------------

HttpTransport& curl_transport() {
  static HttpTransport* const transport =
      static_cast<HttpTransport*>(create_from_module("tok-curl.so", "tok_create_curl_transport", "the HTTP client"));
  return *transport;
}

// ---- retries --------------------------------------------------------------------------------

namespace {

bool retryable_status(long status) { return status == 408 || status == 429 || status >= 500; }

bool retryable_failure(TransportFailure f) {
  return f == TransportFailure::connect || f == TransportFailure::timeout || f == TransportFailure::transfer;
}

std::optional<TimePoint> parse_http_date(std::string_view text) {
  // IMF-fixdate, the only form RFC 9110 asks senders to use: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string s(text);
  const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return instant_from_epoch_seconds(static_cast<std::int64_t>(::timegm(&tm)));
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 6) return std::chrono::hours(24 * 365);  // effectively "not within the deadline"
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  if (auto when = parse_http_date(value)) {
    if (*when <= now) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
  }
  return std::nullopt;
}

Error outage_if_so(Error error, const HttpResponse& response, TimePoint now) {
  if (error.kind() != ErrorKind::unavailable || !retryable_status(response.status)) return error;
  const auto header = response.header("retry-after");
  return std::move(error.mark_outage(header ? parse_retry_after(*header, now) : std::nullopt));
}

namespace {

// `share` of `d` for a share in [0, 1] (anything else, NaN included, counts as 0), rounded to the
// millisecond.
std::chrono::milliseconds share_of(std::chrono::milliseconds d, double share) {
  if (!(share > 0.0 && share <= 1.0)) return std::chrono::milliseconds(0);
  if (share == 1.0) return d;
  return std::chrono::milliseconds(
      static_cast<std::chrono::milliseconds::rep>(static_cast<double>(d.count()) * share + 0.5));
}

}  // namespace

std::chrono::milliseconds backoff_wait(std::chrono::milliseconds first, std::chrono::milliseconds max, int n,
                                       double draw) {
  auto step = std::max(first, std::chrono::milliseconds(0));
  for (int i = 0; i < n && step < max; ++i) step *= 2;
  return share_of(std::min(step, max), draw);
}

std::optional<std::chrono::milliseconds> retry_after_wait(std::chrono::milliseconds retry_after,
                                                          std::chrono::milliseconds left,
                                                          std::chrono::milliseconds reserve, double draw, bool exact) {
  if (retry_after >= left) return std::nullopt;
  if (exact) return retry_after;
  const auto latest = std::max(retry_after, left - reserve);
  return std::min(retry_after + share_of(retry_after, draw), latest);
}

HttpResponse send_with_retries(HttpTransport& transport, const World& world, HttpRequest request, Deadline deadline,
                               std::chrono::milliseconds http_timeout, const RetryPolicy& policy,
                               std::string_view what) {
  request.direct = is_loopback_host(url_host(request.url));
  using namespace std::chrono;
  const auto worth_retrying = [&](long status) {
    return policy.retry_status ? policy.retry_status(status) : retryable_status(status);
  };
  int retries = 0;
  milliseconds waited{0};
  // A timeout names the profile key that ran out and its value, not libcurl's milliseconds.
  const auto deadline_text = [&] {
    return policy.refresh_timeout.count() > 0
               ? fmt::format("refresh_timeout ({})", format_duration(policy.refresh_timeout))
               : std::string("refresh_timeout");
  };
  const auto failure_text = [&](const HttpResult& result) {
    if (result.failure != TransportFailure::timeout) return result.error;
    if (request.timeout < http_timeout) return fmt::format("no answer before {} ran out", deadline_text());
    return fmt::format("no answer within http_timeout ({})", format_duration(http_timeout));
  };
  const auto give_up = [&](HttpResult& result) -> HttpResponse {
    // Waiting would cross the deadline: give the caller what we have now.
    if (result.failure != TransportFailure::none) {
      throw std::move(Error(ErrorKind::unavailable, fmt::format("{}: {}", what, failure_text(result))).mark_outage());
    }
    return std::move(result.response);
  };
  for (int attempt = 1;; ++attempt) {
    const auto left = duration_cast<milliseconds>(deadline - world.steady_now());
    if (left <= milliseconds(0)) {
      throw std::move(Error(ErrorKind::unavailable, fmt::format("{}: {} ran out", what, deadline_text())).mark_outage());
    }
    request.timeout = std::min(http_timeout, left);
    const auto started = world.steady_now();
    HttpResult result = transport.perform(request);
    if (policy.note) {
      const auto took = duration_cast<milliseconds>(world.steady_now() - started);
      policy.note(fmt::format("{} {}: {} in {}ms (attempt {} of {})", request.method, url_for_display(request.url),
                              result.failure == TransportFailure::none ? fmt::format("HTTP {}", result.response.status)
                                                                       : printable(failure_text(result)),
                              took.count(), attempt, policy.max_attempts));
    }
    const bool out_of_attempts = attempt >= policy.max_attempts;
    std::optional<milliseconds> retry_after;
    if (result.failure != TransportFailure::none) {
      if (!retryable_failure(result.failure) || out_of_attempts) {
        Error error(ErrorKind::unavailable, fmt::format("{}: {}", what, failure_text(result)));
        if (retryable_failure(result.failure)) error.mark_outage();
        throw error;
      }
    } else {
      const long status = result.response.status;
      const bool persisting = policy.persistent_status != 0 && status == policy.persistent_status &&
                              waited < policy.persist_for && policy.max_attempts > 1;
      if (!worth_retrying(status) || (out_of_attempts && !persisting)) return std::move(result.response);
      if (auto header = result.response.header("retry-after")) retry_after = parse_retry_after(*header, world.now());
    }
    const auto now_left = duration_cast<milliseconds>(deadline - world.steady_now());
    milliseconds wait;
    if (retry_after) {
      // A floor, never a beat: clients told the same R at the same instant come back spread over
      // [R, 2R] instead of all at R (docs/fleet.md).
      const auto drawn =
          retry_after_wait(*retry_after, now_left, std::min(http_timeout, milliseconds(1000)),
                           policy.exact_retry_after ? 0.0 : world.random().uniform(), policy.exact_retry_after);
      if (!drawn) return give_up(result);
      wait = *drawn;
    } else {
      // Full jitter: anywhere from 0 to the step, so a herd of clients spreads at once.
      wait = backoff_wait(policy.first_backoff, policy.max_backoff, retries, world.random().uniform());
      if (wait >= now_left) return give_up(result);
    }
    ++retries;
    if (policy.note) policy.note(fmt::format("waiting {}ms before the next attempt", wait.count()));
    world.sleep(wait);
    waited += wait;
  }
}

// ---- URLs and encodings ---------------------------------------------------------------------

std::string url_for_display(std::string_view url) {
  const auto parts = Url::split(url);
  if (!parts) return printable(url.substr(0, url.find_first_of("?#")));
  return printable(parts->scheme + "://" + parts->authority + parts->path);
}

std::string url_host(std::string_view url) {
  const auto parts = Url::split(url);
  return parts ? parts->host : std::string();
}

bool is_loopback_host(std::string_view host) {
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  if (h == "localhost" || h == "[::1]") return true;
  // 127.0.0.0/8, written as four decimal octets.
  int parts = 0;
  std::size_t i = 0;
  while (i <= h.size()) {
    const std::size_t dot = std::min(h.find('.', i), h.size());
    const std::string_view part(h.data() + i, dot - i);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(part)) > 255) {
      return false;
    }
    if (parts == 0 && part != "127") return false;
    ++parts;
    i = dot + 1;
  }
  return parts == 4;
}

std::optional<std::string> check_url(std::string_view url) {
  std::string lower(url.substr(0, 8));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool https = lower.rfind("https://", 0) == 0;
  const bool http = lower.rfind("http://", 0) == 0;
  if (!https && !http) return fmt::format("'{}' is not an http(s) URL", printable(redacted_url(url)));
  const std::string host = url_host(url);
  if (host.empty()) return fmt::format("'{}' has no host", printable(redacted_url(url)));
  if (http && !is_loopback_host(host)) {
    return fmt::format("'{}' uses plain http to a host that is not loopback; use https", printable(redacted_url(url)));
  }
  return std::nullopt;
}

std::string form_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

namespace {

// A view of `raw` with one encoding undone, and for every decoded byte the raw span it came from,
// so that a secret found in the view can be cut out of the raw text.
struct DecodedView {
  std::string text;
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // raw [begin, end) per decoded byte
  void put(char c, std::size_t begin, std::size_t end) {
    text += c;
    spans.emplace_back(begin, end);
  }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded as any encoder writes it: %XX in either case, '+' for a space.
DecodedView form_decoded(std::string_view raw) {
  DecodedView v;
  for (std::size_t i = 0; i < raw.size();) {
    if (raw[i] == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 && hex_value(raw[i + 2]) >= 0) {
      v.put(static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2])), i, i + 3);
      i += 3;
    } else {
      v.put(raw[i] == '+' ? ' ' : raw[i], i, i + 1);
      ++i;
    }
  }
  return v;
}

void put_utf8(DecodedView& v, unsigned cp, std::size_t begin, std::size_t end) {
  if (cp < 0x80) {
    v.put(static_cast<char>(cp), begin, end);
  } else if (cp < 0x800) {
    v.put(static_cast<char>(0xC0 | (cp >> 6)), begin, end);
    v.put(static_cast<char>(0x80 | (cp & 0x3F)), begin, end);
  } else if (cp < 0x10000) {
    v.put(static_cast<char>(0xE0 | (cp >> 12)), begin, end);
    v.put(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), begin, end);
    v.put(static_cast<char>(0x80 | (cp & 0x3F)), begin, end);
  } else {
    v.put(static_cast<char>(0xF0 | (cp >> 18)), begin, end);
    v.put(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)), begin, end);
    v.put(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), begin, end);
    v.put(static_cast<char>(0x80 | (cp & 0x3F)), begin, end);
  }
}

// JSON string escapes as any encoder writes them: \" \\ \/ \b \f \n \r \t \uXXXX (pairs too).
DecodedView json_unescaped(std::string_view raw) {
  DecodedView v;
  const auto hex4 = [&](std::size_t at) -> int {
    if (at + 4 > raw.size()) return -1;
    int value = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      const int h = hex_value(raw[k]);
      if (h < 0) return -1;
      value = value * 16 + h;
    }
    return value;
  };
  for (std::size_t i = 0; i < raw.size();) {
    if (raw[i] != '\\' || i + 1 >= raw.size()) {
      v.put(raw[i], i, i + 1);
      ++i;
      continue;
    }
    const char e = raw[i + 1];
    static constexpr char kEscapes[] = "\"\\/bfnrt";
    static constexpr char kValues[] = {'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'};
    const char* simple = std::strchr(kEscapes, e);
    if (simple != nullptr && e != '\0') {
      v.put(kValues[simple - kEscapes], i, i + 2);
      i += 2;
    } else if (e == 'u' && hex4(i + 2) >= 0) {
      unsigned cp = static_cast<unsigned>(hex4(i + 2));
      std::size_t end = i + 6;
      if (cp >= 0xD800 && cp < 0xDC00 && end + 1 < raw.size() && raw[end] == '\\' && raw[end + 1] == 'u' &&
          hex4(end + 2) >= 0xDC00 && hex4(end + 2) < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<unsigned>(hex4(end + 2)) - 0xDC00);
        end += 6;
      }
      put_utf8(v, cp, i, end);
      i = end;
    } else {
      v.put(raw[i], i, i + 1);
      ++i;
    }
  }
  return v;
}

}  // namespace

std::string redact_known(std::string_view body, const std::vector<std::string>& known_secrets) {
  std::vector<std::pair<std::size_t, std::size_t>> cuts;  // raw spans to remove
  const DecodedView views[] = {form_decoded(body), json_unescaped(body)};
  for (const auto& secret : known_secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = body.find(secret); at != std::string_view::npos; at = body.find(secret, at + 1)) {
      cuts.emplace_back(at, at + secret.size());
    }
    for (const DecodedView& view : views) {
      for (std::size_t at = view.text.find(secret); at != std::string::npos; at = view.text.find(secret, at + 1)) {
        cuts.emplace_back(view.spans[at].first, view.spans[at + secret.size() - 1].second);
      }
    }
  }
  if (cuts.empty()) return std::string(body);
  std::sort(cuts.begin(), cuts.end());
  std::string out;
  std::size_t pos = 0;
  for (std::size_t k = 0; k < cuts.size();) {
    auto [begin, end] = cuts[k];
    for (++k; k < cuts.size() && cuts[k].first <= end; ++k) end = std::max(end, cuts[k].second);  // overlapping
    out.append(body.substr(pos, begin - pos));
    out += "[redacted]";
    pos = end;
  }
  out.append(body.substr(pos));
  return out;
}

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629 section 4: no overlong forms,
// no surrogates, nothing past U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto at = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  const auto tail = [&](std::size_t k) { return at(k) >= 0x80 && at(k) <= 0xBF; };
  const unsigned c = at(0);
  if (c >= 0xC2 && c <= 0xDF) return tail(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && tail(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && tail(2) && tail(3) ? 4 : 0;
  }
  return 0;
}

// Text quoted in a message is shown on terminals and stored in JSON (cache entries, tok serve's
// answers), whose encoders refuse what is not UTF-8: a byte that does not start a well-formed
// sequence becomes '?', and so do the control characters C0, DEL and C1 (U+0080..U+009F, which
// some terminals obey like ESC).
std::string utf8_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : utf8_sequence(s, i);
    const bool control = c < 0x20 || c == 0x7f || (c == 0xC2 && n == 2 && static_cast<unsigned char>(s[i + 1]) < 0xA0);
    if (n == 0 || control) {
      out += '?';
      i += n == 0 ? 1 : n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

std::string quote_body(std::string_view body, const std::vector<std::string>& known_secrets) {
  if (!known_secrets.empty()) return quote_body(redact_known(body, known_secrets));
  // Anything of 20 or more token-ish characters is treated as a secret: access tokens, JWTs,
  // refresh tokens. Words (error codes, descriptions) stay readable.
  const auto tokenish = [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
  };
  std::string out;
  std::size_t i = 0;
  while (i < body.size() && out.size() < 200) {
    std::size_t j = i;
    while (j < body.size() && tokenish(static_cast<unsigned char>(body[j]))) ++j;
    // RFC 6749 error codes (lower case and '_') are long but never secret.
    const bool error_code = std::all_of(body.begin() + static_cast<std::ptrdiff_t>(i),
                                        body.begin() + static_cast<std::ptrdiff_t>(j),
                                        [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
    if (j - i >= 20 && !error_code) {
      out += "[redacted]";
      i = j;
      continue;
    }
    if (j == i) j = i + 1;
    for (; i < j && out.size() < 200; ++i) {
      const unsigned char c = static_cast<unsigned char>(body[i]);
      out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : (c < 0x20 ? '?' : static_cast<char>(c));
    }
  }
  if (i < body.size()) out += "...";
  return utf8_text(out);
}

std::string printable(std::string_view text) {
  std::string out = utf8_text(text.substr(0, 200));
  if (text.size() > 200) out += "...";
  return out;
}

}  // namespace tok

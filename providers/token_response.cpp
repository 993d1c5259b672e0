#include "providers/token_response.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/time_format.hpp"
#include "providers/aws_credential.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

using std::chrono::seconds;

// A lifetime beyond this is a bug or an attack on the cache, not a token policy.
constexpr std::int64_t kMaxLifetimeSeconds = 366LL * 24 * 3600;

// Throws "malformed response" quoting the body with the token (once known) removed exactly.
[[noreturn]] void malformed(std::string_view why, std::string_view body, const std::string& token = {}) {
  const std::vector<std::string> secrets = token.empty() ? std::vector<std::string>{} : std::vector<std::string>{token};
  throw Error(ErrorKind::unavailable, fmt::format("malformed response: {}; body: '{}'", why, quote_body(body, secrets)));
}

// A number or a numeric string (IMDS sends "expires_on": "1732800000").
std::optional<double> read_number(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.empty() || s.size() > 20) return std::nullopt;
    std::size_t used = 0;
    try {
      const double v = std::stod(s, &used);
      if (used == s.size()) return v;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

// The first of `names` present in the object, or end().
nlohmann::json::const_iterator find_any(const nlohmann::json& j, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (auto it = j.find(name); it != j.end()) return it;
  }
  return j.end();
}

// Reads `width` decimal digits at `pos`; advances pos.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += width;
  return v;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

// "YYYY-MM-DD" + separator + "HH:MM:SS" + optional fraction, into broken-down fields.
std::optional<std::tm> read_date_time(std::string_view text, std::size_t& pos, std::initializer_list<char> separators) {
  std::tm tm{};
  const auto y = digits(text, pos, 4);
  if (!y || !expect(text, pos, '-')) return std::nullopt;
  const auto mo = digits(text, pos, 2);
  if (!mo || !expect(text, pos, '-')) return std::nullopt;
  const auto d = digits(text, pos, 2);
  if (!d || pos >= text.size()) return std::nullopt;
  bool separated = false;
  for (char s : separators) separated = separated || text[pos] == s;
  if (!separated) return std::nullopt;
  ++pos;
  const auto h = digits(text, pos, 2);
  if (!h || !expect(text, pos, ':')) return std::nullopt;
  const auto mi = digits(text, pos, 2);
  if (!mi || !expect(text, pos, ':')) return std::nullopt;
  const auto s = digits(text, pos, 2);
  if (!s) return std::nullopt;
  if (pos < text.size() && text[pos] == '.') {  // a fraction: whole seconds are enough for an expiry
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60) return std::nullopt;
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = std::min(*s, 59);  // a leap second is a second early, not an error
  // No 30 February: a date that timegm would have to normalise is not a date.
  std::tm check = tm;
  const std::time_t t = ::timegm(&check);
  std::tm back{};
  if (::gmtime_r(&t, &back) == nullptr || back.tm_mday != tm.tm_mday || back.tm_mon != tm.tm_mon) return std::nullopt;
  return tm;
}

bool same_wall_time(const std::tm& a, const std::tm& b) {
  return a.tm_year == b.tm_year && a.tm_mon == b.tm_mon && a.tm_mday == b.tm_mday && a.tm_hour == b.tm_hour &&
         a.tm_min == b.tm_min && a.tm_sec == b.tm_sec;
}

}  // namespace

std::optional<TimePoint> parse_local_time(std::string_view text) {
  std::size_t pos = 0;
  const auto fields = read_date_time(text, pos, {' ', 'T'});
  if (!fields || pos != text.size()) return std::nullopt;
  // mktime applies the zone's rules for that date. Asking once as standard time and once as
  // daylight time finds both readings of an ambiguous wall time; each counts only if it maps back
  // to the same wall time with that flag (otherwise mktime normalised a time that never was).
  std::optional<std::time_t> best;
  for (int isdst : {0, 1}) {
    std::tm t = *fields;
    t.tm_isdst = isdst;
    const std::time_t r = std::mktime(&t);
    std::tm back{};
    if (r == static_cast<std::time_t>(-1) || ::localtime_r(&r, &back) == nullptr) continue;
    if (!same_wall_time(back, *fields) || back.tm_isdst != isdst) continue;
    if (!best || r < *best) best = r;
  }
  if (!best) {
    // A wall time inside a spring-forward gap: az never prints one, but let mktime decide.
    std::tm t = *fields;
    t.tm_isdst = -1;
    const std::time_t r = std::mktime(&t);
    if (r == static_cast<std::time_t>(-1)) return std::nullopt;
    best = r;
  }
  return instant_from_epoch_seconds(*best);
}

std::optional<TimePoint> parse_rfc3339(std::string_view text) {
  std::size_t pos = 0;
  auto fields = read_date_time(text, pos, {'T', 't', ' '});
  if (!fields || pos >= text.size()) return std::nullopt;
  long offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    const auto h = digits(text, pos, 2);
    if (!h || !expect(text, pos, ':')) return std::nullopt;
    const auto m = digits(text, pos, 2);
    if (!m || *h > 23 || *m > 59) return std::nullopt;
    offset = sign * (*h * 3600L + *m * 60L);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  return instant_from_epoch_seconds(static_cast<std::int64_t>(::timegm(&*fields)) - offset);
}

namespace {

// A malformed answer. A service's body is quoted (redacted, the token removed exactly); a
// command's stdout is not quoted at all: whatever shape it printed, its secret is in it (AWS JSON
// holds the SecretAccessKey, a token may be shorter than the redaction catches).
struct Malformed {
  std::string_view body;
  bool quote = true;
  std::string secret;

  [[noreturn]] void operator()(std::string_view why) const {
    if (quote) malformed(why, body, secret);
    throw Error(ErrorKind::unavailable, fmt::format("malformed response: {}", why));
  }
};

// "the JSON has fields a, b, c": names only, redacted as a body would be (a name as long as a
// token is shown as [redacted]), at most 12 of them.
std::string field_names(const nlohmann::json& object) {
  std::string names;
  std::size_t n = 0;
  for (const auto& item : object.items()) {
    if (n++ == 12) {
      names += ", ...";
      break;
    }
    names += (names.empty() ? "" : ", ") + item.key();
  }
  return names.empty() ? "the JSON object is empty" : "the JSON has fields " + quote_body(names);
}

}  // namespace

Token parse_token_response(std::string_view body, TimePoint now, TokenFieldNames names) {
  Malformed fail{body, names.quote, {}};
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    // The byte, never the parser's message: it quotes what it last read.
    fail(names.program_output ? fmt::format("not JSON (a syntax error at byte {} of {})", e.byte, body.size()) : "not JSON");
  } catch (const nlohmann::json::exception&) {
    // A number beyond a double (1e400) is out_of_range, not parse_error; found by the fuzzer.
    fail("not JSON (a number too large for a double)");
  }
  const nlohmann::json& j = parsed;
  if (!j.is_object()) fail("not a JSON object");
  Token token;
  std::optional<std::string> expiration;  // credential_process's
  if (names.program_output && is_credential_process_answer(j)) {
    auto aws = read_credential_process(j);
    token = std::move(aws.token);
    expiration = std::move(aws.expiration);
    fail.secret = token.fields.at(kAwsSecretAccessKey);
  } else {
    const auto at = names.program_output ? find_any(j, {"access_token", "accessToken"}) : j.find("access_token");
    if (at == j.end() || !at->is_string() || at->get_ref<const std::string&>().empty()) {
      fail(names.program_output ? "no access_token, accessToken or AccessKeyId (" + field_names(j) + ")"
                                : std::string("no access_token"));
    }
    token.access_token = at->get<std::string>();
    fail.secret = token.access_token;
    if (!is_b64token(token.access_token)) fail("the access token has characters a token cannot have");
    const auto type = names.program_output ? find_any(j, {"token_type", "tokenType"}) : j.find("token_type");
    if (type != j.end() && type->is_string() && !type->get_ref<const std::string&>().empty()) {
      token.token_type = type->get<std::string>();
      if (!is_b64token(token.token_type)) fail("the token type has characters a token type cannot have");
    }
    if (const auto exp = j.find("Expiration"); names.program_output && exp != j.end()) {
      if (!exp->is_string()) fail(fmt::format("Expiration is a JSON {}, not a string", exp->type_name()));
      expiration = exp->get<std::string>();
    }
  }

  const double now_s = static_cast<double>(std::chrono::floor<seconds>(now).time_since_epoch().count());
  const auto absolute = [&](double epoch, std::string_view field) {
    if (epoch <= now_s) fail(fmt::format("{} is in the past", field));
    if (epoch - now_s > kMaxLifetimeSeconds) fail(fmt::format("{} is more than a year away", field));
    token.expiry = TimePoint{std::chrono::duration_cast<TimePoint::duration>(seconds(static_cast<std::int64_t>(epoch)))};
  };
  const bool aws = is_aws_credential(token);
  if (const auto in = j.find("expires_in"); !aws && in != j.end()) {
    const auto v = read_number(*in);
    if (!v || !std::isfinite(*v)) fail("expires_in is not a number");
    if (*v <= 0) fail(fmt::format("expires_in is {} (must be positive)", *v));
    if (*v > kMaxLifetimeSeconds) fail(fmt::format("expires_in is {} seconds (over a year)", *v));
    // Milliseconds, not whole seconds: "expires_in": 0.5 is half a second, not an expired token.
    token.expiry = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*v));
  } else if (const auto on = j.find("expires_on"); !aws && on != j.end()) {
    const auto v = read_number(*on);
    if (!v || !std::isfinite(*v)) fail("expires_on is not a number");
    absolute(*v, "expires_on");
  } else if (const auto local = j.find("expiresOn"); !aws && names.program_output && local != j.end()) {
    const auto t = local->is_string() ? parse_local_time(local->get_ref<const std::string&>()) : std::nullopt;
    if (!t) fail("expiresOn is not a local time like 2026-11-29 10:00:00.000000");
    absolute(static_cast<double>(std::chrono::system_clock::to_time_t(*t)), "expiresOn");
  } else if (expiration) {
    const auto t = parse_rfc3339(*expiration);
    if (!t) fail("Expiration is not an RFC 3339 time like 2026-11-29T10:00:00Z");
    absolute(static_cast<double>(std::chrono::system_clock::to_time_t(*t)), "Expiration");
  } else if (names.default_lifetime) {
    token.expiry = now + *names.default_lifetime;
  } else if (aws) {
    // AWS's rule: no Expiration means long-term keys. tok caches them only for as long as asked.
    fail("credential_process JSON without Expiration: long-term keys (set default_lifetime to cache them that long)");
  } else {
    fail(names.program_output ? "no expires_in, expires_on, expiresOn or Expiration (set default_lifetime to accept it)"
                              : "no expires_in or expires_on (set default_lifetime to accept it)");
  }
  return token;
}

std::string OAuthErrorAnswer::code() const {
  const bool nqschars =
      std::all_of(error.begin(), error.end(), [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
  return !error.empty() && error.size() <= 128 && nqschars ? error : std::string();
}

std::optional<OAuthErrorAnswer> read_oauth_error(std::string_view body) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  const auto error = doc.find("error");
  if (error == doc.end() || !error->is_string()) return std::nullopt;
  OAuthErrorAnswer answer{error->get<std::string>(), {}};
  if (auto d = doc.find("error_description"); d != doc.end() && d->is_string())
    answer.description = d->get<std::string>();
  return answer;
}

Error token_endpoint_error(const HttpResponse& response, const std::string& what, const std::string& client_advice,
                           const std::vector<std::string>& sent_secrets) {
  if (const auto answer = read_oauth_error(response.body)) {
    // RFC 6749 5.2: the server says why it refused; its code is data, its text only quoted.
    const std::string code = answer->code();
    std::string message = fmt::format("{}: {}", what, quote_body(answer->error, sent_secrets));
    if (!answer->description.empty()) message += ": " + quote_body(answer->description, sent_secrets);
    const bool unavailable = code == "temporarily_unavailable" || response.status >= 500 || response.status == 429;
    std::string advice;
    if (code == "invalid_client" || code == "unauthorized_client") {
      advice = client_advice;
    } else if (code == "invalid_scope") {
      advice = "check the profile's scopes";
    }
    Error error(unavailable ? ErrorKind::unavailable : ErrorKind::refused, message, advice);
    error.with_oauth_error(code);
    return error;
  }
  const std::string message =
      fmt::format("{}: HTTP {}: '{}'", what, response.status, quote_body(response.body, sent_secrets));
  if (response.status == 400 || response.status == 401 || response.status == 403) {
    return Error(ErrorKind::refused, message, client_advice);
  }
  if (response.status >= 300 && response.status < 400) {
    return Error(ErrorKind::unavailable,
                 fmt::format("{}: HTTP {} redirect refused (credentials are never sent on a redirect)", what,
                             response.status),
                 "set token_url to the final endpoint");
  }
  return Error(ErrorKind::unavailable, message);
}

}  // namespace tok

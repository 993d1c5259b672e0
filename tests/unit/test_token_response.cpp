// providers/token_response: validating a token endpoint's answer.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/token.hpp"
#include "fakes.hpp"
#include "providers/token_response.hpp"

using namespace std::chrono_literals;
using tok::TimePoint;

namespace {

const TimePoint kNow{std::chrono::seconds(1'800'000'000)};  // 2027-01-15, whole seconds
const std::string kNowS = "1800000000";
// A long token, so that the redaction of quoted bodies must hide it.
const std::string kSecretToken = "SECRETtokenVALUE0123456789abcdefghijklmnopqrstuvwxyzXYZ";

std::string with_token(const std::string& rest) {
  return R"({"access_token":")" + kSecretToken + "\"" + (rest.empty() ? "" : "," + rest) + "}";
}

// The error message, checked to be "malformed response" of kind unavailable without the token.
std::string malformed_message(const std::string& body, TimePoint now = kNow) {
  try {
    tok::parse_token_response(body, now);
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::unavailable);
    const std::string m = e.what();
    CHECK(m.find("malformed response") != std::string::npos);
    CHECK(m.find(kSecretToken) == std::string::npos);
    CHECK(m.find(kSecretToken.substr(0, 12)) == std::string::npos);
    return m;
  }
  FAIL("expected Error(unavailable) 'malformed response' for: " << body);
  return {};
}

}  // namespace

TEST_SUITE("token_response") {

TEST_CASE("expires_in as a number") {
  const auto t = tok::parse_token_response(R"({"access_token":"abc","token_type":"Bearer","expires_in":3600})", kNow);
  CHECK(t.access_token == "abc");
  CHECK(t.token_type == "Bearer");
  CHECK(t.expiry == kNow + 3600s);
}

TEST_CASE("expires_in as a numeric string, and fractional seconds") {
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_in":"3599"})", kNow).expiry == kNow + 3599s);
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_in":90.7})", kNow).expiry == kNow + 90700ms);
  // Half a second is half a second, not an already-expired token that every call fetches again.
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_in":0.5})", kNow).expiry == kNow + 500ms);
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_in":1})", kNow).expiry == kNow + 1s);
  // Up to a year (366 days) is a policy, not an attack.
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_in":31622400})", kNow).expiry ==
        kNow + 31622400s);
}

TEST_CASE("expires_on as epoch seconds, number or string") {
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_on":1800003600})", kNow).expiry ==
        kNow + 3600s);
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_on":"1800000060"})", kNow).expiry ==
        kNow + 60s);
}

TEST_CASE("expires_in wins over expires_on") {
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_in":60,"expires_on":1800003600})", kNow)
            .expiry == kNow + 60s);
}

TEST_CASE("token_type defaults to Bearer") {
  CHECK(tok::parse_token_response(R"({"access_token":"abc","expires_in":60})", kNow).token_type == "Bearer");
  CHECK(tok::parse_token_response(R"({"access_token":"abc","token_type":"","expires_in":60})", kNow).token_type ==
        "Bearer");
  CHECK(tok::parse_token_response(R"({"access_token":"abc","token_type":7,"expires_in":60})", kNow).token_type ==
        "Bearer");
  CHECK(tok::parse_token_response(R"({"access_token":"abc","token_type":"MAC","expires_in":60})", kNow)
            .token_type == "MAC");
}

TEST_CASE("extra fields are ignored") {
  const auto t = tok::parse_token_response(
      R"({"access_token":"abc","expires_in":60,"refresh_token":"r","scope":"a b","ext_expires_in":99})", kNow);
  CHECK(t.access_token == "abc");
  CHECK(t.expiry == kNow + 60s);
}

TEST_CASE("not JSON, HTML, empty body, not an object") {
  CHECK(malformed_message("not json").find("not JSON") != std::string::npos);
  malformed_message("<html><body>502 Bad Gateway</body></html>");
  malformed_message("");
  malformed_message("   ");
  malformed_message(with_token(R"("expires_in":60)").substr(0, 50));  // truncated inside the token
  CHECK(malformed_message("[" + with_token(R"("expires_in":60)") + "]").find("not a JSON object") !=
        std::string::npos);
  malformed_message("null");
  malformed_message("42");
  malformed_message("\"" + kSecretToken + "\"");
  // A number beyond a double is nlohmann's out_of_range, not parse_error: still a clean refusal.
  CHECK(malformed_message(with_token(R"("expires_in":4e440)")).find("too large") != std::string::npos);
  CHECK_THROWS_AS(tok::parse_token_response(R"({"AccessKeyId":"A","Version":1,"x":-1e999})", kNow,
                                            tok::TokenFieldNames{true, std::nullopt}),
                  tok::Error);
}

TEST_CASE("missing, empty or non-string access_token") {
  CHECK(malformed_message(R"({"expires_in":60})").find("access_token") != std::string::npos);
  malformed_message(R"({"access_token":"","expires_in":60})");
  malformed_message(R"({"access_token":null,"expires_in":60})");
  malformed_message(R"({"access_token":12345,"expires_in":60})");
  malformed_message(R"({"access_token":["a"],"expires_in":60})");
  malformed_message(R"({"token":")" + kSecretToken + R"(","expires_in":60})");
}

TEST_CASE("missing lifetime") {
  const std::string m = malformed_message(with_token(R"("token_type":"Bearer")"));
  CHECK(m.find("expires_in") != std::string::npos);
  malformed_message(with_token(""));
}

TEST_CASE("bad expires_in: negative, zero, absurd, not a number") {
  for (const char* v : {"-1", "0", "-0.5", "0.0", "31622401", "400000000", "1e12", "1e308", R"("-60")", R"("0")",
                        R"("NaN")", R"("nan")", R"("inf")", R"("-inf")", R"("Infinity")", R"("1e999")", R"("12abc")",
                        R"("")", R"("sixty")", R"(" ")", "null", "true", "[60]", "{}"}) {
    CAPTURE(std::string(v));
    malformed_message(with_token(std::string(R"("expires_in":)") + v));
  }
}

TEST_CASE("bad expires_on: in the past, now, absurd, not a number") {
  for (const char* v : {"1", "1799999999", "1800000000", R"("1800000000")", "-5", "0", "1900000000", "1e300",
                        R"("NaN")", R"("inf")", R"("soon")", "null", "false"}) {
    CAPTURE(std::string(v));
    malformed_message(with_token(std::string(R"("expires_on":)") + v));
  }
  CHECK(malformed_message(with_token(R"("expires_on":1700000000)")).find("past") != std::string::npos);
}

TEST_CASE("the error message never contains the access token, whatever else is wrong") {
  const std::string bodies[] = {
      with_token(""),
      with_token(R"("expires_in":-1)"),
      with_token(R"("expires_in":"NaN")"),
      with_token(R"("expires_on":1)"),
      with_token(R"("expires_in":99999999999)"),
      "[" + with_token(R"("expires_in":60)") + "]",
      "<html>" + kSecretToken + "</html>",
      "access_token=" + kSecretToken + "&expires_in=3600",  // form-encoded, not JSON
      "{\"access_token\":\"" + kSecretToken,                 // truncated JSON
  };
  for (const auto& b : bodies) {
    CAPTURE(b);
    malformed_message(b);
  }
}

TEST_CASE("a token or token type outside RFC 6750's b64token is malformed") {
  for (const char* bad : {"two words", "line\nbreak", "cr\rlf", "tab\tx", "quote\"x", "semi;colon", "=leading",
                          "a=b", "ünï"}) {
    CAPTURE(std::string(bad));
    malformed_message(R"({"access_token":)" + nlohmann::json(bad).dump() + R"(,"expires_in":60})");
  }
  const std::string m =
      malformed_message(R"({"access_token":"Zm9v YmFy","token_type":"Bearer","expires_in":60})");
  CHECK(m.find("Zm9v YmFy") == std::string::npos);  // even a short token is removed from the quote
  malformed_message(R"({"access_token":"abc","token_type":"Bearer\r\nX-Evil: 1","expires_in":60})");
  CHECK(tok::is_b64token("abc-._~+/09AZ"));
  CHECK(tok::is_b64token("YWJj=="));
  CHECK_FALSE(tok::is_b64token(""));
  CHECK_FALSE(tok::is_b64token("=="));
}

TEST_CASE("OAuth names only, unless the answer is a program's output") {
  const std::string az = R"({"accessToken":"abc","tokenType":"Bearer","expires_on":1800003600})";
  malformed_message(az);
  const auto t = tok::parse_token_response(az, kNow, {.program_output = true});
  CHECK(t.access_token == "abc");
  CHECK(t.expiry == kNow + 3600s);
  malformed_message(R"({"access_token":"abc","Expiration":"2027-01-15T09:00:00Z"})");
}

TEST_CASE("program output: expires_on wins over expiresOn, Expiration is RFC 3339") {
  tok_test::TzGuard tz("America/New_York");
  const auto both = tok::parse_token_response(
      R"({"accessToken":"abc","expiresOn":"2027-01-15 04:00:00.000000","expires_on":1800003600})", kNow,
      {.program_output = true});
  CHECK(both.expiry == kNow + 3600s);
  const auto local = tok::parse_token_response(R"({"accessToken":"abc","expiresOn":"2027-01-15 04:00:00.123456"})",
                                               kNow, {.program_output = true});
  CHECK(local.expiry == kNow + 3600s);  // 04:00 EST is 09:00 UTC
  const auto aws = tok::parse_token_response(R"({"access_token":"abc","Expiration":"2027-01-15T10:00:00+01:00"})",
                                             kNow, {.program_output = true});
  CHECK(aws.expiry == kNow + 3600s);
  for (const char* bad : {R"("expiresOn":"tomorrow")", R"("expiresOn":1800003600)", R"("expiresOn":"2027-02-30 01:00:00")",
                          R"("Expiration":"2027-01-15 09:20:00")", R"("expiresOn":"2020-01-01 00:00:00")"}) {
    CAPTURE(std::string(bad));
    try {
      tok::parse_token_response(std::string(R"({"accessToken":"abc",)") + bad + "}", kNow, {.program_output = true});
      FAIL_CHECK("accepted");
    } catch (const tok::Error& e) {
      CHECK(std::string(e.what()).find("malformed response") != std::string::npos);
    }
  }
}

TEST_CASE("times far from now are refused before they overflow the clock (found by fuzzing)") {
  // The clock counts nanoseconds in 64 bits: years past 2262 (or before 1678) cannot be held.
  CHECK_FALSE(tok::parse_local_time("2626-11-29 10:00:00.123456").has_value());
  CHECK_FALSE(tok::parse_local_time("1013-11-29 10:00:00").has_value());
  CHECK_FALSE(tok::parse_rfc3339("9999-12-31T23:59:59Z").has_value());
  CHECK_FALSE(tok::parse_rfc3339("2200-01-01T00:00:01Z").has_value());
  CHECK(tok::parse_rfc3339("2199-12-31T23:59:59Z").has_value());
  CHECK_THROWS_AS(tok::parse_token_response(R"({"accessToken":"eyJ0.x.y","expiresOn":"1013-11-29 10:00:00.000000"})", kNow,
                                            tok::TokenFieldNames{true, std::nullopt}),
                  tok::Error);
}

TEST_CASE("parse_rfc3339") {
  CHECK(tok::parse_rfc3339("2027-01-15T08:00:00Z") == kNow);
  CHECK(tok::parse_rfc3339("2027-01-15t08:00:00.999z") == kNow);
  CHECK(tok::parse_rfc3339("2027-01-15T10:00:00+02:00") == kNow);
  CHECK(tok::parse_rfc3339("2027-01-15T03:30:00-04:30") == kNow);
  for (const char* bad : {"", "2027-01-15", "2027-01-15T08:20:00", "2027-01-15T08:20Z", "2027-13-15T08:20:00Z",
                          "2027-01-15T08:20:00+0200", "2027-01-15T08:20:00Zjunk", "27-01-15T08:20:00Z"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(tok::parse_rfc3339(bad).has_value());
  }
}

// The Azure CLI prints expiresOn in local time. These are the true instants, from the zones'
// published rules (zdump -v).
TEST_CASE("parse_local_time: the zone's rules at that date, under several TZ values") {
  using std::chrono::system_clock;
  const auto utc = [](std::int64_t epoch) { return system_clock::from_time_t(epoch); };
  SUBCASE("UTC") {
    tok_test::TzGuard tz("UTC");
    CHECK(tok::parse_local_time("2027-01-15 08:00:00") == kNow);
    CHECK(tok::parse_local_time("2027-01-15 08:00:00.999999") == kNow);
  }
  SUBCASE("America/New_York: winter and summer offsets") {
    tok_test::TzGuard tz("America/New_York");
    CHECK(tok::parse_local_time("2027-01-15 03:00:00.000000") == kNow);        // EST, -5: 08:00 UTC
    CHECK(tok::parse_local_time("2027-07-15 03:20:00") == utc(1815636000));  // EDT, -4: 07:20 UTC
  }
  SUBCASE("America/New_York: a token whose life crosses the spring change") {
    tok_test::TzGuard tz("America/New_York");
    // Issued 2026-03-08 01:30 EST (06:30 UTC) for an hour: az prints 03:30, now EDT. The offset
    // at issue time (-5) would say 08:30 UTC, an hour too late.
    CHECK(tok::parse_local_time("2026-03-08 03:30:00.000000") == utc(1772955000));  // 07:30 UTC
  }
  SUBCASE("America/New_York: the repeated hour in autumn reads as the earlier instant") {
    tok_test::TzGuard tz("America/New_York");
    // 2026-11-01 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    CHECK(tok::parse_local_time("2026-11-01 01:30:00") == utc(1793511000));
    CHECK(tok::parse_local_time("2026-11-01 02:30:00") == utc(1793518200));  // EST only: 07:30 UTC
  }
  SUBCASE("Europe/Berlin: a token crossing the autumn change") {
    tok_test::TzGuard tz("Europe/Berlin");
    // 2026-10-25 03:00 CEST becomes 02:00 CET. Expiry 03:30 local is CET (+1): 02:30 UTC.
    CHECK(tok::parse_local_time("2026-10-25 03:30:00") == utc(1792895400));
    CHECK(tok::parse_local_time("2026-07-01 12:00:00") == utc(1782900000));  // CEST, +2: 10:00 UTC
  }
  SUBCASE("Australia/Lord_Howe: a half-hour daylight saving shift") {
    tok_test::TzGuard tz("Australia/Lord_Howe");
    // Standard +10:30, daylight +11 (from 2026-10-04 02:00 local to 2027-04-04 02:00 local).
    CHECK(tok::parse_local_time("2026-07-01 12:00:00") == utc(1782869400));  // +10:30: 01:30 UTC
    CHECK(tok::parse_local_time("2027-01-15 19:00:00") == kNow);              // +11: 08:00 UTC
  }
  SUBCASE("not a local time") {
    tok_test::TzGuard tz("UTC");
    for (const char* bad : {"", "2027-01-15", "2027-01-15 8:20:00", "2027-01-15 08:20:00 PM",
                            "2027-01-15 08:20:00Z", "2027-02-29 00:00:00", "2027-01-15 24:00:00",
                            "2027/01/15 08:20:00", "2027-01-15 08:20:00."}) {
      CAPTURE(std::string(bad));
      CHECK_FALSE(tok::parse_local_time(bad).has_value());
    }
  }
}

}  // TEST_SUITE

TEST_CASE("default_lifetime: used only when the answer carries no lifetime") {
  const auto ten_minutes = std::optional<tok::Duration>(std::chrono::minutes(10));
  CHECK_THROWS_AS(tok::parse_token_response(R"({"access_token":"abc","token_type":"Bearer"})", kNow), tok::Error);
  const auto t = tok::parse_token_response(R"({"access_token":"abc","token_type":"Bearer"})", kNow,
                                           tok::TokenFieldNames{false, ten_minutes});
  REQUIRE(t.expiry);
  CHECK(*t.expiry == kNow + std::chrono::minutes(10));
  const auto own = tok::parse_token_response(R"({"access_token":"abc","token_type":"Bearer","expires_in":60})", kNow,
                                             tok::TokenFieldNames{false, ten_minutes});
  CHECK(*own.expiry == kNow + std::chrono::seconds(60));
}

TEST_CASE("authorization_scheme: Bearer in any case is written Bearer, other schemes as given") {
  CHECK(tok::authorization_scheme("bearer") == "Bearer");
  CHECK(tok::authorization_scheme("BEARER") == "Bearer");
  CHECK(tok::authorization_scheme("Bearer") == "Bearer");
  CHECK(tok::authorization_scheme("MAC") == "MAC");
  CHECK(tok::authorization_scheme("bearers") == "bearers");
}

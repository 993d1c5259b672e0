// providers/token_response: validating a token endpoint's answer.
#include <doctest/doctest.h>

#include <string>

#include "core/error.hpp"
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

}  // TEST_SUITE

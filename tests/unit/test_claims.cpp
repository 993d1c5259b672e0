// tok status --claims: a JWT's header and usual claims, decoded from hostile text, never verified.
#include <doctest/doctest.h>

#include <string>

#include "cli/claims.hpp"
#include "providers/jws.hpp"

namespace {

std::string token(const std::string& header, const std::string& payload) {
  return tok::base64url_encode(header) + "." + tok::base64url_encode(payload) + "." + tok::base64url_encode("sig");
}

}  // namespace

TEST_SUITE("claims") {

TEST_CASE("claims: a JWT's header and the usual claims, nothing else") {
  const auto c = tok::decode_claims(
      token(R"({"alg":"ES256","typ":"at+jwt","kid":"k","x5c":["..."]})",
            R"({"iss":"https://i","sub":"s","aud":["a","b"],"scp":"x y","exp":2000000000,"iat":1,"nbf":1,"email":"e"})"));
  REQUIRE(c.jwt);
  CHECK(c.header == nlohmann::json{{"alg", "ES256"}, {"typ", "at+jwt"}, {"kid", "k"}});
  CHECK(c.claims["iss"] == "https://i");
  CHECK(c.claims["aud"] == nlohmann::json::array({"a", "b"}));
  CHECK(c.claims["exp"] == 2000000000);
  CHECK_FALSE(c.claims.contains("email"));
}

TEST_CASE("claims: strings are made printable and capped") {
  const std::string long_sub(5000, 'x');
  const auto c = tok::decode_claims(token(R"({"alg":"none"})", R"({"sub":"a\u001b[2Jb","iss":")" + long_sub + R"("})"));
  REQUIRE(c.jwt);
  CHECK(c.claims["sub"] == "a?[2Jb");
  CHECK(c.claims["iss"].get<std::string>().size() < 300);
}

TEST_CASE("claims: opaque, encrypted, broken, deep and huge tokens are not decoded") {
  CHECK_FALSE(tok::decode_claims("tok0001.abcdef").jwt);
  CHECK_FALSE(tok::decode_claims("plainopaquetoken").jwt);
  CHECK(tok::decode_claims("a.b.c.d.e").why_not.find("JWE") != std::string::npos);
  CHECK_FALSE(tok::decode_claims(token("{}", "[1]")).jwt);                      // not an object
  CHECK_FALSE(tok::decode_claims(token("{}", "{\"sub\":\"\xff\"}")).jwt);       // not UTF-8
  CHECK_FALSE(tok::decode_claims(token("{}", std::string(100, '{'))).jwt);      // too deep
  CHECK_FALSE(tok::decode_claims("*.*.*").jwt);                                 // not base64url
  const auto huge = tok::decode_claims(std::string(70000, 'a') + ".b.c");
  CHECK_FALSE(huge.jwt);
  CHECK(huge.why_not == "too large to decode");
}

}  // TEST_SUITE

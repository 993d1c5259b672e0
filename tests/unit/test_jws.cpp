// private_key_jwt's pieces: base64url, the client assertion's header and claims (with a fake
// signer), and real RS256/ES256 signatures by the OpenSSL signer, verified here with libcrypto.
#include <doctest/doctest.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "providers/jws.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const tok::TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 29} + 10h + 500ms;

std::string base64url_decode(const std::string& in) {
  std::string s = in;
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4 != 0) s += '=';
  std::string out((s.size() / 4) * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                                static_cast<int>(s.size()));
  REQUIRE(n >= 0);
  out.resize(static_cast<std::size_t>(n) - (in.size() % 4 == 2 ? 2 : in.size() % 4 == 3 ? 1 : 0));
  return out;
}

std::vector<std::string> split_jwt(const std::string& jwt) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  for (std::size_t dot; (dot = jwt.find('.', pos)) != std::string::npos; pos = dot + 1) parts.push_back(jwt.substr(pos, dot - pos));
  parts.push_back(jwt.substr(pos));
  return parts;
}

struct FakeSigner final : tok::JwsSigner {
  std::string seen_input;
  std::string seen_alg;
  std::string sign(std::string_view, std::string_view alg, std::string_view input, std::string&) override {
    seen_input = std::string(input);
    seen_alg = std::string(alg);
    return "signature-bytes";
  }
};

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

KeyPtr generate(const char* type, const char* param, std::size_t rsa_bits = 2048) {
  EVP_PKEY* key = std::string_view(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", rsa_bits)
                                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param);
  REQUIRE(key != nullptr);
  return KeyPtr(key, EVP_PKEY_free);
}

std::string private_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  REQUIRE(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

bool verify(EVP_PKEY* key, const std::string& input, std::string signature, bool ecdsa) {
  if (ecdsa) {  // r || s back to DER for libcrypto
    REQUIRE(signature.size() == 64);
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr));
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(sig, &der);
    signature.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

}  // namespace

TEST_SUITE("jws") {

TEST_CASE("base64url: RFC 4648 vectors, URL alphabet, no padding") {
  CHECK(tok::base64url_encode("") == "");
  CHECK(tok::base64url_encode("f") == "Zg");
  CHECK(tok::base64url_encode("fo") == "Zm8");
  CHECK(tok::base64url_encode("foo") == "Zm9v");
  CHECK(tok::base64url_encode("foob") == "Zm9vYg");
  CHECK(tok::base64url_encode("fooba") == "Zm9vYmE");
  CHECK(tok::base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(tok::base64url_encode(std::string("\xfb\xff\xbf", 3)) == "-_-_");
}

TEST_CASE("base64url: decoding undoes encoding and refuses anything else") {
  for (const std::string bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff\xbf\x00\x01"}) {
    CHECK(tok::base64url_decode(tok::base64url_encode(bytes)) == bytes);
  }
  CHECK(tok::base64url_decode("Zm9vYg==") == std::string("foob"));  // padding tolerated
  CHECK_FALSE(tok::base64url_decode("Zm9v+g"));  // the other alphabet
  CHECK_FALSE(tok::base64url_decode("Zm9vY"));   // no length leaves one character over
  CHECK_FALSE(tok::base64url_decode("Zm 9v"));
}

TEST_CASE("client assertion: header, claims of RFC 7523, a fresh jti each time") {
  FakeSigner signer;
  tok::ClientAssertion claims;
  claims.client_id = "ci-deployer";
  claims.audience = "https://login.example.com/oauth2/token";
  claims.alg = "ES256";
  claims.key_id = "key-2026";
  const std::string jwt = tok::make_client_assertion(claims, "pem", kNow, signer, "private_key_file");
  const auto parts = split_jwt(jwt);
  REQUIRE(parts.size() == 3);
  CHECK(signer.seen_input == parts[0] + "." + parts[1]);
  CHECK(signer.seen_alg == "ES256");
  CHECK(base64url_decode(parts[2]) == "signature-bytes");
  CHECK(json::parse(base64url_decode(parts[0])) == json{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", "key-2026"}});
  const auto payload = json::parse(base64url_decode(parts[1]));
  const auto now_s = std::chrono::floor<std::chrono::seconds>(kNow).time_since_epoch().count();
  CHECK(payload["iss"] == "ci-deployer");
  CHECK(payload["sub"] == "ci-deployer");
  CHECK(payload["aud"] == "https://login.example.com/oauth2/token");
  CHECK(payload["iat"] == now_s);
  CHECK(payload["exp"] == now_s + 300);
  CHECK(payload["jti"].get<std::string>().size() == 32);

  std::set<std::string> jtis;
  for (int i = 0; i < 50; ++i) {
    const auto p = json::parse(base64url_decode(split_jwt(tok::make_client_assertion(claims, "pem", kNow, signer, "k"))[1]));
    jtis.insert(p["jti"].get<std::string>());
  }
  CHECK(jtis.size() == 50);
  claims.key_id.clear();
  CHECK_FALSE(json::parse(base64url_decode(split_jwt(tok::make_client_assertion(claims, "pem", kNow, signer, "k"))[0]))
                  .contains("kid"));
}

TEST_CASE("OpenSSL signer: RS256 and ES256 signatures that libcrypto verifies") {
  auto signer = tok::make_openssl_signer();
  for (const bool ec : {false, true}) {
    CAPTURE(ec);
    auto key = ec ? generate("EC", "P-256") : generate("RSA", nullptr);
    std::string problem;
    const std::string input = "header.payload";
    const std::string sig = signer->sign(private_pem(key.get()), ec ? "ES256" : "RS256", input, problem);
    REQUIRE_MESSAGE(!sig.empty(), problem);
    CHECK(sig.size() == (ec ? 64u : 256u));
    CHECK(verify(key.get(), input, sig, ec));
    CHECK_FALSE(verify(key.get(), "header.other", sig, ec));
  }
}

TEST_CASE("OpenSSL signer: keys that cannot sign say why") {
  auto signer = tok::make_openssl_signer();
  const auto rsa = private_pem(generate("RSA", nullptr).get());
  const auto p256 = private_pem(generate("EC", "P-256").get());
  const auto p384 = private_pem(generate("EC", "P-384").get());
  const auto rsa1024 = private_pem(generate("RSA", nullptr, 1024).get());
  struct Case {
    std::string pem, alg, expected;
  };
  for (const Case& c : {Case{p256, "RS256", "RS256 needs an RSA key"}, Case{rsa, "ES256", "ES256 needs an EC key"},
                        Case{p384, "ES256", "P-256"}, Case{"garbage", "RS256", "not a PEM private key"},
                        Case{rsa, "HS256", "unsupported signing_alg"},
                        Case{rsa1024, "RS256", "at least 2048 bits (RFC 7518 3.3); this one has 1024"}}) {
    CAPTURE(c.alg);
    std::string problem;
    CHECK(signer->sign(c.pem, c.alg, "x", problem).empty());
    CHECK(problem.find(c.expected) != std::string::npos);
  }
  tok::ClientAssertion claims;
  claims.alg = "RS256";
  try {
    tok::make_client_assertion(claims, p256, kNow, *signer, "private_key_file");
    FAIL("expected an error");
  } catch (const tok::Error& e) {
    CHECK(e.kind() == tok::ErrorKind::usage);
    CHECK(std::string(e.what()).find("key 'private_key_file'") != std::string::npos);
  }
}

}  // TEST_SUITE

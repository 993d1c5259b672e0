// The JwsSigner over OpenSSL's libcrypto (EVP). Compiled into the tok-crypto.so module and into
// the unit tests; nothing here is hand-written cryptography.
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <memory>
#include <string>

#include "providers/jws.hpp"

namespace tok {
namespace {

constexpr int kMinRsaBits = 2048;

std::string openssl_error(const char* what) {
  const unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e != 0 ? std::string(what) + ": " + buf : std::string(what);
}

class OpensslSigner final : public JwsSigner {
 public:
  std::string sign(std::string_view key_pem, std::string_view alg, std::string_view input,
                   std::string& problem) override {
    const bool rs256 = alg == "RS256";
    if (!rs256 && alg != "ES256") {
      problem = "unsupported signing_alg (RS256 or ES256)";
      return {};
    }
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())),
                                                  BIO_free);
    // No passphrase callback: an encrypted key fails here instead of prompting on a terminal.
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr)
            : nullptr,
        EVP_PKEY_free);
    if (!key) {
      problem = openssl_error("not a PEM private key (unencrypted RSA or EC)");
      return {};
    }
    const int type = EVP_PKEY_base_id(key.get());
    if (rs256 && type != EVP_PKEY_RSA) {
      problem = "RS256 needs an RSA key";
      return {};
    }
    // RFC 7518 3.3: "A key of size 2048 bits or larger MUST be used" with RS256.
    if (rs256 && EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
      problem = "RS256 needs an RSA key of at least 2048 bits (RFC 7518 3.3); this one has " +
                std::to_string(EVP_PKEY_get_bits(key.get()));
      return {};
    }
    if (!rs256) {
      if (type != EVP_PKEY_EC) {
        problem = "ES256 needs an EC key on P-256";
        return {};
      }
      char curve[64] = {0};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key.get(), "group", curve, sizeof curve, &len) != 1 ||
          std::string_view(curve) != "prime256v1") {
        problem = "ES256 needs an EC key on P-256 (prime256v1)";
        return {};
      }
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t sig_len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
      problem = openssl_error("signing failed");
      return {};
    }
    std::string sig(sig_len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      problem = openssl_error("signing failed");
      return {};
    }
    sig.resize(sig_len);
    if (rs256) return sig;
    // ECDSA signatures come DER-encoded; JWS wants the two 32-byte integers side by side (RFC 7518 3.4).
    const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> ecdsa(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size())),
                                                               ECDSA_SIG_free);
    if (!ecdsa) {
      problem = openssl_error("cannot decode the ECDSA signature");
      return {};
    }
    std::string raw(64, '\0');
    if (BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), reinterpret_cast<unsigned char*>(raw.data()), 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) != 32) {
      problem = "cannot encode the ECDSA signature";
      return {};
    }
    return raw;
  }
};

}  // namespace

std::unique_ptr<JwsSigner> make_openssl_signer() { return std::make_unique<OpensslSigner>(); }

std::string openssl_sha256(std::string_view bytes) {
  std::string out(32, '\0');
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()), &length, EVP_sha256(),
                 nullptr) != 1 ||
      length != 32) {
    return {};
  }
  return out;
}

}  // namespace tok

#ifdef TOK_CRYPTO_MODULE
extern "C" __attribute__((visibility("default"))) tok::JwsSigner* tok_create_jws_signer() {
  return tok::make_openssl_signer().release();
}
#endif

#ifdef TOK_CRYPTO_MODULE
// SHA-256 for PKCE (providers/jws.hpp, sha256()): 1 on success, `out` holds 32 bytes.
extern "C" __attribute__((visibility("default"))) int tok_sha256(const char* data, std::size_t size,
                                                                 unsigned char* out) {
  const std::string digest = tok::openssl_sha256(std::string_view(data, size));
  if (digest.size() != 32) return 0;
  std::copy(digest.begin(), digest.end(), out);
  return 1;
}

// For `tok version`: which libcrypto signs.
extern "C" __attribute__((visibility("default"))) const char* tok_module_version() {
  return OpenSSL_version(OPENSSL_VERSION);
}
#endif

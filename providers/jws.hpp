#pragma once
// Signed JWTs for RFC 7523 client authentication (private_key_jwt). Only the signature needs
// cryptography, and that is OpenSSL's (libcrypto), behind the JwsSigner seam: the real one lives
// in the tok-crypto.so module, loaded on the first signature, so no cache hit loads libcrypto.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "providers/base64.hpp"

namespace tok {

class JwsSigner {
 public:
  virtual ~JwsSigner() = default;
  // The raw JWS signature of `input` with the PEM private key: RS256 (RSASSA-PKCS1-v1_5, SHA-256)
  // or ES256 (ECDSA P-256, SHA-256, as r || s). Empty with `problem` set on failure (a key that
  // does not parse, a key of the wrong type for `alg`).
  virtual std::string sign(std::string_view key_pem, std::string_view alg, std::string_view input,
                           std::string& problem) = 0;
};

// The OpenSSL signer from the tok-crypto.so module; throws Error when it cannot be loaded.
JwsSigner& openssl_signer();
// The implementation itself (compiled into the module, and into the unit tests).
std::unique_ptr<JwsSigner> make_openssl_signer();

// SHA-256 of `bytes` (32 raw bytes), by libcrypto in the tok-crypto.so module (loaded on first
// use; throws Error when it cannot be). For PKCE (RFC 7636 S256).
std::string sha256(std::string_view bytes);
// The implementation itself (compiled into the module, and into the unit tests).
std::string openssl_sha256(std::string_view bytes);

struct ClientAssertion {
  std::string client_id;  // iss and sub
  std::string audience;   // aud: the token endpoint
  std::string alg = "RS256";
  std::string key_id;     // kid, when set
  std::chrono::seconds lifetime{300};
};

// 128 random bits from the kernel as 32 hex digits: an assertion's jti, tok serve's per-run
// secrets. Throws Error(internal) when the kernel has none to give.
std::string random_id();

// header.payload.signature, with a fresh random jti, iat = now, exp = now + lifetime. Throws
// Error(usage) naming `key_name` when the key cannot sign.
std::string make_client_assertion(const ClientAssertion& claims, std::string_view key_pem, TimePoint now,
                                  JwsSigner& signer, std::string_view key_name);

}  // namespace tok

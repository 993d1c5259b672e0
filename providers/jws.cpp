#include "providers/jws.hpp"

#include <sys/random.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/module.hpp"

namespace tok {

JwsSigner& openssl_signer() {
  static JwsSigner* const signer =
      static_cast<JwsSigner*>(create_from_module("tok-crypto.so", "tok_create_jws_signer", "the signing module"));
  return *signer;
}

std::string sha256(std::string_view bytes) {
  using Digest = int (*)(const char*, std::size_t, unsigned char*);
  static const Digest digest = [] {
    const ModuleSymbol symbol = load_module_symbol("tok-crypto.so", "tok_sha256");
    if (symbol.address == nullptr) {
      throw Error(ErrorKind::internal, fmt::format("cannot load the crypto module: {}", symbol.problem));
    }
    return reinterpret_cast<Digest>(symbol.address);
  }();
  std::string out(32, '\0');
  if (digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data())) != 1) {
    throw Error(ErrorKind::internal, "SHA-256 failed in the crypto module");
  }
  return out;
}

std::string random_id() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n <= 0) throw Error(ErrorKind::internal, "cannot read random bytes from the kernel");
    got += static_cast<std::size_t>(n);
  }
  return fmt::format("{:02x}", fmt::join(bytes, bytes + sizeof bytes, ""));
}

std::string make_client_assertion(const ClientAssertion& claims, std::string_view key_pem, TimePoint now,
                                  JwsSigner& signer, std::string_view key_name) {
  nlohmann::json header = {{"alg", claims.alg}, {"typ", "JWT"}};
  if (!claims.key_id.empty()) header["kid"] = claims.key_id;
  const auto iat = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  const nlohmann::json payload = {{"iss", claims.client_id},
                                  {"sub", claims.client_id},
                                  {"aud", claims.audience},
                                  {"jti", random_id()},
                                  {"iat", iat},
                                  {"exp", iat + claims.lifetime.count()}};
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  std::string problem;
  const std::string signature = signer.sign(key_pem, claims.alg, input, problem);
  if (signature.empty()) {
    throw Error(ErrorKind::usage, fmt::format("key '{}': cannot sign the client assertion: {}", key_name, problem));
  }
  return input + "." + base64url_encode(signature);
}

}  // namespace tok

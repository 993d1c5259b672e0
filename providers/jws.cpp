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

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = byte(i) << 16;
    for (int shift : {18, 12}) out += kAlphabet[(v >> shift) & 63];
  } else if (i + 2 == bytes.size()) {
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8;
    for (int shift : {18, 12, 6}) out += kAlphabet[(v >> shift) & 63];
  }
  return out;  // RFC 7515: no padding
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned bits = 0;
  int count = 0;
  for (const char c : text) {
    unsigned v = 0;
    if (c >= 'A' && c <= 'Z') {
      v = static_cast<unsigned>(c - 'A');
    } else if (c >= 'a' && c <= 'z') {
      v = static_cast<unsigned>(c - 'a' + 26);
    } else if (c >= '0' && c <= '9') {
      v = static_cast<unsigned>(c - '0' + 52);
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else {
      return std::nullopt;
    }
    bits = (bits << 6 | v) & 0xFFFFFF;
    if (++count == 4) {
      out += static_cast<char>(bits >> 16 & 0xFF);
      out += static_cast<char>(bits >> 8 & 0xFF);
      out += static_cast<char>(bits & 0xFF);
      count = 0;
      bits = 0;
    }
  }
  if (count == 2) out += static_cast<char>(bits >> 4 & 0xFF);
  if (count == 3) {
    out += static_cast<char>(bits >> 10 & 0xFF);
    out += static_cast<char>(bits >> 2 & 0xFF);
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

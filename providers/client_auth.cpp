#include "providers/client_auth.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "providers/jws.hpp"

namespace tok {

ClientAuth ClientAuth::from_settings(const ProviderSettings& s, const std::string& client_id) {
  ClientAuth auth;
  auth.client_id_ = client_id;
  auth.method_ = s.text("auth_method");
  if (auth.method_ == "private_key_jwt") {
    auth.private_key_file_ = s.require("private_key_file");
    auth.key_id_ = s.text("key_id");
    auth.signing_alg_ = s.text("signing_alg");
    for (const char* key : {"client_secret_env", "client_secret_file"}) {
      if (s.get(key)) {
        throw KeyError(key, "not used with auth_method = private_key_jwt (the key signs instead)");
      }
    }
  } else {
    for (const char* key : {"private_key_file", "key_id", "signing_alg"}) {
      if (s.get(key)) {
        throw KeyError(key, "only used with auth_method = private_key_jwt");
      }
    }
    auth.secret_ = SecretSource::from_settings(s, "client_secret");
  }
  return auth;
}

std::vector<std::string> ClientAuth::apply(HttpRequest& request, const std::string& endpoint, TimePoint now,
                                           const ProviderDeps& deps) const {
  if (method_ == "private_key_jwt") {
    const std::string pem = read_small_file(private_key_file_, "private_key_file", FileRules::private_to_user);
    ClientAssertion claims;
    claims.client_id = client_id_;
    claims.audience = endpoint;
    claims.alg = signing_alg_;
    claims.key_id = key_id_;
    JwsSigner& signer = deps.signer != nullptr ? *deps.signer : openssl_signer();
    const std::string assertion = make_client_assertion(claims, pem, now, signer, "private_key_file");
    request.body += "&client_id=" + form_encode(client_id_) + "&client_assertion_type=" +
                    form_encode(kJwtBearerAssertionType) + "&client_assertion=" + form_encode(assertion);
    return {assertion};
  }
  const std::string secret = secret_->read(deps.the_world());
  if (method_ == "basic") {
    // RFC 6749 2.3.1: id and secret are form-urlencoded before they are joined and encoded.
    request.headers.push_back("Authorization: Basic " + base64_encode(form_encode(client_id_) + ":" + form_encode(secret)));
  } else {
    request.body += "&client_id=" + form_encode(client_id_) + "&client_secret=" + form_encode(secret);
  }
  return {secret};
}

std::string ClientAuth::advice() const {
  if (method_ == "private_key_jwt") {
    return fmt::format("check client_id and that the server holds the public key of {}", private_key_file_);
  }
  return fmt::format("check client_id and the secret in {}", secret_->describe());
}

}  // namespace tok

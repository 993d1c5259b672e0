#pragma once
// How a client authenticates at a token endpoint: HTTP Basic or the form with a secret (RFC 6749
// 2.3.1), or a client assertion signed with its private key (RFC 7523, private_key_jwt). Shared
// by every provider that talks to a token endpoint.
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "providers/http.hpp"
#include "providers/provider.hpp"
#include "providers/secret.hpp"

namespace tok {

inline constexpr const char* kJwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

class ClientAuth {
 public:
  // From `auth_method` (basic, the default; post; private_key_jwt) and the keys each needs:
  // client_secret_env/_file, or private_key_file (+ key_id, signing_alg). No I/O.
  static ClientAuth from_settings(const ProviderSettings& settings, const std::string& client_id);

  // Adds the client's credentials to a token request for `endpoint`: a header, or form fields
  // appended to `request.body` (which already holds the grant's fields). Returns the secrets it
  // sent (the secret, or the signed assertion), to be removed from anything quoted back.
  std::vector<std::string> apply(HttpRequest& request, const std::string& endpoint, TimePoint now,
                                 const ProviderDeps& deps) const;

  // What to check when the server refuses the client.
  std::string advice() const;

 private:
  std::string method_;
  std::string client_id_;
  std::optional<SecretSource> secret_;
  std::string private_key_file_;
  std::string key_id_;
  std::string signing_alg_;
};

}  // namespace tok

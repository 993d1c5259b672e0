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

// The keys ClientAuth reads, for the table of each provider that authenticates a client.
namespace client_auth_keys {
inline constexpr KeySpec auth_method{.name = "auth_method", .owner = KeyOwner::provider, .type = KeyType::choice,
                                     .default_value = "basic", .cache_key = true,
                                     .help = "client authentication: basic, post or private_key_jwt",
                                     .choices = "basic|post|private_key_jwt"};
inline constexpr KeySpec client_secret_env{.name = "client_secret_env", .owner = KeyOwner::provider,
                                           .default_value = "TOK_CLIENT_SECRET", .exclusive_group = "client_credential",
                                           .cache_key = true, .help = "variable holding the client secret",
                                           .secret_variable = true};
inline constexpr KeySpec client_secret_file{.name = "client_secret_file", .owner = KeyOwner::provider,
                                            .exclusive_group = "client_credential", .cache_key = true,
                                            .help = "file holding the client secret (only you may read it)"};
inline constexpr KeySpec private_key_file{.name = "private_key_file", .owner = KeyOwner::provider,
                                          .exclusive_group = "client_credential", .cache_key = true,
                                          .help = "private_key_jwt: PEM key (RSA or EC P-256) that signs"};
inline constexpr KeySpec key_id{.name = "key_id", .owner = KeyOwner::provider, .cache_key = true,
                                .help = "private_key_jwt: the assertion's kid"};
inline constexpr KeySpec signing_alg{.name = "signing_alg", .owner = KeyOwner::provider, .type = KeyType::choice,
                                     .default_value = "RS256", .cache_key = true,
                                     .help = "private_key_jwt: RS256 or ES256", .choices = "RS256|ES256"};
}  // namespace client_auth_keys

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

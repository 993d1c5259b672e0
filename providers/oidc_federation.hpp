#pragma once
// provider = oidc-federation: a CI job's OIDC ID token (GitHub Actions, GitLab CI, or a file such
// as a Kubernetes projected token) exchanged for an access token, by RFC 8693 token exchange or as
// the client assertion of a client-credentials request (docs/keys.md, "oidc_federation").
#include "providers/provider.hpp"

namespace tok {

ProviderInfo oidc_federation_provider_info();

}  // namespace tok

#pragma once
// provider = oauth: OAuth 2.0 client credentials (RFC 6749 section 4.4).
#include "providers/provider.hpp"

namespace tok {

ProviderInfo oauth_provider_info();

}  // namespace tok

#pragma once
// provider = file: the token another program keeps in a file (a Kubernetes projected service
// account token, $AZURE_FEDERATED_TOKEN_FILE), re-read whenever the file changes (docs/files.md).
#include "providers/provider.hpp"

namespace tok {

ProviderInfo file_provider_info();

}  // namespace tok

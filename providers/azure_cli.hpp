#pragma once
// provider = azure-cli: the Azure CLI's logged-in account (`az account get-access-token`).
#include "providers/provider.hpp"

namespace tok {

ProviderInfo azure_cli_provider_info();

}  // namespace tok

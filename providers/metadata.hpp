#pragma once
// provider = metadata: a metadata service on the machine (flavor = databricks | azure-imds | gcp).
#include "providers/provider.hpp"

namespace tok {

ProviderInfo metadata_provider_info();
// Its key table (providers/metadata_keys.cpp).
std::span<const KeySpec> metadata_keys();

}  // namespace tok

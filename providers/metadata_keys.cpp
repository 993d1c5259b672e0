// provider = metadata's key table (providers/key_spec.hpp), apart from the protocols so that the
// keys have one place. The order is the cache key's: a new key goes at the end.
#include "providers/metadata.hpp"

namespace tok {

namespace {

constexpr KeySpec kMetadataKeys[] = {
    {.name = "flavor", .owner = KeyOwner::provider, .type = KeyType::choice, .cache_key = true,
     .help = "databricks, azure-imds or gcp", .choices = "databricks|azure-imds|gcp"},
    {.name = "url", .owner = KeyOwner::provider, .cache_key = true,
     .help = "the metadata service's URL (gcp: its base; default: the flavor's)"},
    {.name = "host", .owner = KeyOwner::provider, .cache_key = true, .help = "databricks: the workspace URL"},
    {.name = "resource", .owner = KeyOwner::provider, .cache_key = true,
     .help = "azure-imds: what the token is for"},
    {.name = "client_id", .owner = KeyOwner::provider, .exclusive_group = "identity", .cache_key = true,
     .help = "azure-imds: a user-assigned identity's client id"},
    {.name = "object_id", .owner = KeyOwner::provider, .exclusive_group = "identity", .cache_key = true,
     .help = "azure-imds: a user-assigned identity's object id"},
    {.name = "msi_res_id", .owner = KeyOwner::provider, .exclusive_group = "identity", .cache_key = true,
     .help = "azure-imds: a user-assigned identity's resource id"},
    {.name = "account", .owner = KeyOwner::provider, .default_value = "default", .cache_key = true,
     .help = "gcp: the service account"},
    {.name = "scopes", .owner = KeyOwner::provider, .cache_key = true,
     .help = "gcp: scopes, space- or comma-separated"},
    shared_keys::http_timeout,
    shared_keys::ca_bundle,
    {.name = "id_token_audience", .owner = KeyOwner::provider, .cache_key = true,
     .help = "gcp: an identity token (a JWT) for this audience instead of an access token"},
};

}  // namespace

std::span<const KeySpec> metadata_keys() { return kMetadataKeys; }

}  // namespace tok

#pragma once
// Profile keys as data (docs/keys.md, "How to add a key"). Every key a profile may hold is one
// KeySpec in one table: the engine's and the integrations' (cli/config.cpp), the keys every
// provider reads (provider_common_keys below) and each provider's own (beside its ProviderInfo).
// Resolving a profile, the help, "did you mean", the exclusive-key rule, the cache key and the
// check of the shell completions all read these tables; nothing else lists keys.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace tok {

enum class KeyOwner { engine, provider, integration };

enum class KeyType {
  text,              // one line (no line break, no NUL), anything else
  url,               // http(s); https unless loopback
  duration,          // 40s, 5m, 1h30m; more than zero
  duration_or_zero,  // the same, and 0 means none
  boolean,           // true/false, yes/no, on/off, 1/0
  fraction,          // a plain decimal from 0 to 1
  choice,            // one of KeySpec::choices
};

struct KeySpec {
  std::string_view name;  // as in the file; the flag is --name with '-' for '_'
  KeyOwner owner;
  KeyType type = KeyType::text;
  // What an unset key means, written as a profile would write it; empty: nothing (unset).
  std::string_view default_value = {};
  // Keys of one table sharing a group: a profile sets one of them, and a flag for one replaces
  // the others the file set (--issuer over a file's token_url). Empty: none.
  std::string_view exclusive_group = {};
  // Its value decides which token the profile gets, so it is part of the cache key. Never a
  // secret (a secret key only names a variable or a file).
  bool cache_key = false;
  std::string_view help = {};
  // KeyType::choice: the values, separated by '|' ("basic|post|private_key_jwt").
  std::string_view choices = {};
  // Integration keys: the command that reads it (git-credential, docker-credential, serve).
  std::string_view read_by = {};
  // Its value names an environment variable that holds a secret (client_secret_env): what mints
  // tokens, which `tok exec` keeps from the command it runs (docs/integrations.md).
  bool secret_variable = false;
};

// One table and whose keys they are: a provider's name, or empty for keys of any profile.
struct KeyTable {
  std::string_view provider;
  std::span<const KeySpec> keys;
};

// A usage error about one key: the message starts "key 'NAME': ", and key() says which, so the
// caller points at the line that set it without reading the message.
class KeyError : public Error {
 public:
  KeyError(std::string key, std::string_view what, std::string advice = {});
  // The same with the whole message given, for one that says more than the key first
  // ("key 'url' (from $DATABRICKS_METADATA_SERVICE_URL): ...").
  static KeyError worded(std::string key, std::string message, std::string advice = {});
  const std::string& key() const noexcept { return key_; }

 private:
  struct Worded {};
  KeyError(Worded, std::string key, std::string message, std::string advice);
  std::string key_;
};

// default_lifetime: read by every provider (the lifetime of an answer that carries none).
std::span<const KeySpec> provider_common_keys();

// Keys that several providers' tables hold with the same meaning: a table lists the constant.
namespace shared_keys {
inline constexpr KeySpec token_url{.name = "token_url", .owner = KeyOwner::provider, .type = KeyType::url,
                                   .exclusive_group = "endpoint", .cache_key = true,
                                   .help = "token endpoint (https, or http to loopback)"};
inline constexpr KeySpec client_id{.name = "client_id", .owner = KeyOwner::provider, .cache_key = true,
                                   .help = "the client's id"};
inline constexpr KeySpec scopes{.name = "scopes", .owner = KeyOwner::provider, .cache_key = true,
                                .help = "scopes, space- or comma-separated"};
inline constexpr KeySpec audience{.name = "audience", .owner = KeyOwner::provider, .cache_key = true,
                                  .help = "audience form field"};
inline constexpr KeySpec resource{.name = "resource", .owner = KeyOwner::provider, .cache_key = true,
                                  .help = "what the token is for (resource indicator)"};
inline constexpr KeySpec http_timeout{.name = "http_timeout", .owner = KeyOwner::provider, .type = KeyType::duration,
                                      .default_value = "30s", .cache_key = true, .help = "timeout of one HTTP request"};
inline constexpr KeySpec ca_bundle{.name = "ca_bundle", .owner = KeyOwner::provider, .cache_key = true,
                                   .help = "extra CA file for TLS"};
}  // namespace shared_keys

// The spec named `name` in `keys`, or null.
const KeySpec* find_key(std::span<const KeySpec> keys, std::string_view name);

// --token-url for token_url.
std::string flag_of(std::string_view key);

// The choices of a KeyType::choice key, split at '|'.
std::vector<std::string_view> choices_of(const KeySpec& spec);

// Checks `value` against the key's type; throws KeyError saying what is wrong.
void check_key_value(const KeySpec& spec, std::string_view value);

// Parsers for values already checked (or the defaults): they throw KeyError like the check.
Duration key_duration(const KeySpec& spec, std::string_view value);
bool key_boolean(const KeySpec& spec, std::string_view value);
double key_fraction(const KeySpec& spec, std::string_view value);

}  // namespace tok

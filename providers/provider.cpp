#include "providers/provider.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/azure_cli.hpp"
#include "providers/command.hpp"
#include "providers/file.hpp"
#include "providers/github_app.hpp"
#include "providers/metadata.hpp"
#include "providers/oauth.hpp"
#include "providers/oidc_federation.hpp"
#include "providers/process.hpp"

namespace tok {

ProviderSettings::ProviderSettings(std::map<std::string, std::string, std::less<>> values,
                                   std::span<const KeySpec> keys)
    : values_(std::move(values)), keys_(keys) {
  for (const auto& [key, value] : values_) {
    const KeySpec* s = find_key(keys_, key);
    if (s == nullptr) s = find_key(provider_common_keys(), key);
    if (s != nullptr) check_key_value(*s, value);
  }
}

const KeySpec& ProviderSettings::spec(std::string_view key) const {
  if (const KeySpec* s = find_key(keys_, key)) return *s;
  if (const KeySpec* s = find_key(provider_common_keys(), key)) return *s;
  throw std::logic_error(fmt::format("key '{}' is read but not in the provider's key table", key));
}

std::optional<std::string> ProviderSettings::get(std::string_view key) const {
  if (!keys_.empty()) (void)spec(key);  // bound: only declared keys
  const auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string ProviderSettings::require(std::string_view key) const {
  auto v = get(key);
  if (!v || v->empty()) throw KeyError(std::string(key), "required but not set");
  return *v;
}

std::string ProviderSettings::text(std::string_view key) const {
  if (auto v = get(key)) return *v;
  return std::string(spec(key).default_value);
}

std::optional<Duration> ProviderSettings::duration(std::string_view key) const {
  const KeySpec& s = spec(key);
  if (auto v = get(key)) return key_duration(s, *v);
  if (!s.default_value.empty()) return key_duration(s, s.default_value);
  return std::nullopt;
}

std::optional<std::string> ProviderSettings::url(std::string_view key) const {
  if (spec(key).type != KeyType::url) throw std::logic_error(fmt::format("key '{}' is not a URL key", key));
  return get(key);  // checked when the settings were made
}

const std::vector<ProviderInfo>& providers() {
  static const std::vector<ProviderInfo> all = {oauth_provider_info(), azure_cli_provider_info(),
                                                metadata_provider_info(), command_provider_info(),
                                                oidc_federation_provider_info(),
                                                github_app_provider_info(), file_provider_info()};
  return all;
}

const ProviderInfo* find_provider(std::string_view name) {
  for (const auto& p : providers()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> split_scopes(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : std::string(text) + " ") {
    if (c == ' ' || c == ',' || c == '\t') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

HttpTransport& ProviderDeps::transport() const { return http != nullptr ? *http : curl_transport(); }

ProcessRunner& ProviderDeps::processes() const { return runner != nullptr ? *runner : system_process_runner(); }

RetryPolicy ProviderDeps::retry_policy(FetchMode mode) const {
  RetryPolicy policy;
  if (mode == FetchMode::background) policy.max_attempts = 1;
  policy.note = note;
  policy.refresh_timeout = refresh_timeout;
  if (const char* v = the_world().env(kBenchExactRetryAfter); v != nullptr && *v != '\0' && *v != '0') {
    policy.exact_retry_after = true;
  }
  return policy;
}

std::unique_ptr<Provider> make_provider(const ProviderSettings& settings, const ProviderDeps& deps) {
  const std::string name = settings.require("provider");
  const ProviderInfo* info = find_provider(name);
  if (info == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& p : providers()) names.push_back(p.name);
    throw KeyError("provider", fmt::format("unknown provider '{}' (this build knows: {})", printable(name),
                                           fmt::join(names, ", ")));
  }
  // Bound to the provider's table: values checked by type, defaults from the table.
  return info->make(ProviderSettings(settings.values(), info->keys), deps);
}

}  // namespace tok

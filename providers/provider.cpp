#include "providers/provider.hpp"

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/azure_cli.hpp"
#include "providers/command.hpp"
#include "providers/metadata.hpp"
#include "providers/oauth.hpp"
#include "providers/oidc_federation.hpp"
#include "providers/process.hpp"

namespace tok {

std::optional<std::string> ProviderSettings::get(std::string_view key) const {
  const auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string ProviderSettings::get_or(std::string_view key, std::string_view fallback) const {
  auto v = get(key);
  return v ? *v : std::string(fallback);
}

std::string ProviderSettings::require(std::string_view key) const {
  auto v = get(key);
  if (!v || v->empty()) throw Error(ErrorKind::usage, fmt::format("key '{}': required but not set", key));
  return *v;
}

Duration ProviderSettings::duration_or(std::string_view key, Duration fallback) const {
  auto v = get(key);
  if (!v) return fallback;
  return parse_duration_or_throw(*v, fmt::format("key '{}'", key));
}

std::optional<Duration> ProviderSettings::duration(std::string_view key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  return parse_duration_or_throw(*v, fmt::format("key '{}'", key));
}

std::string ProviderSettings::choice_or(std::string_view key, std::initializer_list<std::string_view> choices,
                                        std::string_view fallback) const {
  auto v = get(key);
  if (!v) return std::string(fallback);
  for (auto c : choices) {
    if (*v == c) return *v;
  }
  throw Error(ErrorKind::usage, fmt::format("key '{}': '{}' is not one of: {}", key, *v, fmt::join(choices, ", ")));
}

std::optional<std::string> ProviderSettings::url(std::string_view key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  if (auto problem = check_url(*v)) throw Error(ErrorKind::usage, fmt::format("key '{}': {}", key, *problem));
  return v;
}

const std::vector<ProviderInfo>& providers() {
  static const std::vector<ProviderInfo> all = {oauth_provider_info(), azure_cli_provider_info(),
                                                metadata_provider_info(), command_provider_info(),
                                                oidc_federation_provider_info()};
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

const Clock& ProviderDeps::time() const {
  static const SystemClock system;
  return clock != nullptr ? *clock : system;
}

ProcessRunner& ProviderDeps::processes() const { return runner != nullptr ? *runner : system_process_runner(); }

RetryPolicy ProviderDeps::retry_policy(FetchMode mode) const {
  RetryPolicy policy;
  if (mode == FetchMode::background) policy.max_attempts = 1;
  policy.note = note;
  policy.refresh_timeout = refresh_timeout;
  if (sleeper != nullptr) {
    const Sleeper* s = sleeper;
    policy.sleep = [s](std::chrono::milliseconds wait) { s->sleep_for(wait); };
    policy.steady_now = [s] { return s->now(); };
  }
  return policy;
}

std::unique_ptr<Provider> make_provider(const ProviderSettings& settings, const ProviderDeps& deps) {
  const std::string name = settings.require("provider");
  const ProviderInfo* info = find_provider(name);
  if (info == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& p : providers()) names.push_back(p.name);
    throw Error(ErrorKind::usage,
                fmt::format("key 'provider': unknown provider '{}' (this build knows: {})", name, fmt::join(names, ", ")));
  }
  return info->make(settings, deps);
}

}  // namespace tok

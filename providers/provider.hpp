#pragma once
// One small interface for every token source. A provider turns a profile's settings into a
// fresh token or a typed error; it knows nothing of caching (the engine wraps it) and never
// prints.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/token.hpp"

namespace tok {

class HttpTransport;

// A profile's key/value settings with getters whose errors name the key. The caller (the CLI)
// adds the file and profile to the message.
class ProviderSettings {
 public:
  explicit ProviderSettings(std::map<std::string, std::string, std::less<>> values) : values_(std::move(values)) {}
  std::optional<std::string> get(std::string_view key) const;
  std::string get_or(std::string_view key, std::string_view fallback) const;
  std::string require(std::string_view key) const;
  Duration duration_or(std::string_view key, Duration fallback) const;
  // One of `choices`, or the fallback when unset.
  std::string choice_or(std::string_view key, std::initializer_list<std::string_view> choices,
                        std::string_view fallback) const;
  // An http(s) URL, https unless loopback.
  std::optional<std::string> url(std::string_view key) const;
  const std::map<std::string, std::string, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

enum class FetchMode {
  blocking,    // a caller waits: retry transient failures within the deadline
  background,  // the cached token is still good: one attempt; the engine's retry_backoff is the
               // retry, so repeated failures cost the service one request per backoff
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Fetches a token before the deadline, or throws tok::Error (refused, unavailable, usage).
  // The memo is what this provider stored in the cache entry last time (a discovered endpoint).
  virtual Token fetch(Deadline deadline, ProviderMemo& memo, FetchMode mode) = 0;
};

struct ProviderInfo {
  std::string_view name;
  // The keys this provider reads; every one of them is non-secret and goes into the cache key.
  std::vector<std::string_view> keys;
  std::unique_ptr<Provider> (*make)(const ProviderSettings& settings, HttpTransport* transport);
};

// Every provider this build knows, by name.
const std::vector<ProviderInfo>& providers();
const ProviderInfo* find_provider(std::string_view name);

// Keys every HTTP provider reads.
inline constexpr std::string_view kHttpKeys[] = {"http_timeout", "ca_bundle"};

// Builds the provider named by the settings' `provider` key; validates keys and URLs but does no
// I/O, so building one costs nothing on the cache-hit path. A null transport means libcurl,
// loaded on first use.
std::unique_ptr<Provider> make_provider(const ProviderSettings& settings, HttpTransport* transport = nullptr);

}  // namespace tok

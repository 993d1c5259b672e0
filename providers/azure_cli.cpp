#include "providers/azure_cli.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"
#include "providers/process.hpp"
#include "providers/token_response.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

std::optional<std::string> non_empty(const ProviderSettings& s, std::string_view key) {
  auto v = s.get(key);
  if (v && v->empty()) throw KeyError(std::string(key), "empty");
  return v;
}

bool mentions_az_login(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("az login") != std::string::npos;
}

class AzureCliProvider final : public Provider {
 public:
  AzureCliProvider(const ProviderSettings& s, const ProviderDeps& deps)
      : deps_(deps), default_lifetime_(s.duration("default_lifetime")),
        resource_(non_empty(s, "resource")),
        scope_(non_empty(s, "scope")),
        tenant_(non_empty(s, "tenant")),
        subscription_(non_empty(s, "subscription")),
        az_path_(non_empty(s, "az_path").value_or(s.text("az_path"))),
        az_timeout_(*s.duration("az_timeout")) {
    if (resource_ && scope_) throw KeyError("resource", "set one of 'resource' and 'scope', not both");
  }

  Token fetch(Deadline deadline, ProviderMemo&, FetchMode) override {
    // One attempt in either mode: az retries its own token requests, and a second second-long
    // start would only double the wait for the same answer.
    check_program(az_path_, "az_path");
    ProcessRequest request;
    request.argv = {az_path_, "account", "get-access-token", "--output", "json"};
    if (resource_) request.argv.insert(request.argv.end(), {"--resource", *resource_});
    if (scope_) {
      // az takes --scope as a space-separated list of arguments.
      request.argv.push_back("--scope");
      for (std::string& scope : split_scopes(*scope_)) request.argv.push_back(std::move(scope));
    }
    if (tenant_) request.argv.insert(request.argv.end(), {"--tenant", *tenant_});
    if (subscription_) request.argv.insert(request.argv.end(), {"--subscription", *subscription_});
    request.deadline = std::min(deadline, deps_.the_world().steady_now() + az_timeout_);

    const auto started = deps_.the_world().steady_now();
    const ProcessResult result = deps_.processes().run(request);
    if (deps_.note) {
      deps_.note(fmt::format(
          "ran {}: {} in {}ms", "az account get-access-token", result.summary(),
          std::chrono::duration_cast<std::chrono::milliseconds>(deps_.the_world().steady_now() - started).count()));
    }
    const std::string what = "az account get-access-token";
    if (result.not_found) {
      throw Error(ErrorKind::unavailable, "Azure CLI not found; install it or set az_path",
                  az_path_ == "az" ? "'az' is not on PATH: install the Azure CLI (Debian: azure-cli)"
                                   : fmt::format("az_path is '{}': no such program", printable(az_path_)));
    }
    if (!result.spawn_error.empty()) {
      throw Error(ErrorKind::unavailable,
                  fmt::format("cannot run the Azure CLI '{}': {}", printable(az_path_), result.spawn_error),
                  "check az_path");
    }
    if (result.timed_out) {
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: no answer within {}; killed", what, format_duration(az_timeout_)),
                  "run it by hand to see what it waits for, or raise az_timeout");
    }
    if (result.exit_status != 0) {
      const std::string line = first_line(result.err, "ERROR:");
      const std::string status = result.exit_status ? fmt::format("exit status {}", *result.exit_status)
                                                    : fmt::format("signal {}", result.signal);
      const std::string message = line.empty() ? fmt::format("{}: failed ({}) and printed no error", what, status)
                                               : fmt::format("{}: {}", what, quote_body(line));
      if (mentions_az_login(result.err)) {
        throw Error(ErrorKind::refused, message,
                    tenant_ ? fmt::format("run 'az login --tenant {}'", *tenant_) : std::string("run 'az login'"));
      }
      throw Error(ErrorKind::unavailable, message);
    }
    if (result.out_truncated) {
      throw Error(ErrorKind::unavailable, fmt::format("{}: printed more than {} KiB", what, request.max_stdout / 1024));
    }
    try {
      return parse_token_response(result.out, deps_.time().now(), {.program_output = true, .default_lifetime = default_lifetime_});
    } catch (const Error& e) {
      throw in_context(e, what);
    }
  }

 private:
  ProviderDeps deps_;
  std::optional<Duration> default_lifetime_;  // for answers that carry no lifetime
  std::optional<std::string> resource_;
  std::optional<std::string> scope_;
  std::optional<std::string> tenant_;
  std::optional<std::string> subscription_;
  std::string az_path_;
  Duration az_timeout_;
};

}  // namespace

// provider = azure-cli's keys. The order is the cache key's: a new key goes at the end.
constexpr KeySpec kAzureCliKeys[] = {
    {.name = "resource", .owner = KeyOwner::provider, .exclusive_group = "target", .cache_key = true,
     .help = "az --resource: what the token is for"},
    {.name = "scope", .owner = KeyOwner::provider, .exclusive_group = "target", .cache_key = true,
     .help = "az --scope, instead of resource"},
    {.name = "tenant", .owner = KeyOwner::provider, .cache_key = true, .help = "az --tenant"},
    {.name = "subscription", .owner = KeyOwner::provider, .cache_key = true, .help = "az --subscription"},
    {.name = "az_path", .owner = KeyOwner::provider, .default_value = "az", .cache_key = true,
     .help = "the az program (a bare name is looked up on PATH)"},
    {.name = "az_timeout", .owner = KeyOwner::provider, .type = KeyType::duration, .default_value = "30s",
     .cache_key = true, .help = "kill az after this long"},
};

ProviderInfo azure_cli_provider_info() {
  // Another az configuration directory is another login.
  return provider_info<AzureCliProvider>("azure-cli", kAzureCliKeys, {"AZURE_CONFIG_DIR"});
}

}  // namespace tok

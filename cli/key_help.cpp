#include "cli/key_help.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "providers/provider.hpp"

namespace tok {

namespace {

struct KeyText {
  std::string_view meaning;
  std::string_view fallback;  // the default, when there is one worth saying
};

// Every profile key's one-line meaning. A test checks that every key the build knows is here.
const std::map<std::string_view, KeyText>& key_texts() {
  static const std::map<std::string_view, KeyText> texts = {
      {"provider", {"where tokens come from: oauth, azure-cli, metadata, command, oidc-federation", ""}},
      // engine
      {"expiry_buffer", {"treat a token as expired this long before it is", "40s"}},
      {"max_stale_window", {"the longest stale window (half the lifetime otherwise)", "20m"}},
      {"stale_window", {"a fixed stale window instead of the dynamic one", ""}},
      {"retry_backoff", {"cooldown after a failed background refresh", "1m"}},
      {"async_refresh", {"refresh stale tokens in the background: true or false", "true"}},
      {"refresh_timeout", {"how long a caller waits for the lock and the fetch", "60s"}},
      {"failure_cache", {"how long an outage's error answers later callers (0: none)", "5s"}},
      {"refresh_jitter", {"share of the stale window by which refreshes come early: 0 to 1", "0.1"}},
      {"default_lifetime", {"lifetime of an answer that carries none (else it is malformed)", ""}},
      // oauth and the other token endpoints
      {"token_url", {"token endpoint (https, or http to loopback)", ""}},
      {"issuer", {"discover the token endpoint from this issuer instead", ""}},
      {"client_id", {"the client's id (metadata: a user-assigned identity)", ""}},
      {"client_secret_env", {"variable holding the client secret", "TOK_CLIENT_SECRET"}},
      {"client_secret_file", {"file holding the client secret (only you may read it)", ""}},
      {"auth_method", {"client authentication: basic, post or private_key_jwt", "basic"}},
      {"private_key_file", {"private_key_jwt: PEM key (RSA or EC P-256) that signs", ""}},
      {"key_id", {"private_key_jwt: the assertion's kid", ""}},
      {"signing_alg", {"private_key_jwt: RS256 or ES256", "RS256"}},
      {"scopes", {"scopes, space- or comma-separated", ""}},
      {"audience", {"audience form field", ""}},
      {"resource", {"what the token is for (resource indicator; az --resource; IMDS)", ""}},
      {"http_timeout", {"timeout of one HTTP request", "30s"}},
      {"ca_bundle", {"extra CA file for TLS", ""}},
      // oidc-federation
      {"id_token_source", {"where the CI ID token comes from: github, gitlab or file", ""}},
      {"id_token_audience", {"github: the audience of the ID token", ""}},
      {"id_token_env", {"gitlab: the variable named in the job's id_tokens:", ""}},
      {"id_token_file", {"file: the ID token's file, read at every fetch", ""}},
      {"exchange", {"token-exchange (RFC 8693) or client-assertion", "token-exchange"}},
      // azure-cli
      {"scope", {"az --scope, instead of resource", ""}},
      {"tenant", {"az --tenant", ""}},
      {"subscription", {"az --subscription", ""}},
      {"az_path", {"the az program", "az on PATH"}},
      {"az_timeout", {"kill az after this long", "30s"}},
      // metadata
      {"flavor", {"databricks, azure-imds or gcp", ""}},
      {"url", {"the metadata service's URL (gcp: its base)", "the flavor's"}},
      {"host", {"Databricks workspace URL (tok serve: what X-Databricks-Host must say)", ""}},
      {"object_id", {"azure-imds: a user-assigned identity's object id", ""}},
      {"msi_res_id", {"azure-imds: a user-assigned identity's resource id", ""}},
      {"account", {"gcp: the service account", "default"}},
      // command
      {"command", {"program and arguments (JSON array or shell-like words, no shell)", ""}},
      {"command_timeout", {"kill the command after this long", "30s"}},
      // integrations
      {"git_hosts", {"hosts (and path prefixes) this profile answers git for", ""}},
      {"git_username", {"user name given to git", "x-access-token"}},
      {"docker_registries", {"registries this profile answers Docker for", ""}},
      {"docker_username", {"user name given to Docker", "oauth2accesstoken"}},
      {"gcp_service_account", {"tok serve: the e-mail reported to GCP clients", "tok@localhost"}},
  };
  return texts;
}

std::string flag_of(std::string_view key) {
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

void add_lines(std::string& out, const std::vector<std::string_view>& keys) {
  for (auto key : keys) {
    const auto it = key_texts().find(key);
    const std::string meaning = it == key_texts().end() ? std::string() : std::string(it->second.meaning);
    const std::string fallback =
        it == key_texts().end() || it->second.fallback.empty() ? std::string() : fmt::format(" ({})", it->second.fallback);
    out += fmt::format("    {:<22} {}{}\n", flag_of(key), meaning, fallback);
  }
}

}  // namespace

bool has_key_help(std::string_view key) { return key_texts().count(key) != 0; }

std::string profile_keys_help(const std::vector<std::string_view>& engine_keys,
                              const std::vector<std::string_view>& integration_keys) {
  std::string out =
      "Profile keys: each is also a flag (--token-url URL), which overrides the config file; a run with\n"
      "--provider needs no file. A flag for one of two exclusive keys (--issuer, --token-url) replaces the\n"
      "other from the file.\n"
      "  Any profile (the refresh engine):\n";
  add_lines(out, engine_keys);
  for (const auto& p : providers()) {
    out += fmt::format("  provider = {}:\n", p.name);
    add_lines(out, p.keys);
  }
  out += "  Integrations (any profile: git-credential, docker-credential, serve):\n";
  add_lines(out, integration_keys);
  return out;
}

}  // namespace tok

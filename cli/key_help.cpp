#include "cli/key_help.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "cli/config.hpp"
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
      {"grant",
       {"oauth: client_credentials, or a person's login: authorization_code, device_code (tok login)",
        "client_credentials"}},
      {"token_storage",
       {"tok login: where the refresh token lives: file, or keyring (the Secret Service)", "keyring if one answers"}},
      {"redirect_port", {"tok login: the loopback port the client is registered with", "any free port"}},
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

// Which keys each command reads, by group. A command not listed reads none.
enum KeyGroup : unsigned { kEngine = 1, kProviders = 2, kGit = 4, kDocker = 8, kServe = 16 };
struct CommandKeys {
  std::string_view command;
  unsigned groups;
};
constexpr CommandKeys kCommandKeys[] = {
    {"get", kEngine | kProviders},      {"status", kEngine | kProviders},
    {"refresh", kEngine | kProviders},  {"exec", kEngine | kProviders},
    {"env", kEngine | kProviders},      {"kube-credential", kEngine | kProviders},
    {"clear", kProviders},              {"profiles", kProviders},
    {"init", kProviders},               {"git-credential", kEngine | kProviders | kGit},
    {"docker-credential", kEngine | kProviders | kDocker},
    {"serve", kEngine | kProviders | kServe},
};
constexpr std::string_view kGitKeys[] = {"git_hosts", "git_username"};
constexpr std::string_view kDockerKeys[] = {"docker_registries", "docker_username"};
constexpr std::string_view kServeKeys[] = {"host", "resource", "gcp_service_account", "scopes", "client_id"};

std::string provider_names() {
  std::vector<std::string_view> names;
  for (const auto& p : providers()) names.push_back(p.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

constexpr std::string_view kGlobals =
    "Global flags, before or after the command: -p/--profile NAME (else $TOK_PROFILE, else 'default'),\n"
    "--config PATH, --cache-dir DIR, -v/--verbose, -q/--quiet.\n";
constexpr std::string_view kFilesAndExits =
    "Files: the config is --config, else $TOK_CONFIG, else $XDG_CONFIG_HOME/tok/config, else\n"
    "~/.config/tok/config; the cache is --cache-dir, else $TOK_CACHE_DIR, else $XDG_CACHE_HOME/tok,\n"
    "else ~/.cache/tok.\n"
    "Exit codes: 0 ok; 1 internal error (a bug); 2 usage or configuration (also: standard output cannot\n"
    "be written); 3 the provider refused; 4 the provider is unavailable (also: a tok module is missing);\n"
    "5 unsafe cache storage refused; 6 'tok status --check': no usable token cached. 'man tok' says more.";

}  // namespace

bool has_key_help(std::string_view key) { return key_texts().count(key) != 0; }

std::string command_help_footer(std::string_view command) {
  unsigned groups = 0;
  for (const auto& c : kCommandKeys) {
    if (c.command == command) groups = c.groups;
  }
  std::string out;
  if (groups != 0) {
    out += "Profile keys it reads, each also a flag that overrides the config file (a run with --provider\n"
           "needs no file):\n";
    std::vector<std::string_view> keys = {"provider"};
    if (groups & kEngine) {
      const auto engine = engine_keys();
      keys.insert(keys.end(), engine.begin(), engine.end());
    }
    if (groups & kGit) keys.insert(keys.end(), std::begin(kGitKeys), std::end(kGitKeys));
    if (groups & kDocker) keys.insert(keys.end(), std::begin(kDockerKeys), std::end(kDockerKeys));
    if (groups & kServe) keys.insert(keys.end(), std::begin(kServeKeys), std::end(kServeKeys));
    add_lines(out, keys);
    out += fmt::format("    and the provider's own keys: 'tok help keys PROVIDER' ({})\n", provider_names());
  }
  return out + std::string(kGlobals) + std::string(kFilesAndExits);
}

std::string main_help_footer() {
  return "'tok COMMAND --help' shows a command's flags and the profile keys it reads; 'tok help keys\n"
         "[PROVIDER]' every profile key; 'tok init' writes a first profile.\n" +
         std::string(kGlobals) + std::string(kFilesAndExits);
}

std::optional<std::string> profile_keys_help(std::string_view provider) {
  const ProviderInfo* only = nullptr;
  if (!provider.empty() && (only = find_provider(provider)) == nullptr) return std::nullopt;
  std::string out =
      "Profile keys: each is also a flag (--token-url URL), which overrides the config file; a run with\n"
      "--provider needs no file. A flag for one of two exclusive keys (--issuer, --token-url) replaces the\n"
      "other from the file.\n";
  add_lines(out, {"provider"});
  out += "  Any profile (the refresh engine):\n";
  add_lines(out, engine_keys());
  for (const auto& p : providers()) {
    if (only != nullptr && only != &p) continue;
    out += fmt::format("  provider = {}:\n", p.name);
    add_lines(out, p.keys);
  }
  out += "  Integrations (any profile: git-credential, docker-credential, serve):\n";
  add_lines(out, integration_keys());
  return out;
}

}  // namespace tok

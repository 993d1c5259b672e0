#include "cli/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "cli/helpers/helper_url.hpp"
#include "core/cache_key.hpp"
#include "core/descriptors.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/file_trust.hpp"
#include "providers/client_auth.hpp"
#include "providers/command.hpp"
#include "providers/http.hpp"
#include "providers/provider.hpp"
#include "providers/url.hpp"

namespace tok {

namespace {

// A config file is a few profiles; anything this large is a mistake (--config /dev/zero).
constexpr long kMaxConfigBytes = 1 << 20;

// The refresh engine's keys. Their defaults are EngineSettings' (core/policy.hpp): a unit test
// holds the two equal.
constexpr KeySpec kEngineKeys[] = {
    {.name = "expiry_buffer", .owner = KeyOwner::engine, .type = KeyType::duration_or_zero, .default_value = "40s",
     .help = "treat a token as expired this long before it is"},
    {.name = "max_stale_window", .owner = KeyOwner::engine, .type = KeyType::duration_or_zero,
     .default_value = "20m", .help = "the longest stale window (half the lifetime otherwise)"},
    {.name = "stale_window", .owner = KeyOwner::engine, .type = KeyType::duration_or_zero,
     .help = "a fixed stale window instead of the dynamic one"},
    {.name = "retry_backoff", .owner = KeyOwner::engine, .type = KeyType::duration_or_zero, .default_value = "1m",
     .help = "cooldown after a failed background refresh"},
    {.name = "async_refresh", .owner = KeyOwner::engine, .type = KeyType::boolean, .default_value = "true",
     .help = "refresh stale tokens in the background: true or false"},
    {.name = "refresh_timeout", .owner = KeyOwner::engine, .type = KeyType::duration, .default_value = "60s",
     .help = "how long a caller waits for the lock and the fetch"},
    {.name = "failure_cache", .owner = KeyOwner::engine, .type = KeyType::duration_or_zero, .default_value = "5s",
     .help = "how long an outage's error answers later callers (0: none)"},
    {.name = "refresh_jitter", .owner = KeyOwner::engine, .type = KeyType::fraction, .default_value = "0.1",
     .help = "share of the stale window by which refreshes come early: 0 to 1"},
};

// Read by the integrations (docs/integrations.md), valid on a profile of any provider.
constexpr KeySpec kIntegrationKeys[] = {
    {.name = "git_hosts", .owner = KeyOwner::integration,
     .help = "hosts (and path prefixes) this profile answers git for", .read_by = "git-credential"},
    {.name = "git_username", .owner = KeyOwner::integration, .default_value = "x-access-token",
     .help = "user name given to git", .read_by = "git-credential"},
    {.name = "docker_registries", .owner = KeyOwner::integration,
     .help = "registries this profile answers Docker for", .read_by = "docker-credential"},
    {.name = "docker_username", .owner = KeyOwner::integration, .default_value = "oauth2accesstoken",
     .help = "user name given to Docker", .read_by = "docker-credential"},
    {.name = "host", .owner = KeyOwner::integration,
     .help = "tok serve: the workspace URL X-Databricks-Host must name", .read_by = "serve"},
    {.name = "resource", .owner = KeyOwner::integration, .help = "tok serve: the resource IMDS clients ask for",
     .read_by = "serve"},
    {.name = "gcp_service_account", .owner = KeyOwner::integration, .default_value = "tok@localhost",
     .help = "tok serve: the e-mail reported to GCP clients", .read_by = "serve"},
    {.name = "kube_token", .owner = KeyOwner::integration, .type = KeyType::choice, .default_value = "access_token",
     .help = "the token kubectl is given: access_token, or a login's id_token (an OIDC cluster)",
     .choices = "access_token|id_token", .read_by = "kube-credential"},
};

// With auth_method from a flag, the other method's keys from the file go too.
constexpr std::string_view kSecretKeys[] = {client_auth_keys::client_secret_env.name,
                                            client_auth_keys::client_secret_file.name};
constexpr std::string_view kKeyPairKeys[] = {client_auth_keys::private_key_file.name, client_auth_keys::key_id.name,
                                             client_auth_keys::signing_alg.name};

constexpr std::string_view kProfileNameRule = "a profile name is letters, digits, '.', '_', '@' and '-'";

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::string env_or_empty(const GlobalOptions& options, const char* name) {
  const char* v = options.world->env(name);
  return v != nullptr ? v : "";
}

std::filesystem::path home_dir(const GlobalOptions& options) {
  const std::string home = env_or_empty(options, "HOME");
  return home.empty() ? std::filesystem::path("/") : std::filesystem::path(home);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string folded(std::string_view text) {
  std::string out;
  for (char c : text) out += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::string> did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string w = folded(word);
  std::optional<std::string> best;
  std::size_t best_distance = 3;  // at most two edits away: 'scope' for 'scopes', 'tokn_url'
  for (const auto& c : candidates) {
    const std::string f = folded(c);
    const std::size_t d = f == w ? 0 : edit_distance(w, f);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

bool valid_profile_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '@' || c == '-';
  });
}

const IniSection* IniFile::find(std::string_view name) const {
  for (const auto& s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

IniFile parse_ini(std::string_view text, const std::string& path) {
  IniFile file;
  file.path = path;
  IniSection* current = nullptr;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const auto fail = [&](std::string_view why) {
      throw Error(ErrorKind::usage, fmt::format("config {} line {}: {}", printable(path), line_no, why));
    };
    std::string line = trim(raw);
    if (line.empty() || line[0] == ';' || line[0] == '#') {
      if (end == text.size()) break;
      continue;
    }
    if (line[0] == '[') {
      const auto close = line.find(']');
      if (close == std::string::npos) fail("a section header needs a closing ']'");
      const std::string rest = trim(std::string_view(line).substr(close + 1));
      if (!rest.empty() && rest[0] != ';' && rest[0] != '#') fail("text after a section header");
      const std::string name = trim(std::string_view(line).substr(1, close - 1));
      if (name.empty()) fail("empty section name");
      if (!valid_profile_name(name)) fail(fmt::format("profile name '{}': {}", printable(name), kProfileNameRule));
      if (file.find(name) != nullptr) fail(fmt::format("profile '{}' is defined twice", name));
      file.sections.push_back(IniSection{name, {}, {}});
      current = &file.sections.back();
    } else {
      const auto eq = line.find('=');
      if (eq == std::string::npos) fail("expected 'key = value'");
      if (current == nullptr) fail("a key before any [profile] header");
      const std::string key = trim(std::string_view(line).substr(0, eq));
      if (key.empty()) fail("empty key");
      std::string value = trim(std::string_view(line).substr(eq + 1));
      const bool space_before = eq + 1 < line.size() && (line[eq + 1] == ' ' || line[eq + 1] == '\t');
      if (!value.empty() && (value[0] == ';' || value[0] == '#') && space_before) {
        value.clear();  // "key = ; comment": a comment, and no value
      } else if (!value.empty() && value[0] == '"') {
        const auto close = value.find('"', 1);
        if (close == std::string::npos) fail("unterminated quote");
        const std::string rest = trim(std::string_view(value).substr(close + 1));
        if (!rest.empty() && rest[0] != ';' && rest[0] != '#') fail("text after a quoted value");
        value = value.substr(1, close - 1);
      } else {
        // An inline comment starts at ';' or '#' after whitespace, so URLs keep their fragments.
        for (std::size_t i = 1; i < value.size(); ++i) {
          if ((value[i] == ';' || value[i] == '#') && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
            value = trim(std::string_view(value).substr(0, i));
            break;
          }
        }
      }
      if (current->values.count(key) != 0) fail(fmt::format("key '{}' is set twice in profile '{}'", key, current->name));
      current->values[key] = value;
      current->lines[key] = line_no;
    }
    if (end == text.size()) break;
  }
  return file;
}

std::span<const KeySpec> engine_key_specs() { return kEngineKeys; }
std::span<const KeySpec> integration_key_specs() { return kIntegrationKeys; }

const KeyCatalog& key_catalog() {
  static const KeyCatalog catalog = [] {
    KeyCatalog c = {{"", kEngineKeys}, {"", provider_common_keys()}};
    for (const auto& p : providers()) c.push_back({p.name, p.keys});
    c.push_back({"", kIntegrationKeys});
    return c;
  }();
  return catalog;
}

std::vector<KeyTable> tables_for(const KeyCatalog& catalog, std::string_view provider) {
  std::vector<KeyTable> out;
  for (const auto& t : catalog) {
    if (t.provider == provider) out.insert(out.begin(), t);  // the provider's own first
  }
  for (const auto& t : catalog) {
    if (t.provider.empty()) out.push_back(t);
  }
  return out;
}

const KeySpec* find_key(const std::vector<KeyTable>& tables, std::string_view key) {
  for (const auto& t : tables) {
    if (const KeySpec* k = find_key(t.keys, key)) return k;
  }
  return nullptr;
}

bool is_profile_key(std::string_view key) {
  if (key == "provider") return true;
  for (const auto& t : key_catalog()) {
    if (find_key(t.keys, key) != nullptr) return true;
  }
  return false;
}

std::vector<std::string> profile_keys(const KeyCatalog& catalog) {
  std::set<std::string> all = {"provider"};
  for (const auto& t : catalog) {
    for (const auto& k : t.keys) all.emplace(k.name);
  }
  return std::vector<std::string>(all.begin(), all.end());
}

const std::vector<std::string>& all_profile_keys() {
  static const std::vector<std::string> keys = profile_keys(key_catalog());
  return keys;
}

std::string unknown_key_hint(const KeyCatalog& catalog, std::string_view provider, std::string_view key) {
  const auto tables = tables_for(catalog, provider);
  std::vector<std::string> candidates;
  for (const auto& k : profile_keys(catalog)) {
    if (k == "provider" || find_key(tables, k) != nullptr) candidates.push_back(k);
  }
  if (auto near = did_you_mean(key, candidates)) return fmt::format(" (did you mean '{}'?)", *near);
  std::vector<std::string_view> owners;
  for (const auto& t : catalog) {
    if (!t.provider.empty() && find_key(t.keys, key) != nullptr) owners.push_back(t.provider);
  }
  if (owners.empty()) return {};
  return fmt::format(" (a key of provider {})", fmt::join(owners, ", "));
}

std::string value_or_default(const KeyValues& values, std::string_view key) {
  if (const auto it = values.find(key); it != values.end()) return it->second;
  for (const auto& t : key_catalog()) {
    if (const KeySpec* k = find_key(t.keys, key)) return std::string(k->default_value);
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> cache_identity(std::string_view provider,
                                                                std::span<const KeySpec> provider_keys,
                                                                const KeyValues& values,
                                                                const std::vector<std::string_view>& environment,
                                                                const World& world) {
  std::vector<std::pair<std::string, std::string>> identity = {{"provider", std::string(provider)}};
  for (const KeySpec& k : provider_keys) {
    if (!k.cache_key) continue;
    if (auto it = values.find(k.name); it != values.end()) identity.emplace_back(k.name, it->second);
  }
  // Environment variables that decide the token (DATABRICKS_HOST, AZURE_CONFIG_DIR) count too.
  for (auto variable : environment) {
    if (const char* v = world.env(std::string(variable).c_str()); v != nullptr && *v != '\0') {
      identity.emplace_back("$" + std::string(variable), v);
    }
  }
  return identity;
}

std::string profile_name(const GlobalOptions& options) {
  if (!options.profile.empty()) return options.profile;
  if (auto env = env_or_empty(options, "TOK_PROFILE"); !env.empty()) return env;
  return "default";
}

std::filesystem::path config_path(const GlobalOptions& options) {
  if (!options.config_path.empty()) return options.config_path;
  if (auto env = env_or_empty(options, "TOK_CONFIG"); !env.empty()) return env;
  if (auto xdg = env_or_empty(options, "XDG_CONFIG_HOME"); !xdg.empty())
    return std::filesystem::path(xdg) / "tok" / "config";
  return home_dir(options) / ".config" / "tok" / "config";
}

std::filesystem::path cache_dir(const GlobalOptions& options) {
  if (!options.cache_dir.empty()) return options.cache_dir;
  if (auto env = env_or_empty(options, "TOK_CACHE_DIR"); !env.empty()) return env;
  if (auto xdg = env_or_empty(options, "XDG_CACHE_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "tok";
  return home_dir(options) / ".cache" / "tok";
}

std::optional<IniFile> load_config(const GlobalOptions& options) {
  const auto path = config_path(options);
  // O_NONBLOCK: a FIFO must not hang us before fstat says it is no config file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    // A missing file is not an error by itself: flags-only runs need none. Resolving a profile
    // without --provider then says which file it looked for.
    if (errno == ENOENT) return std::nullopt;
    throw Error(ErrorKind::usage,
                fmt::format("config {}: cannot read it: {}", printable(path.string()), std::strerror(errno)));
  }
  struct stat st {};
  std::string why;
  std::string advice;
  if (::fstat(fd, &st) != 0) {
    why = std::strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    why = "it is a directory (name the file inside it)";
  } else if (!S_ISREG(st.st_mode)) {
    why = "it is not a regular file";
  } else if (st.st_size > kMaxConfigBytes) {
    why = fmt::format("it is larger than {} KiB, which no profile list needs", kMaxConfigBytes / 1024);
  } else if (why = untrusted_because(st, TrustedOwners::you_or_root); !why.empty()) {
    // The file says which programs run as you (provider = command) and where tokens go: one
    // that another user could have written is refused, as ssh refuses such a config
    // (docs/design.md, "Files tok trusts").
    advice = trust_advice(st, TrustedOwners::you_or_root, printable(path.string()));
  }
  std::optional<std::string> text;
  if (why.empty()) {
    text = read_capped(fd, kMaxConfigBytes);  // the file may grow while we read
    if (!text) {
      why = fmt::format("it is larger than {} KiB, which no profile list needs (or cannot be read)",
                        kMaxConfigBytes / 1024);
    }
  }
  ::close(fd);
  if (!why.empty()) {
    throw Error(ErrorKind::usage, fmt::format("config {}: refusing it: {}", printable(path.string()), why), advice);
  }
  return parse_ini(*text, path.string());
}

ProfileFacts profile_facts(const KeyValues& values) {
  const auto get = [&](std::string_view key) -> std::string {
    const auto it = values.find(key);
    return it == values.end() ? std::string() : printable(it->second);
  };
  const auto first_of = [&](std::initializer_list<std::string_view> keys) -> std::string {
    for (auto key : keys) {
      if (auto v = get(key); !v.empty()) return v;
    }
    return {};
  };
  ProfileFacts facts;
  facts.provider = get("provider");
  // A password in a URL's user info is never shown (providers/url.hpp).
  if (auto url = get("token_url"); !url.empty()) {
    facts.endpoint = redacted_url(url);
  } else if (auto issuer = get("issuer"); !issuer.empty()) {
    facts.endpoint = redacted_url(issuer) + " (discovery)";
  } else if (auto u = get("url"); !u.empty()) {
    facts.endpoint = redacted_url(u);
  } else if (facts.provider == "metadata") {
    facts.endpoint = get("flavor").empty() ? std::string() : get("flavor") + " default";
  } else if (facts.provider == "github-app") {
    facts.endpoint = get("api_url").empty() ? std::string("https://api.github.com") : get("api_url");
  } else if (facts.provider == "azure-cli") {
    facts.endpoint = get("az_path").empty() ? std::string("az") : get("az_path");
  } else if (facts.provider == "command") {
    // The program only: arguments may hold anything, a secret included.
    try {
      const auto it = values.find("command");
      const auto argv = it == values.end() ? std::vector<std::string>{} : split_command(it->second);
      if (!argv.empty()) facts.endpoint = printable(argv.front());
    } catch (const Error&) {
      facts.endpoint = "(unreadable command)";
    }
  }
  facts.client = first_of({"client_id", "object_id", "msi_res_id", "account", "app_id"});
  facts.scopes = first_of({"scopes", "scope", "resource", "audience", "permissions"});
  return facts;
}

Profile resolve_profile(const GlobalOptions& options) { return resolve_profile(options, load_config(options)); }

namespace {

// The section of the chosen profile; null for an ad-hoc profile (--provider, no section). A
// missing one is a usage error with the near miss either way: `-p wrok` for [work], or a
// [defualt] section for the default profile.
const IniSection* profile_section(const GlobalOptions& options, const std::optional<IniFile>& config,
                                  const std::string& name) {
  if (!valid_profile_name(name)) {
    const bool from_env = options.profile.empty();
    throw Error(ErrorKind::usage,
                fmt::format("{} '{}' is not a profile name", from_env ? "$TOK_PROFILE" : "-p", printable(name)),
                std::string(kProfileNameRule));
  }
  const IniSection* section = config ? config->find(name) : nullptr;
  if (section != nullptr || options.key_flags.count("provider") != 0) return section;
  if (!config) {
    throw Error(ErrorKind::usage,
                fmt::format("no config file at {} and no --provider given", printable(config_path(options).string())),
                "create the file with a [" + name + "] profile, or pass --provider and its keys as flags");
  }
  std::vector<std::string> names;
  for (const auto& s : config->sections) names.push_back(printable(s.name));
  const auto near = did_you_mean(name, names);
  std::string advice = "'tok profiles' lists the profiles";
  if (near && options.profile.empty() && options.world->env("TOK_PROFILE") == nullptr) {
    advice = fmt::format("rename the section [{}] to [{}], or choose it with -p {}", *near, name, *near);
  }
  throw Error(ErrorKind::usage,
              fmt::format("config {}: no profile '{}'{}", printable(config->path), printable(name),
                          near ? fmt::format(" (did you mean '{}'?)", *near) : std::string()),
              advice);
}

// The file's keys with the flags on top. A flag for a key of an exclusive group drops the group's
// other keys the file set (--issuer over the file's token_url), so a one-off run never fights
// the file; a flag for auth_method drops the other method's keys.
KeyValues merged_values(const GlobalOptions& options, const IniSection* section, const std::vector<KeyTable>& tables) {
  KeyValues values = section != nullptr ? section->values : KeyValues{};
  const auto from_flag = [&](std::string_view key) { return options.key_flags.count(key) != 0; };
  for (const auto& [flag, value] : options.key_flags) {
    const KeySpec* spec = find_key(tables, flag);
    if (spec == nullptr || spec->exclusive_group.empty()) continue;
    for (const auto& t : tables) {
      for (const KeySpec& other : t.keys) {
        if (other.exclusive_group == spec->exclusive_group && !from_flag(other.name)) values.erase(std::string(other.name));
      }
    }
  }
  if (const auto method = options.key_flags.find("auth_method"); method != options.key_flags.end()) {
    const std::span<const std::string_view> others =
        method->second == "private_key_jwt" ? std::span<const std::string_view>(kSecretKeys) : kKeyPairKeys;
    for (auto key : others) {
      if (!from_flag(key)) values.erase(std::string(key));
    }
  }
  for (const auto& [k, v] : options.key_flags) values[k] = v;
  return values;
}

// The helpers' entries: one that is not a host is this profile's error (the helpers skip it
// while they look for the profile of a host, so it stops no other profile).
template <typename Where>
void check_helper_entries(const KeyValues& values, const Where& where) {
  for (const std::string_view key : {std::string_view("git_hosts"), std::string_view("docker_registries")}) {
    const auto it = values.find(key);
    if (it == values.end()) continue;
    for (const std::string& entry : split_list(it->second)) {
      try {
        (void)read_helper_entry(entry);
      } catch (const Error& err) {
        throw Error(ErrorKind::usage, fmt::format("{}: key '{}': '{}': {}", where(key), key, printable(entry), err.what()));
      }
    }
  }
}

// The engine's settings, typed by its table: each key's value (already checked), else the
// table's default.
EngineSettings engine_settings(const KeyValues& values) {
  const auto text = [&](std::string_view key) -> std::pair<const KeySpec&, std::string> {
    const KeySpec& spec = *find_key(std::span<const KeySpec>(kEngineKeys), key);
    const auto it = values.find(key);
    return {spec, it != values.end() ? it->second : std::string(spec.default_value)};
  };
  const auto duration = [&](std::string_view key) {
    const auto [spec, value] = text(key);
    return key_duration(spec, value);
  };
  EngineSettings e;
  e.expiry_buffer = duration("expiry_buffer");
  e.max_stale_window = duration("max_stale_window");
  e.retry_backoff = duration("retry_backoff");
  e.refresh_timeout = duration("refresh_timeout");
  e.failure_cache = duration("failure_cache");
  if (values.count("stale_window") != 0) e.stale_window = duration("stale_window");
  const auto [jitter, jitter_text] = text("refresh_jitter");
  e.refresh_jitter = key_fraction(jitter, jitter_text);
  const auto [async, async_text] = text("async_refresh");
  e.async_refresh = key_boolean(async, async_text);
  return e;
}

}  // namespace

Profile resolve_profile(const GlobalOptions& options, const std::optional<IniFile>& config,
                        const ProviderDeps& deps) {
  Profile profile;
  profile.name = profile_name(options);
  const IniSection* section = profile_section(options, config, profile.name);
  profile.source = section != nullptr ? config->path : std::string("the command line");

  // The provider first: which keys are valid depends on it.
  const auto flag_provider = options.key_flags.find("provider");
  const std::string provider = flag_provider != options.key_flags.end() ? flag_provider->second
                               : section != nullptr && section->values.count("provider") != 0
                                   ? section->values.at("provider")
                                   : std::string();
  const auto tables = tables_for(key_catalog(), provider);
  profile.values = merged_values(options, section, tables);

  const auto where = [&](std::string_view key) {
    if (options.key_flags.count(key) != 0) return std::string("command line");
    if (section != nullptr && section->values.count(key) != 0) {
      return fmt::format("config {} line {}", printable(config->path), section->lines.at(std::string(key)));
    }
    if (section != nullptr) return fmt::format("config {} profile '{}'", printable(config->path), profile.name);
    return std::string("command line");
  };
  const auto config_error = [&](const Error& e, std::string_view key) {
    return Error(ErrorKind::usage, fmt::format("{}: {}", where(key), e.what()), e.advice());
  };

  const ProviderInfo* info = find_provider(provider);
  if (info == nullptr) {
    try {
      make_provider(ProviderSettings(profile.values));  // throws "unknown provider" or "required"
    } catch (const Error& e) {
      throw config_error(e, "provider");
    }
  }
  // Every key known to the tables, and of the type its table says (the provider's keys are
  // checked by ProviderSettings when the provider is made, below).
  for (const auto& [key, value] : profile.values) {
    if (key == "provider") continue;
    const KeySpec* spec = find_key(tables, key);
    if (spec == nullptr) {
      throw Error(ErrorKind::usage, fmt::format("{}: key '{}': unknown key for provider '{}'{}", where(key),
                                                printable(key), provider, unknown_key_hint(key_catalog(), provider, key)));
    }
    if (spec->owner == KeyOwner::provider) continue;
    try {
      check_key_value(*spec, value);
    } catch (const KeyError& e) {
      throw config_error(e, e.key());
    }
  }

  check_helper_entries(profile.values, where);
  EngineSettings& e = profile.engine;
  e = engine_settings(profile.values);
  // Settings that cannot work: a stale window no longer than the buffer means the token is never
  // STALE (EXPIRED comes first), so every refresh blocks a caller.
  const Duration window = e.stale_window ? *e.stale_window : e.max_stale_window;
  if (window <= e.expiry_buffer) {
    profile.warnings.push_back(fmt::format(
        "keys '{}' ({}) and 'expiry_buffer' ({}): a stale window no longer than the buffer means the token "
        "never goes stale: it is never refreshed in the background, and each refresh makes a caller wait",
        e.stale_window ? "stale_window" : "max_stale_window", format_duration(window), format_duration(e.expiry_buffer)));
  }

  // The provider checks its own keys (required ones, combinations) without any I/O; a KeyError
  // says which key to point at.
  profile.cache_key =
      cache_key(profile.name, cache_identity(provider, info->keys, profile.values, info->environment, *options.world));
  try {
    ProviderDeps with_deadline = deps;
    with_deadline.refresh_timeout = e.refresh_timeout;  // named in timeout messages
    with_deadline.cache_key = profile.cache_key;        // a login's keyring item is this entry's
    if (with_deadline.world == nullptr) with_deadline.world = options.world;
    profile.provider = make_provider(ProviderSettings(profile.values), with_deadline);
  } catch (const KeyError& err) {
    throw config_error(err, err.key());
  } catch (const Error& err) {
    throw config_error(err, "provider");
  }
  return profile;
}

// The variables the profile reads a secret from: those its keys name (each key the tables mark
// secret_variable: client_secret_env, id_token_env), the default client_secret_env's included
// whatever the profile sets.
std::vector<std::string> secret_variables(const Profile& profile) {
  std::vector<std::string> names = {"TOK_CLIENT_SECRET"};
  const auto provider = profile.values.find("provider");
  for (const auto& table : tables_for(key_catalog(), provider == profile.values.end() ? "" : provider->second)) {
    for (const KeySpec& k : table.keys) {
      if (!k.secret_variable) continue;
      const auto it = profile.values.find(k.name);
      const std::string name = it != profile.values.end() ? it->second : std::string(k.default_value);
      if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

}  // namespace tok

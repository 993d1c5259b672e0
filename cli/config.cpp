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

#include "cli/helper_url.hpp"
#include "core/cache_key.hpp"
#include "core/descriptors.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "providers/command.hpp"
#include "providers/http.hpp"
#include "providers/provider.hpp"

namespace tok {

namespace {

constexpr std::string_view kEngineKeys[] = {"expiry_buffer", "max_stale_window", "stale_window",  "retry_backoff",
                                            "async_refresh", "refresh_timeout",  "failure_cache", "refresh_jitter"};
// A config file is a few profiles; anything this large is a mistake (--config /dev/zero).
constexpr long kMaxConfigBytes = 1 << 20;

// Read by every provider (docs/keys.md): the lifetime of an answer that carries none.
constexpr std::string_view kCommonProviderKeys[] = {"default_lifetime"};
// Read by the integrations (docs/integrations.md), valid on a profile of any provider.
constexpr std::string_view kIntegrationKeys[] = {"git_hosts", "git_username", "docker_registries", "docker_username",
                                                 "host",      "resource",     "gcp_service_account"};

// Keys of which a profile sets one: a flag for one of them replaces the others that came from the
// file (docs/keys.md: `--issuer` over a file's token_url), so a one-off run never fights the file.
const std::vector<std::vector<std::string_view>> kExclusiveKeys = {
    {"token_url", "issuer"},
    {"client_secret_env", "client_secret_file", "private_key_file"},
    {"resource", "scope"},
    {"client_id", "object_id", "msi_res_id"},
};
// With auth_method from a flag, the other method's keys from the file go too.
const std::vector<std::string_view> kSecretKeys = {"client_secret_env", "client_secret_file"};
const std::vector<std::string_view> kKeyPairKeys = {"private_key_file", "key_id", "signing_alg"};

constexpr std::string_view kProfileNameRule = "a profile name is letters, digits, '.', '_', '@' and '-'";

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::filesystem::path home_dir() {
  const std::string home = env_or_empty("HOME");
  return home.empty() ? std::filesystem::path("/") : std::filesystem::path(home);
}

bool parse_bool(std::string_view v, bool& out) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return out = true, true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return out = false, true;
  return false;
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

std::vector<std::string_view> engine_keys() {
  std::vector<std::string_view> keys(std::begin(kEngineKeys), std::end(kEngineKeys));
  keys.insert(keys.end(), std::begin(kCommonProviderKeys), std::end(kCommonProviderKeys));
  return keys;
}

std::vector<std::string_view> integration_keys() { return {std::begin(kIntegrationKeys), std::end(kIntegrationKeys)}; }

bool is_profile_key(std::string_view key) {
  const auto in = [&](const auto& list) { return std::find(std::begin(list), std::end(list), key) != std::end(list); };
  if (key == "provider" || in(kEngineKeys) || in(kCommonProviderKeys) || in(kIntegrationKeys)) return true;
  return std::any_of(providers().begin(), providers().end(), [&](const ProviderInfo& p) { return in(p.keys); });
}

const std::vector<std::string>& all_profile_keys() {
  static const std::vector<std::string> keys = [] {
    std::set<std::string> all = {"provider"};
    for (auto k : kEngineKeys) all.emplace(k);
    for (auto k : kCommonProviderKeys) all.emplace(k);
    for (auto k : kIntegrationKeys) all.emplace(k);
    for (const auto& p : providers()) {
      for (auto k : p.keys) all.emplace(k);
    }
    return std::vector<std::string>(all.begin(), all.end());
  }();
  return keys;
}

std::string profile_name(const GlobalOptions& options) {
  if (!options.profile.empty()) return options.profile;
  if (auto env = env_or_empty("TOK_PROFILE"); !env.empty()) return env;
  return "default";
}

std::filesystem::path config_path(const GlobalOptions& options) {
  if (!options.config_path.empty()) return options.config_path;
  if (auto env = env_or_empty("TOK_CONFIG"); !env.empty()) return env;
  if (auto xdg = env_or_empty("XDG_CONFIG_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "tok" / "config";
  return home_dir() / ".config" / "tok" / "config";
}

std::filesystem::path cache_dir(const GlobalOptions& options) {
  if (!options.cache_dir.empty()) return options.cache_dir;
  if (auto env = env_or_empty("TOK_CACHE_DIR"); !env.empty()) return env;
  if (auto xdg = env_or_empty("XDG_CACHE_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "tok";
  return home_dir() / ".cache" / "tok";
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
  if (::fstat(fd, &st) != 0) {
    why = std::strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    why = "it is a directory (name the file inside it)";
  } else if (!S_ISREG(st.st_mode)) {
    why = "it is not a regular file";
  } else if (st.st_size > kMaxConfigBytes) {
    why = fmt::format("it is larger than {} KiB, which no profile list needs", kMaxConfigBytes / 1024);
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
    throw Error(ErrorKind::usage, fmt::format("config {}: refusing it: {}", printable(path.string()), why));
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
  if (auto url = get("token_url"); !url.empty()) {
    facts.endpoint = url;
  } else if (auto issuer = get("issuer"); !issuer.empty()) {
    facts.endpoint = issuer + " (discovery)";
  } else if (auto u = get("url"); !u.empty()) {
    facts.endpoint = u;
  } else if (facts.provider == "metadata") {
    facts.endpoint = get("flavor").empty() ? std::string() : get("flavor") + " default";
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
  facts.client = first_of({"client_id", "object_id", "msi_res_id", "account"});
  facts.scopes = first_of({"scopes", "scope", "resource", "audience"});
  return facts;
}

Profile resolve_profile(const GlobalOptions& options) { return resolve_profile(options, load_config(options)); }

Profile resolve_profile(const GlobalOptions& options, const std::optional<IniFile>& config,
                        const ProviderDeps& deps) {
  Profile profile;
  profile.name = profile_name(options);
  if (!valid_profile_name(profile.name)) {
    const bool from_env = options.profile.empty();
    throw Error(ErrorKind::usage,
                fmt::format("{} '{}' is not a profile name", from_env ? "$TOK_PROFILE" : "-p", printable(profile.name)),
                std::string(kProfileNameRule));
  }
  const IniSection* section = config ? config->find(profile.name) : nullptr;
  const bool ad_hoc = options.key_flags.count("provider") != 0;
  if (section == nullptr && !ad_hoc) {
    if (!config) {
      throw Error(ErrorKind::usage,
                  fmt::format("no config file at {} and no --provider given", printable(config_path(options).string())),
                  "create the file with a [" + profile.name + "] profile, or pass --provider and its keys as flags");
    }
    // A near miss either way: `-p wrok` for [work], or a [defualt] section for the default profile.
    std::vector<std::string> names;
    for (const auto& s : config->sections) names.push_back(printable(s.name));
    const auto near = did_you_mean(profile.name, names);
    std::string advice = "'tok profiles' lists the profiles";
    if (near && options.profile.empty() && std::getenv("TOK_PROFILE") == nullptr) {
      advice = fmt::format("rename the section [{}] to [{}], or choose it with -p {}", *near, profile.name, *near);
    }
    throw Error(ErrorKind::usage,
                fmt::format("config {}: no profile '{}'{}", printable(config->path), printable(profile.name),
                            near ? fmt::format(" (did you mean '{}'?)", *near) : std::string()),
                advice);
  }
  profile.source = section != nullptr ? config->path : std::string("the command line");
  if (section != nullptr) profile.values = section->values;
  const auto from_flag = [&](std::string_view key) { return options.key_flags.count(key) != 0; };
  for (const auto& group : kExclusiveKeys) {
    if (std::none_of(group.begin(), group.end(), from_flag)) continue;
    for (auto key : group) {
      if (!from_flag(key)) profile.values.erase(std::string(key));
    }
  }
  if (const auto method = options.key_flags.find("auth_method"); method != options.key_flags.end()) {
    for (auto key : method->second == "private_key_jwt" ? kSecretKeys : kKeyPairKeys) {
      if (!from_flag(key)) profile.values.erase(std::string(key));
    }
  }
  for (const auto& [k, v] : options.key_flags) profile.values[k] = v;

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

  // The provider first: which keys are valid depends on it.
  const std::string provider = profile.values.count("provider") ? profile.values.at("provider") : "";
  const ProviderInfo* info = find_provider(provider);
  if (info == nullptr) {
    try {
      make_provider(ProviderSettings(profile.values));  // throws "unknown provider" or "required"
    } catch (const Error& e) {
      throw config_error(e, "provider");
    }
  }
  const auto valid_here = [&](std::string_view key) {
    const auto in = [&](const auto& list) { return std::find(std::begin(list), std::end(list), key) != std::end(list); };
    return key == "provider" || in(kEngineKeys) || in(kCommonProviderKeys) || in(kIntegrationKeys) || in(info->keys);
  };
  for (const auto& [key, value] : profile.values) {
    if (valid_here(key)) continue;
    // Say what was probably meant: a key of this provider a typo away, or another provider's.
    std::vector<std::string> candidates;
    for (const auto& k : all_profile_keys()) {
      if (valid_here(k)) candidates.push_back(k);
    }
    std::string hint;
    if (auto near = did_you_mean(key, candidates)) {
      hint = fmt::format(" (did you mean '{}'?)", *near);
    } else if (std::find(all_profile_keys().begin(), all_profile_keys().end(), key) != all_profile_keys().end()) {
      std::vector<std::string_view> owners;
      for (const auto& p : providers()) {
        if (std::find(p.keys.begin(), p.keys.end(), key) != p.keys.end()) owners.push_back(p.name);
      }
      hint = fmt::format(" (a key of provider {})", fmt::join(owners, ", "));
    }
    throw Error(ErrorKind::usage,
                fmt::format("{}: key '{}': unknown key for provider '{}'{}", where(key), printable(key), provider, hint));
  }

  // The helpers' entries: one that is not a host is this profile's error (the helpers skip it
  // while they look for the profile of a host, so it stops no other profile).
  for (const std::string_view key : {std::string_view("git_hosts"), std::string_view("docker_registries")}) {
    const auto it = profile.values.find(key);
    if (it == profile.values.end()) continue;
    for (const std::string& entry : split_list(it->second)) {
      try {
        (void)read_helper_entry(entry);
      } catch (const Error& err) {
        throw Error(ErrorKind::usage, fmt::format("{}: key '{}': '{}': {}", where(key), key, printable(entry), err.what()));
      }
    }
  }

  EngineSettings& e = profile.engine;
  const auto duration = [&](std::string_view key, Duration& out, ZeroIs zero) {
    if (auto it = profile.values.find(key); it != profile.values.end()) {
      try {
        out = parse_duration_or_throw(it->second, fmt::format("key '{}'", key), zero);
      } catch (const Error& err) {
        throw config_error(err, key);
      }
    }
  };
  duration("expiry_buffer", e.expiry_buffer, ZeroIs::none);
  duration("max_stale_window", e.max_stale_window, ZeroIs::none);
  duration("retry_backoff", e.retry_backoff, ZeroIs::none);
  duration("refresh_timeout", e.refresh_timeout, ZeroIs::an_error);
  duration("failure_cache", e.failure_cache, ZeroIs::none);
  if (auto it = profile.values.find("refresh_jitter"); it != profile.values.end()) {
    // A plain decimal fraction: 0, 0.1, 1 (strtod would also take "nan", "inf" and hex floats).
    const std::string& text = it->second;
    const bool decimal = !text.empty() && text.size() <= 16 &&
                         text.find_first_not_of("0123456789.") == std::string::npos &&
                         std::count(text.begin(), text.end(), '.') <= 1 && text.front() != '.' && text.back() != '.';
    const double value = decimal ? std::strtod(text.c_str(), nullptr) : -1.0;
    if (!(value >= 0.0 && value <= 1.0)) {
      throw Error(ErrorKind::usage, fmt::format("{}: key 'refresh_jitter': '{}' is not a fraction from 0 to 1",
                                                where("refresh_jitter"), printable(text)));
    }
    e.refresh_jitter = value;
  }
  if (profile.values.count("stale_window") != 0) {
    Duration w{};
    duration("stale_window", w, ZeroIs::none);
    e.stale_window = w;
  }
  if (auto it = profile.values.find("async_refresh"); it != profile.values.end() && !parse_bool(it->second, e.async_refresh)) {
    throw Error(ErrorKind::usage,
                fmt::format("{}: key 'async_refresh': '{}' is not true or false", where("async_refresh"), it->second));
  }
  // Settings that cannot work: a stale window no longer than the buffer means the token is never
  // STALE (EXPIRED comes first), so every refresh blocks a caller.
  const Duration window = e.stale_window ? *e.stale_window : e.max_stale_window;
  if (window <= e.expiry_buffer) {
    profile.warnings.push_back(fmt::format(
        "keys '{}' ({}) and 'expiry_buffer' ({}): a stale window no longer than the buffer means the token "
        "never goes stale: it is never refreshed in the background, and each refresh makes a caller wait",
        e.stale_window ? "stale_window" : "max_stale_window", format_duration(window), format_duration(e.expiry_buffer)));
  }

  // The provider checks its own keys (required ones, URLs) without any I/O; its errors start with
  // "key 'NAME'", which tells where to point.
  try {
    ProviderDeps with_deadline = deps;
    with_deadline.refresh_timeout = e.refresh_timeout;  // named in timeout messages
    profile.provider = make_provider(ProviderSettings(profile.values), with_deadline);
  } catch (const Error& e) {
    const std::string_view message = e.what();
    std::string key = "provider";
    if (message.rfind("key '", 0) == 0) key = std::string(message.substr(5, message.find('\'', 5) - 5));
    throw config_error(e, key);
  }

  std::vector<std::pair<std::string, std::string>> identity = {{"provider", provider}};
  for (auto key : info->keys) {
    if (auto it = profile.values.find(key); it != profile.values.end()) identity.emplace_back(key, it->second);
  }
  // Environment variables that decide the token (DATABRICKS_HOST, AZURE_CONFIG_DIR) count too.
  for (auto variable : info->environment) {
    if (const char* v = std::getenv(std::string(variable).c_str()); v != nullptr && *v != '\0') {
      identity.emplace_back("$" + std::string(variable), v);
    }
  }
  profile.cache_key = cache_key(profile.name, identity);
  return profile;
}

}  // namespace tok

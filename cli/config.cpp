#include "cli/config.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/cache_key.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "providers/provider.hpp"

namespace tok {

namespace {

constexpr std::string_view kEngineKeys[] = {"expiry_buffer", "max_stale_window", "stale_window",
                                            "retry_backoff", "async_refresh",    "refresh_timeout"};
// Read by the integrations (integrations.md), valid on a profile of any provider.
constexpr std::string_view kIntegrationKeys[] = {"git_hosts", "git_username", "docker_registries", "docker_username",
                                                 "host",      "resource",     "gcp_service_account"};

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

}  // namespace

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
      throw Error(ErrorKind::usage, fmt::format("config {} line {}: {}", path, line_no, why));
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

const std::vector<std::string>& all_profile_keys() {
  static const std::vector<std::string> keys = [] {
    std::set<std::string> all = {"provider"};
    for (auto k : kEngineKeys) all.emplace(k);
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
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // A missing file is not an error by itself: flags-only runs need none. Resolving a profile
    // without --provider then says which file it looked for.
    if (errno != ENOENT) {
      throw Error(ErrorKind::usage, fmt::format("config {}: cannot read it: {}", path.string(), std::strerror(errno)));
    }
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_ini(text.str(), path.string());
}

Profile resolve_profile(const GlobalOptions& options) { return resolve_profile(options, load_config(options)); }

Profile resolve_profile(const GlobalOptions& options, const std::optional<IniFile>& config) {
  Profile profile;
  profile.name = profile_name(options);
  const IniSection* section = config ? config->find(profile.name) : nullptr;
  const bool ad_hoc = options.key_flags.count("provider") != 0;
  if (section == nullptr && !ad_hoc) {
    if (!config) {
      throw Error(ErrorKind::usage,
                  fmt::format("no config file at {} and no --provider given", config_path(options).string()),
                  "create the file with a [" + profile.name + "] profile, or pass --provider and its keys as flags");
    }
    throw Error(ErrorKind::usage, fmt::format("config {}: no profile '{}'", config->path, profile.name),
                "'tok profiles' lists the profiles");
  }
  profile.source = section != nullptr ? config->path : std::string("the command line");
  if (section != nullptr) profile.values = section->values;
  for (const auto& [k, v] : options.key_flags) profile.values[k] = v;

  const auto where = [&](std::string_view key) {
    if (options.key_flags.count(key) != 0) return std::string("command line");
    if (section != nullptr && section->values.count(key) != 0) {
      return fmt::format("config {} line {}", config->path, section->lines.at(std::string(key)));
    }
    if (section != nullptr) return fmt::format("config {} profile '{}'", config->path, profile.name);
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
  for (const auto& [key, value] : profile.values) {
    const bool known = key == "provider" || std::find(std::begin(kEngineKeys), std::end(kEngineKeys), key) != std::end(kEngineKeys) ||
                       std::find(std::begin(kIntegrationKeys), std::end(kIntegrationKeys), key) != std::end(kIntegrationKeys) ||
                       std::find(info->keys.begin(), info->keys.end(), key) != info->keys.end();
    if (!known) {
      throw Error(ErrorKind::usage, fmt::format("{}: key '{}': unknown key for provider '{}'", where(key), key, provider));
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
  if (profile.values.count("stale_window") != 0) {
    Duration w{};
    duration("stale_window", w, ZeroIs::none);
    e.stale_window = w;
  }
  if (auto it = profile.values.find("async_refresh"); it != profile.values.end() && !parse_bool(it->second, e.async_refresh)) {
    throw Error(ErrorKind::usage,
                fmt::format("{}: key 'async_refresh': '{}' is not true or false", where("async_refresh"), it->second));
  }

  // The provider checks its own keys (required ones, URLs) without any I/O; its errors start with
  // "key 'NAME'", which tells where to point.
  try {
    profile.provider = make_provider(ProviderSettings(profile.values));
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

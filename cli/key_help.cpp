#include "cli/key_help.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "cli/arguments.hpp"
#include "cli/config.hpp"
#include "providers/provider.hpp"

namespace tok {

namespace {

std::string line_of(const KeySpec& k) {
  const std::string fallback = k.default_value.empty() ? std::string() : fmt::format(" ({})", k.default_value);
  return fmt::format("    {:<22} {}{}\n", flag_of(k.name), k.help, fallback);
}

void add_lines(std::string& out, std::span<const KeySpec> keys) {
  for (const KeySpec& k : keys) out += line_of(k);
}

void add_provider_line(std::string& out, const KeyCatalog& catalog) {
  std::vector<std::string_view> names;
  for (const auto& t : catalog) {
    if (!t.provider.empty()) names.push_back(t.provider);
  }
  out += fmt::format("    {:<22} where tokens come from: {}\n", "--provider", fmt::join(names, ", "));
}

// Which keys each command reads, by owner; integration keys say their command (KeySpec::read_by).
// A command not listed reads none.
enum KeyGroup : unsigned { kEngine = 1, kProviders = 2 };
struct CommandKeys {
  std::string_view command;
  unsigned groups;
};
constexpr CommandKeys kCommandKeys[] = {
    {"get", kEngine | kProviders},      {"status", kEngine | kProviders},
    {"refresh", kEngine | kProviders},  {"exec", kEngine | kProviders},
    {"env", kEngine | kProviders},      {"kube-credential", kEngine | kProviders},
    {"clear", kProviders},              {"profiles", kProviders},
    {"init", kProviders},               {"git-credential", kEngine | kProviders},
    {"docker-credential", kEngine | kProviders},
    {"serve", kEngine | kProviders},
};
// The global flags as the footer lists them, from kGlobalFlags (a flag added there is listed
// here), wrapped at 100 columns like the rest of the footer.
std::string global_flags_text() {
  std::vector<std::string> words = {"Global", "flags,", "before", "or", "after", "the", "command:"};
  for (const GlobalFlag& flag : kGlobalFlags) {
    std::string name = flag.short_name.empty() ? std::string(flag.long_name)
                                               : fmt::format("{}/{}", flag.short_name, flag.long_name);
    if (flag.value == nullptr) {
      words.push_back(name + ",");
      continue;
    }
    words.push_back(std::move(name));
    switch (flag.completes) {
      case GlobalFlagValue::profile: words.emplace_back("NAME,"); break;
      case GlobalFlagValue::file: words.emplace_back("PATH,"); break;
      case GlobalFlagValue::directory: words.emplace_back("DIR,"); break;
      default: words.emplace_back("VALUE,"); break;
    }
  }
  words.back().back() = '.';
  for (const char* w : {"The", "profile", "is", "-p,", "else", "$TOK_PROFILE,", "else", "'default'."}) words.emplace_back(w);
  std::string out, line;
  for (const std::string& w : words) {
    if (!line.empty() && line.size() + 1 + w.size() > 100) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + w;
  }
  return out + line + "\n";
}
constexpr std::string_view kFilesAndExits =
    "Files: the config is --config, else $TOK_CONFIG, else $XDG_CONFIG_HOME/tok/config, else\n"
    "~/.config/tok/config; the cache is --cache-dir, else $TOK_CACHE_DIR, else $XDG_CACHE_HOME/tok,\n"
    "else ~/.cache/tok.\n"
    "Exit codes: 0 ok; 1 internal error (a bug); 2 usage or configuration (also: standard output cannot\n"
    "be written); 3 the provider refused; 4 the provider is unavailable (also: a tok module is missing);\n"
    "5 unsafe cache storage refused; 6 'tok status --check': no usable token cached. 'man tok' says more.";

}  // namespace

std::string command_help_footer(std::string_view command) { return command_help_footer(key_catalog(), command); }

std::string command_help_footer(const KeyCatalog& catalog, std::string_view command) {
  unsigned groups = 0;
  for (const auto& c : kCommandKeys) {
    if (c.command == command) groups = c.groups;
  }
  std::string out;
  if (groups != 0) {
    out += "Profile keys it reads, each also a flag over the config file (a run with --provider needs none):\n";
    add_provider_line(out, catalog);
    std::string engine;
    std::string integrations;
    for (const auto& t : catalog) {
      if (!t.provider.empty()) continue;
      for (const KeySpec& k : t.keys) {
        if (k.owner == KeyOwner::integration && k.read_by == command) integrations += line_of(k);
        // The engine's, and default_lifetime (every provider's).
        if (k.owner != KeyOwner::integration && (groups & kEngine) != 0) engine += line_of(k);
      }
    }
    if (!engine.empty()) out += "  The refresh engine:\n" + engine;
    if (!integrations.empty()) out += fmt::format("  {}:\n{}", command, integrations);
    out += "    and the provider's own keys: 'tok help keys PROVIDER'\n";
  }
  return out + global_flags_text() + std::string(kFilesAndExits);
}

std::string main_help_footer() {
  return "'tok COMMAND --help' shows a command's flags and the profile keys it reads; 'tok help keys\n"
         "[PROVIDER]' every profile key; 'tok init' writes a first profile.\n" +
         global_flags_text() + std::string(kFilesAndExits);
}

std::optional<std::string> profile_keys_help(std::string_view provider) {
  return profile_keys_help(key_catalog(), provider);
}

std::optional<std::string> profile_keys_help(const KeyCatalog& catalog, std::string_view provider) {
  if (!provider.empty() && std::none_of(catalog.begin(), catalog.end(),
                                        [&](const KeyTable& t) { return t.provider == provider; })) {
    return std::nullopt;
  }
  std::string out =
      "Profile keys: each is also a flag (--token-url URL), which overrides the config file; a run with\n"
      "--provider needs no file. A flag for one of two exclusive keys (--issuer, --token-url) replaces the\n"
      "other from the file.\n";
  add_provider_line(out, catalog);
  const auto common = [&](KeyOwner owner) {
    std::string lines;
    for (const auto& t : catalog) {
      if (!t.provider.empty()) continue;
      for (const KeySpec& k : t.keys) {
        if (k.owner == owner) lines += line_of(k);
      }
    }
    return lines;
  };
  out += "  Any profile (the refresh engine):\n";
  out += common(KeyOwner::engine) + common(KeyOwner::provider);
  for (const auto& t : catalog) {
    if (t.provider.empty() || (!provider.empty() && t.provider != provider)) continue;
    out += fmt::format("  provider = {}:\n", t.provider);
    add_lines(out, t.keys);
  }
  out += "  Integrations (any profile: git-credential, docker-credential, serve):\n";
  out += common(KeyOwner::integration);
  return out;
}

std::vector<std::string> key_flags_missing_from_completion(const KeyCatalog& catalog, std::string_view script,
                                                           std::string_view shell) {
  const auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; };
  const auto has_word = [&](std::string_view word) {
    for (auto at = script.find(word); at != std::string_view::npos; at = script.find(word, at + 1)) {
      const auto end = at + word.size();
      if ((at == 0 || !word_char(script[at - 1])) && (end == script.size() || !word_char(script[end]))) return true;
    }
    return false;
  };
  std::vector<std::string> missing;
  for (const auto& key : profile_keys(catalog)) {
    const std::string flag = flag_of(key);
    if (!has_word(shell == "fish" ? "-l " + flag.substr(2) : flag)) missing.push_back(flag);
  }
  return missing;
}

}  // namespace tok

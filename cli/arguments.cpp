#include "cli/arguments.hpp"

#include <iterator>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>

namespace tok {

std::string GlobalFlag::names() const {
  return short_name.empty() ? std::string(long_name) : std::string(short_name) + "," + std::string(long_name);
}

const GlobalFlag* find_global_flag(std::string_view name) {
  for (const GlobalFlag& flag : kGlobalFlags) {
    if (name == flag.long_name || (!flag.short_name.empty() && name == flag.short_name)) return &flag;
  }
  return nullptr;
}

void add_global_options(CLI::App& app, GlobalOptions& o) {
  for (const GlobalFlag& flag : kGlobalFlags) {
    if (flag.set != nullptr) {
      app.add_flag(flag.names(), o.*flag.set, flag.help);
      continue;
    }
    CLI::Option* option = app.add_option(flag.names(), o.*flag.value, flag.help);
    // An empty name is a mistake (an unset variable in `-p "$NAME"`), not a way to say 'default'.
    // The fast paths below leave an empty value to CLI11, which refuses it here.
    if (flag.value == &GlobalOptions::profile) {
      option->check(CLI::Validator(
          [](std::string& name) {
            return name.empty() ? std::string("an empty profile name (leave -p out for the default profile)")
                                : std::string();
          },
          "", "profile name"));
    }
  }
}

CommandWord command_word(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help" || arg == "--") break;
    if (const GlobalFlag* flag = find_global_flag(arg)) {
      if (flag->value != nullptr) ++i;  // its value
    } else if (arg.empty() || arg[0] != '-') {
      const std::string& before = i > 0 ? args[i - 1] : std::string();
      const bool flag_without_value = before.size() > 1 && before[0] == '-' && before.find('=') == std::string::npos &&
                                      find_global_flag(before) == nullptr;
      return {arg, flag_without_value};
    }
  }
  return {};
}

CLI::App* add_get_subcommand(CLI::App& app, GetFlags& flags) {
  CLI::App* cmd = app.add_subcommand("get", "Print a token (from the cache while it is fresh)");
  cmd->add_option("--format", flags.format, "token (default), json, header, or credential-process (AWS)")
      ->check(CLI::IsMember({"token", "json", "header", "credential-process"}));
  cmd->add_flag("--force-refresh", flags.force_refresh, "Fetch a new token now, whatever the cache holds");
  cmd->add_option("--min-valid", flags.min_valid, "Refresh first unless the token stays valid this long (e.g. 10m)");
  cmd->add_flag("--no-async", flags.no_async, "Never start a background refresh for this call");
  cmd->add_flag("--id-token", flags.id_token,
                "Print the login's OpenID Connect ID token instead (refreshed by its own expiry)");
  return cmd;
}

namespace {

// A flag's value: `--name=value` or the next argument; neither empty nor starting with '-'.
struct FlagValue {
  const std::vector<std::string>& args;
  std::size_t& i;
  std::optional<std::string_view> inline_value;

  bool operator()(std::string& out) const {
    std::string_view v;
    if (inline_value) {
      v = *inline_value;
    } else if (i + 1 < args.size()) {
      v = args[++i];
    } else {
      return false;
    }
    if (v.empty() || v[0] == '-') return false;
    out = std::string(v);
    return true;
  }
  // A flag without a value (--name=x is CLI11's to judge).
  bool set(bool& out) const {
    if (inline_value) return false;
    out = true;
    return true;
  }
};

// The plain forms' one grammar: the global flags, each at most once, before or after the command
// word; the command word once; after it, whatever `own(name, flag, positional)` takes: a flag of
// the command (`flag` reads its value) or a positional (`flag` is null).
template <class Own>
bool parse_plain(const std::vector<std::string>& args, GlobalOptions& options, std::string_view word, Own own) {
  GlobalOptions o = options;
  bool command = false;
  bool seen[std::size(kGlobalFlags)] = {};  // each at most once (CLI11 has its own rules for repeats)
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg.empty()) return false;
    if (arg[0] != '-') {
      if (!command) {
        if (arg != word) return false;
        command = true;
      } else if (!own(arg, nullptr, true)) {
        return false;
      }
      continue;
    }
    // --name=value or --name value; short flags only alone (-p NAME, -v, -q).
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (arg.size() > 2 && arg[1] == '-') {
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    } else if (arg.size() != 2) {
      return false;  // -pNAME, -vq, -: CLI11's
    }
    const FlagValue value{args, i, inline_value};
    bool ok = false;
    if (const GlobalFlag* flag = find_global_flag(name)) {
      ok = !std::exchange(seen[flag - kGlobalFlags], true) &&
           (flag->value != nullptr ? value(o.*flag->value) : value.set(o.*flag->set));
    } else if (command) {
      ok = own(name, &value, false);  // a command's flags come after it
    }
    if (!ok) return false;
  }
  if (!command) return false;
  options = std::move(o);
  return true;
}

}  // namespace

std::optional<GetFlags> parse_plain_get(const std::vector<std::string>& args, GlobalOptions& options) {
  GetFlags flags;
  bool seen[4] = {};
  const auto once = [&](int slot) { return !std::exchange(seen[slot], true); };
  const auto own = [&](std::string_view name, const FlagValue* value, bool positional) {
    if (positional) return false;  // get takes none
    if (name == "--format") {
      return once(0) && (*value)(flags.format) &&
             (flags.format == "token" || flags.format == "json" || flags.format == "header" ||
              flags.format == "credential-process");
    }
    if (name == "--min-valid") {
      std::string v;
      if (!once(1) || !(*value)(v)) return false;
      flags.min_valid = v;
      return true;
    }
    if (name == "--force-refresh") return once(2) && value->set(flags.force_refresh);
    if (name == "--no-async") return once(3) && value->set(flags.no_async);
    return false;
  };
  if (!parse_plain(args, options, "get", own)) return std::nullopt;
  return flags;
}

std::optional<std::string> parse_plain_git_credential(const std::vector<std::string>& args, GlobalOptions& options) {
  std::optional<std::string> operation;
  const auto own = [&](std::string_view arg, const FlagValue*, bool positional) {
    // One operation, and only those git sends: any other word might be something CLI11 reads
    // otherwise, so it is left to CLI11. No flags of its own.
    if (!positional || operation || (arg != "get" && arg != "store" && arg != "erase")) return false;
    operation = std::string(arg);
    return true;
  };
  if (!parse_plain(args, options, "git-credential", own) || !operation) return std::nullopt;
  return operation;
}

CLI::App* add_git_credential_subcommand(CLI::App& app, std::string& operation) {
  CLI::App* cmd =
      app.add_subcommand("git-credential", "git credential helper: get, store or erase (git's request on stdin)");
  cmd->add_option("operation", operation, "get, store or erase (git appends it)")->required();
  return cmd;
}

}  // namespace tok

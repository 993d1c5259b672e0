#include "cli/arguments.hpp"

#include <string_view>

#include <CLI/CLI.hpp>

namespace tok {

void add_global_options(CLI::App& app, GlobalOptions& o) {
  app.add_option("-p,--profile", o.profile, "Profile to use (default: $TOK_PROFILE, else 'default')");
  app.add_option("--config", o.config_path, "Config file (default: $TOK_CONFIG, else ~/.config/tok/config)");
  app.add_option("--cache-dir", o.cache_dir, "Cache directory (default: $TOK_CACHE_DIR, else ~/.cache/tok)");
  app.add_flag("-v,--verbose", o.verbose, "Diagnostics on stderr (never tokens or secrets)");
  app.add_flag("-q,--quiet", o.quiet, "No warnings or chatter on stderr; errors still print");
}

CLI::App* add_get_subcommand(CLI::App& app, GetFlags& flags) {
  CLI::App* cmd = app.add_subcommand("get", "Print a token (from the cache while it is fresh)");
  cmd->add_option("--format", flags.format, "token (default), json, header, or credential-process (AWS)")
      ->check(CLI::IsMember({"token", "json", "header", "credential-process"}));
  cmd->add_flag("--force-refresh", flags.force_refresh, "Fetch a new token now, whatever the cache holds");
  cmd->add_option("--min-valid", flags.min_valid, "Refresh first unless the token stays valid this long (e.g. 10m)");
  cmd->add_flag("--no-async", flags.no_async, "Never start a background refresh for this call");
  return cmd;
}

std::optional<GetFlags> parse_plain_get(const std::vector<std::string>& args, GlobalOptions& options) {
  GlobalOptions o = options;
  GetFlags flags;
  bool command = false;
  bool seen[11] = {};  // each flag at most once (CLI11 has its own rules for repeats)
  const auto once = [&](int slot) { return !std::exchange(seen[slot], true); };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg.empty()) return std::nullopt;
    if (arg[0] != '-') {
      if (command || arg != "get") return std::nullopt;
      command = true;
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
      return std::nullopt;  // -pNAME, -vq, -: CLI11's
    }
    const auto value = [&](std::string& out) {
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
    };
    const auto flag = [&](bool& out) {
      if (inline_value) return false;
      out = true;
      return true;
    };
    bool ok = false;
    if (name == "-p" || name == "--profile") {
      ok = once(0) && value(o.profile);
    } else if (name == "--config") {
      ok = once(1) && value(o.config_path);
    } else if (name == "--cache-dir") {
      ok = once(2) && value(o.cache_dir);
    } else if (name == "-v" || name == "--verbose") {
      ok = once(3) && flag(o.verbose);
    } else if (name == "-q" || name == "--quiet") {
      ok = once(4) && flag(o.quiet);
    } else if (!command) {
      return std::nullopt;  // get's own flags come after the command
    } else if (name == "--format") {
      ok = once(5) && value(flags.format) &&
           (flags.format == "token" || flags.format == "json" || flags.format == "header" ||
            flags.format == "credential-process");
    } else if (name == "--min-valid") {
      std::string v;
      ok = once(6) && value(v);
      flags.min_valid = v;
    } else if (name == "--force-refresh") {
      ok = once(7) && flag(flags.force_refresh);
    } else if (name == "--no-async") {
      ok = once(8) && flag(flags.no_async);
    }
    if (!ok) return std::nullopt;
  }
  if (!command) return std::nullopt;
  options = std::move(o);
  return flags;
}

}  // namespace tok

#pragma once
// The command line's shape: the global flags and `tok get`'s flags, declared to CLI11 in one place
// (main and the unit tests use the same declarations), and the fast path a cache hit takes.
#include <optional>
#include <string>
#include <vector>

#include "cli/config.hpp"

namespace CLI {
class App;
}

namespace tok {

// tok get's own flags.
struct GetFlags {
  std::string format = "token";
  bool force_refresh = false;
  std::optional<std::string> min_valid;
  bool no_async = false;
};

// -p/--profile, --config, --cache-dir, -v/--verbose, -q/--quiet on the app (they fall through to
// every command, so they go before or after it).
void add_global_options(CLI::App& app, GlobalOptions& options);
// The `get` subcommand with its flags.
CLI::App* add_get_subcommand(CLI::App& app, GetFlags& flags);

// A cache hit pays for every instruction before it, and declaring the command tree to CLI11 costs
// about a quarter of a hit (callgrind). The plain forms of `tok get` (the command once; the global
// and get flags each at most once, as `--flag VALUE` or `--flag=VALUE`, values non-empty and not
// starting with '-') are parsed here; anything else (help, --version, unknown, repeated or bundled
// flags, `--`) returns nullopt and goes to CLI11, which then parses it and says what is wrong. For
// every form it accepts, the result is what CLI11 makes of it (a unit test compares the two).
// `args` are the arguments after the program name with the profile-key flags already taken out.
std::optional<GetFlags> parse_plain_get(const std::vector<std::string>& args, GlobalOptions& options);

}  // namespace tok

#pragma once
// The command line's shape: the global flags, `tok get`'s flags and `tok git-credential`'s
// operation, declared to CLI11 in one place (main and the unit tests use the same declarations),
// and the fast paths a cache hit takes.
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
  bool id_token = false;  // print the login's ID token (never on the fast path: CLI11 reads it)
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

// The same for the credential helper git runs at every fetch and push: `git-credential OP` with
// the global flags, OP one of get, store or erase (what git appends). Returns OP; anything else
// (no OP, two, another word, a flag of its own) returns nullopt and goes to CLI11.
std::optional<std::string> parse_plain_git_credential(const std::vector<std::string>& args, GlobalOptions& options);
// The `git-credential` subcommand with its one positional, as main and the unit tests declare it.
CLI::App* add_git_credential_subcommand(CLI::App& app, std::string& operation);

}  // namespace tok

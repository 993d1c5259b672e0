#pragma once
// The command line's shape: the global flags, `tok get`'s flags and `tok git-credential`'s
// operation, declared to CLI11 in one place (main and the unit tests use the same declarations),
// and the fast paths a cache hit takes.
#include <optional>
#include <string>
#include <string_view>
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

// The global flags, once: every parser of the command line iterates this table (CLI11's
// declaration in add_global_options, the fast paths below, main's search for the command word and
// `tok help`'s topic), and the build writes the completion scripts' global flags from it
// (cli/completion_flags.hpp), so a flag added here is known to all of them, and one added anywhere
// else fails a unit test. They fall through to every command, so they go before or after it.
//
// What a flag's value names, for the completion scripts: none for a switch, else text (nothing
// to offer), a profile name, a file or a directory.
enum class GlobalFlagValue { none, text, profile, file, directory };
struct GlobalFlag {
  std::string_view short_name;  // "-p", or empty
  std::string_view long_name;   // "--profile"
  // Exactly one of the two: a flag that takes a value, or a switch.
  std::string GlobalOptions::*value;
  bool GlobalOptions::*set;
  GlobalFlagValue completes;  // none exactly for a switch
  const char* help;
  // CLI11's names: "-p,--profile" or "--config".
  std::string names() const;
};
inline constexpr GlobalFlag kGlobalFlags[] = {
    {"-p", "--profile", &GlobalOptions::profile, nullptr, GlobalFlagValue::profile,
     "Profile to use (default: $TOK_PROFILE, else 'default')"},
    {"", "--config", &GlobalOptions::config_path, nullptr, GlobalFlagValue::file,
     "Config file (default: $TOK_CONFIG, else ~/.config/tok/config)"},
    {"", "--cache-dir", &GlobalOptions::cache_dir, nullptr, GlobalFlagValue::directory,
     "Cache directory (default: $TOK_CACHE_DIR, else ~/.cache/tok)"},
    {"-v", "--verbose", nullptr, &GlobalOptions::verbose, GlobalFlagValue::none,
     "Diagnostics on stderr (never tokens or secrets)"},
    {"-q", "--quiet", nullptr, &GlobalOptions::quiet, GlobalFlagValue::none,
     "No warnings or chatter on stderr; errors still print"},
};
// The global flag named `name` exactly (`-p` or `--profile`, no `=value`); null if none.
const GlobalFlag* find_global_flag(std::string_view name);

// Every global flag of kGlobalFlags on the app.
void add_global_options(CLI::App& app, GlobalOptions& options);

// The command on the line: the first word that is neither a flag nor a global flag's value (an
// operand such as git-credential's `get` comes after it). Empty: none (or -h, --help, `--` came
// first). `maybe_value`: it follows a flag tok does not know, so it may be that flag's value
// (`--client-secret VALUE`).
struct CommandWord {
  std::string word;
  bool maybe_value = false;
};
CommandWord command_word(const std::vector<std::string>& args);
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

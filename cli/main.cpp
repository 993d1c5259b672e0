// tok: access tokens for scripts, credential helpers and CI steps, from a cache kept fresh.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fmt/format.h>

#include "cli/session.hpp"
#include "core/descriptors.hpp"
#include "core/error.hpp"

#ifndef TOK_VERSION
#define TOK_VERSION "0.0.0"
#endif

namespace {

std::string flag_name(const std::string& key) {
  std::string name = "--" + key;
  for (char& c : name) {
    if (c == '_') c = '-';
  }
  return name;
}

// Removes `--key VALUE` and `--key=VALUE` for every profile key from argv (up to a `--`, after
// which everything belongs to the command `tok exec` runs) and returns the rest for CLI11.
std::vector<std::string> take_profile_key_flags(int argc, char** argv, tok::KeyValues& out) {
  std::vector<std::string> rest;
  const auto& keys = tok::all_profile_keys();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      for (; i < argc; ++i) rest.emplace_back(argv[i]);
      break;
    }
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      std::replace(key.begin(), key.end(), '-', '_');
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        if (eq != std::string::npos) {
          out[key] = arg.substr(eq + 1);
        } else if (i + 1 < argc) {
          out[key] = argv[++i];
        } else {
          throw tok::Error(tok::ErrorKind::usage, fmt::format("{} needs a value", arg));
        }
        continue;
      }
    }
    rest.push_back(arg);
  }
  return rest;
}

// The help's footer: every profile key as a flag, and the exit codes. Built only when help is
// printed (building it costs ~20k instructions, 3% of a cache hit).
std::string help_footer() {
  std::string key_help = "Profile keys (each overrides the config file; a run with --provider needs no file):\n ";
  std::size_t width = 1;
  for (const std::string& key : tok::all_profile_keys()) {
    const std::string flag = " " + flag_name(key) + " VALUE";
    if (width + flag.size() > 96) {
      key_help += "\n ";
      width = 1;
    }
    key_help += flag;
    width += flag.size();
  }
  return key_help + "\n\nExit codes: 0 ok, 1 internal error, 2 usage or configuration, 3 provider refused,\n"
                    "4 provider unavailable, 5 unsafe cache storage. See 'tok COMMAND --help'.";
}

void add_version_command(CLI::App& app, tok::Session& session) {
  app.add_subcommand("version", "Print the version")->callback([&session] {
    session.run = [] {
      fmt::print("tok " TOK_VERSION "\n");
      return 0;
    };
  });
}

// Building a command costs CLI11 20k to 55k instructions (callgrind), a whole cache hit ~600k:
// only the command on the line is built, the first word that is neither a flag nor a global
// option's value (an operand such as git-credential's `get` is not a command). Without one, or
// with --help, all are, so help and errors still list every command.
void add_commands(CLI::App& app, tok::Session& session, const std::vector<std::string>& args) {
  using Add = void (*)(CLI::App&, tok::Session&);
  static constexpr std::pair<std::string_view, Add> commands[] = {
      {"get", tok::add_get_command},
      {"status", tok::add_status_command},
      {"refresh", tok::add_refresh_command},
      {"clear", tok::add_clear_command},
      {"profiles", tok::add_profiles_command},
      {"serve", tok::add_serve_command},
      {"exec", tok::add_exec_command},
      {"env", tok::add_env_command},
      {"git-credential", tok::add_git_credential_command},
      {"docker-credential", tok::add_docker_credential_command},
      {"kube-credential", tok::add_kube_credential_command},
      {"completion", tok::add_completion_command},
      {"version", add_version_command},
  };
  std::string_view word;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help" || arg == "--") break;
    if (arg == "-p" || arg == "--profile" || arg == "--config" || arg == "--cache-dir") {
      ++i;  // its value
    } else if (arg.empty() || arg[0] != '-') {
      word = arg;
      break;
    }
  }
  const bool known = std::any_of(std::begin(commands), std::end(commands), [&](const auto& c) { return c.first == word; });
  for (const auto& [name, add] : commands) {
    if (!known || name == word) {
      add(app, session);
      app.get_subcommand(std::string(name))->footer(help_footer);  // subcommands copy no callback
    }
  }
}

void print_error(const tok::Session& session, const std::string& message, const std::string& advice) {
  fmt::print(stderr, "tok: {}: {}\n", session.profile_name(), message);
  if (!advice.empty()) fmt::print(stderr, "tok: hint: {}\n", advice);
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything opens a descriptor: a lock or socket on 0-2 would be clobbered or printed to.
  tok::fill_closed_stdio();
  // Installed as docker-credential-tok (a link to tok), it speaks Docker's helper protocol.
  if (argc > 0) {
    const char* slash = std::strrchr(argv[0], '/');
    if (std::strcmp(slash != nullptr ? slash + 1 : argv[0], "docker-credential-tok") == 0) {
      return tok::docker_credential_main(argc, argv);
    }
  }
  tok::Session session;
  CLI::App app{"tok prints access tokens for scripts, credential helpers and CI, from a cache it keeps fresh.", "tok"};
  // Global flags work before or after the command (`tok -p ci get` == `tok get -p ci`), because
  // helper configurations put them after it.
  app.fallthrough();
  app.footer(help_footer);
  app.set_version_flag("--version", "tok " TOK_VERSION);
  tok::GlobalOptions& o = session.options;
  app.add_option("-p,--profile", o.profile, "Profile to use (default: $TOK_PROFILE, else 'default')");
  app.add_option("--config", o.config_path, "Config file (default: $TOK_CONFIG, else ~/.config/tok/config)");
  app.add_option("--cache-dir", o.cache_dir, "Cache directory (default: $TOK_CACHE_DIR, else ~/.cache/tok)");
  app.add_flag("-v,--verbose", o.verbose, "Diagnostics on stderr (never tokens or secrets)");
  app.add_flag("-q,--quiet", o.quiet, "No warnings or chatter on stderr; errors still print");
  // Every profile key is also a flag, so a run with --provider needs no config file. They are
  // taken out of argv here rather than declared to CLI11: declaring thirty options costs CLI11
  // half the instructions of a whole cache hit (callgrind), and a hit has ~1 ms in all.
  std::vector<std::string> args;
  try {
    args = take_profile_key_flags(argc, argv, o.key_flags);
  } catch (const tok::Error& e) {
    print_error(session, e.what(), e.advice());
    return tok::exit_code(e.kind());
  }
  add_commands(app, session, args);

  try {
    std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "tok: {}\ntok: hint: run 'tok --help'\n", e.what());
    return 2;
  } catch (const tok::Error& e) {
    print_error(session, e.what(), e.advice());
    return tok::exit_code(e.kind());
  }
  if (!session.run) {
    fmt::print(stderr, "{}", app.help());
    return 2;
  }
  try {
    const int code = session.run();
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {  // a closed pipe must not look like success
      print_error(session, fmt::format("cannot write to standard output: {}", std::strerror(errno)), "");
      return 1;
    }
    return code;
  } catch (const tok::Error& e) {
    print_error(session, e.what(), e.advice());
    return tok::exit_code(e.kind());
  } catch (const std::exception& e) {
    print_error(session, fmt::format("internal error: {}", e.what()), "please report this as a bug");
    return 1;
  }
}

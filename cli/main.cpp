// tok: access tokens for scripts, credential helpers and CI steps, from a cache kept fresh.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <fmt/format.h>

#include "cli/session.hpp"
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

void print_error(const tok::Session& session, const std::string& message, const std::string& advice) {
  fmt::print(stderr, "tok: {}: {}\n", session.profile_name(), message);
  if (!advice.empty()) fmt::print(stderr, "tok: hint: {}\n", advice);
}

}  // namespace

int main(int argc, char** argv) {
  tok::Session session;
  CLI::App app{"tok prints access tokens for scripts, credential helpers and CI, from a cache it keeps fresh.", "tok"};
  // Global flags work before or after the command (`tok -p ci get` == `tok get -p ci`), because
  // helper configurations put them after it.
  app.fallthrough();
  app.set_version_flag("--version", "tok " TOK_VERSION);
  app.footer("Exit codes: 0 ok, 1 internal error, 2 usage or configuration, 3 provider refused,\n"
             "4 provider unavailable, 5 unsafe cache storage. See 'tok COMMAND --help'.");
  tok::GlobalOptions& o = session.options;
  app.add_option("-p,--profile", o.profile, "Profile to use (default: $TOK_PROFILE, else 'default')");
  app.add_option("--config", o.config_path, "Config file (default: $TOK_CONFIG, else ~/.config/tok/config)");
  app.add_option("--cache-dir", o.cache_dir, "Cache directory (default: $TOK_CACHE_DIR, else ~/.cache/tok)");
  app.add_flag("-v,--verbose", o.verbose, "Diagnostics on stderr (never tokens or secrets)");
  app.add_flag("-q,--quiet", o.quiet, "No warnings or chatter on stderr; errors still print");
  // Every profile key is also a flag, so a run with --provider needs no config file.
  for (const std::string& key : tok::all_profile_keys()) {
    app.add_option_function<std::string>(
           flag_name(key), [&o, key](const std::string& value) { o.key_flags[key] = value; },
           fmt::format("Profile key '{}' (overrides the config file)", key))
        ->group("Profile keys");
  }

  tok::add_get_command(app, session);
  tok::add_status_command(app, session);
  tok::add_refresh_command(app, session);
  tok::add_clear_command(app, session);
  tok::add_profiles_command(app, session);
  app.add_subcommand("version", "Print the version")->callback([&session] {
    session.run = [] {
      fmt::print("tok " TOK_VERSION "\n");
      return 0;
    };
  });

  try {
    app.parse(argc, argv);
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
    if (std::fflush(stdout) != 0) return 1;  // a closed pipe must not look like success
    return code;
  } catch (const tok::Error& e) {
    print_error(session, e.what(), e.advice());
    return tok::exit_code(e.kind());
  } catch (const std::exception& e) {
    print_error(session, fmt::format("internal error: {}", e.what()), "please report this as a bug");
    return 1;
  }
}

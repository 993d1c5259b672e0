// tok: access tokens for scripts, credential helpers and CI steps, from a cache kept fresh.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/key_help.hpp"
#include "cli/session.hpp"
#include "providers/http.hpp"
#include "core/descriptors.hpp"
#include "core/module.hpp"
#include "core/error.hpp"

#ifndef TOK_VERSION
#define TOK_VERSION "0.0.0"
#endif

namespace {

// Removes `--key VALUE` and `--key=VALUE` for every profile key from argv (up to a `--`, after
// which everything belongs to the command `tok exec` runs) and returns the rest for CLI11.
std::vector<std::string> take_profile_key_flags(int argc, char** argv, tok::KeyValues& out) {
  std::vector<std::string> rest;
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
      if (tok::is_profile_key(key)) {
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

int run_version(const std::string& format) {
  // The parts a cache hit never loads, each from its module (and what it was built with).
  struct Module {
    const char* file;
    const char* role;
  };
  static constexpr Module modules[] = {{"tok-curl.so", "fetch tokens over HTTP"},
                                       {"tok-crypto.so", "sign private_key_jwt assertions"},
                                       {"tok-serve.so", "run tok serve"}};
  nlohmann::json json_modules = nlohmann::json::array();
  std::string text = "tok " TOK_VERSION "\nlicense: Apache-2.0\n";
  for (const Module& m : modules) {
    const tok::ModuleSymbol symbol = tok::load_module_symbol(m.file, "tok_module_version");
    const std::string version =
        symbol.address != nullptr ? reinterpret_cast<const char* (*)()>(symbol.address)() : std::string();
    if (symbol.address != nullptr) {
      text += fmt::format("{}: {} ({}; to {})\n", m.file, version, symbol.path, m.role);
    } else {
      text += fmt::format("{}: MISSING ({}): tok cannot {} (searched {})\n", m.file, symbol.problem, m.role,
                          fmt::join(symbol.searched, ", "));
    }
    json_modules.push_back({{"file", m.file}, {"role", m.role}, {"path", symbol.path},
                            {"version", symbol.address != nullptr ? nlohmann::json(version) : nlohmann::json(nullptr)},
                            {"searched", symbol.searched}});
  }
  if (format == "json") {
    fmt::print("{}\n", nlohmann::json{{"json_version", 1}, {"tok", TOK_VERSION}, {"license", "Apache-2.0"}, {"modules", json_modules}}.dump(2));
  } else {
    fmt::print("{}", text);
  }
  return 0;
}

void add_version_command(CLI::App& app, tok::Session& session) {
  auto format = std::make_shared<std::string>("text");
  CLI::App* cmd = app.add_subcommand("version", "Print the version, and the modules' (libcurl, OpenSSL, libmicrohttpd)");
  cmd->add_option("--format", *format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([&session, format] {
    session.run = [format] { return run_version(*format); };
  });
}

void add_help_command(CLI::App& app, tok::Session& session);

using AddCommand = void (*)(CLI::App&, tok::Session&);
constexpr std::pair<std::string_view, AddCommand> kCommands[] = {
    {"get", tok::add_get_command},
    {"status", tok::add_status_command},
    {"refresh", tok::add_refresh_command},
    {"clear", tok::add_clear_command},
    {"profiles", tok::add_profiles_command},
    {"init", tok::add_init_command},
    {"login", tok::add_login_command},
    {"logout", tok::add_logout_command},
    {"serve", tok::add_serve_command},
    {"exec", tok::add_exec_command},
    {"write", tok::add_write_command},
    {"setup", tok::add_setup_command},
    {"env", tok::add_env_command},
    {"git-credential", tok::add_git_credential_command},
    {"docker-credential", tok::add_docker_credential_command},
    {"kube-credential", tok::add_kube_credential_command},
    {"completion", tok::add_completion_command},
    {"version", add_version_command},
    {"help", add_help_command},
};

bool is_command(std::string_view word) {
  return std::any_of(std::begin(kCommands), std::end(kCommands), [&](const auto& c) { return c.first == word; });
}

// Building a command costs CLI11 20k to 55k instructions (callgrind), a whole cache hit ~600k:
// only the command on the line is built. Without one, with --help or for `tok help`, all are, so
// help and errors still list every command.
void add_commands(CLI::App& app, tok::Session& session, std::string_view word) {
  const bool all = word.empty() || word == "help" || !is_command(word);
  for (const auto& [name, add] : kCommands) {
    if (all || name == word) {
      add(app, session);
      app.get_subcommand(std::string(name))->footer([name = name] { return tok::command_help_footer(name); });
    }
  }
}

// `tok help [COMMAND | keys [PROVIDER]]`. Declared to CLI11 so that it is listed; main answers it
// before CLI11 parses (CLI11 would take `tok help get` for the `get` command).
void add_help_command(CLI::App& app, tok::Session&) {
  CLI::App* cmd = app.add_subcommand("help", "Show the help of tok or of a command; 'tok help keys [PROVIDER]': every profile key");
  cmd->add_option("topic", "a command, or keys [PROVIDER]")->expected(0, 2);
}

int run_help(const CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> topic;
  bool seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (const tok::GlobalFlag* flag = tok::find_global_flag(arg); flag != nullptr && flag->value != nullptr) {
      ++i;  // its value
    } else if (!seen) {
      seen = arg == "help";
    } else if (!arg.empty() && arg[0] != '-') {
      topic.push_back(arg);
    }
  }
  if (topic.empty()) {
    fmt::print("{}", app.help());
    return 0;
  }
  if (topic[0] == "keys" && topic.size() <= 2) {
    const std::string provider = topic.size() > 1 ? topic[1] : std::string();
    if (auto text = tok::profile_keys_help(provider)) {
      fmt::print("{}", *text);
      return 0;
    }
    std::vector<std::string> names;
    for (const auto& p : tok::providers()) names.emplace_back(p.name);
    const auto near = tok::did_you_mean(provider.substr(0, 64), names);
    fmt::print(stderr, "tok: no provider '{}'{}\ntok: hint: this build knows: {}\n", tok::printable(provider.substr(0, 64)),
               near ? fmt::format(" (did you mean '{}'?)", *near) : std::string(), fmt::join(names, ", "));
    return tok::exit_code(tok::ErrorKind::usage);
  }
  if (topic.size() == 1 && is_command(topic[0]) && topic[0] != "help") {
    fmt::print("{}", app.get_subcommand(topic[0])->help(app.get_name()));
    return 0;
  }
  std::vector<std::string> names = {"keys"};
  for (const auto& c : kCommands) names.emplace_back(c.first);
  if (const auto near = topic.size() == 1 ? tok::did_you_mean(topic[0].substr(0, 64), names) : std::nullopt) {
    fmt::print(stderr, "tok: 'tok help' has no topic '{}' (did you mean '{}'?)\n", tok::printable(topic[0].substr(0, 64)),
               *near);
  } else {
    fmt::print(stderr, "tok: 'tok help' takes a command, or keys [PROVIDER]\n");
  }
  fmt::print(stderr, "tok: hint: run 'tok --help'\n");
  return tok::exit_code(tok::ErrorKind::usage);
}

// `tok gte`: "unknown command 'gte' (did you mean 'get'?)". The word is shown only when it is a
// near miss of a command: anything else on the line, this word included, could be a secret.
int unknown_command(std::string_view word) {
  std::vector<std::string> names;
  for (const auto& c : kCommands) names.emplace_back(c.first);
  if (const auto near = tok::did_you_mean(word.substr(0, 64), names)) {
    fmt::print(stderr, "tok: unknown command '{}' (did you mean '{}'?)\n", tok::printable(word.substr(0, 64)), *near);
  } else {
    fmt::print(stderr, "tok: unknown command (not shown: it could be a secret); the commands: {}\n",
               fmt::join(names, ", "));
  }
  fmt::print(stderr, "tok: hint: run 'tok --help'\n");
  return tok::exit_code(tok::ErrorKind::usage);
}

// The arguments CLI11 did not expect: only those that look like flags are named (with what was
// probably meant); anything else could be a value, and a value could be a secret.
void print_unexpected(const tok::Session& session, CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> known;
  for (const CLI::App* a : {&app, app.get_subcommands().empty() ? &app : app.get_subcommands().front()}) {
    for (const CLI::Option* option : a->get_options()) {
      for (const auto& name : option->get_lnames()) known.push_back("--" + name);
    }
  }
  for (const auto& key : tok::all_profile_keys()) {
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    known.push_back(flag);
  }
  std::vector<std::string> flags;
  for (const auto& arg : args) {
    if (arg.size() < 2 || arg[0] != '-' || arg == "--") continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    flags.push_back(tok::printable(name));
  }
  if (flags.empty()) {
    fmt::print(stderr, "tok: {}: unexpected arguments (not shown: they could be secrets)\n", session.label());
  } else {
    fmt::print(stderr, "tok: {}: unknown flag{} {} (values not shown: they could be secrets)\n", session.label(),
               flags.size() == 1 ? "" : "s", fmt::join(flags, ", "));
    if (auto near = tok::did_you_mean(flags.front(), known)) {
      fmt::print(stderr, "tok: hint: did you mean {}?\n", *near);
      return;
    }
  }
  fmt::print(stderr, "tok: hint: run 'tok --help'\n");
}

void print_error(const tok::Session& session, const std::string& message, const std::string& advice) {
  fmt::print(stderr, "tok: {}: {}\n", session.label(), message);
  if (!advice.empty()) fmt::print(stderr, "tok: hint: {}\n", advice);
}

// Runs the chosen command; a stdout that could not be written is an error, not a success.
int run(tok::Session& session) {
  try {
    const int code = session.run();
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {  // a closed pipe must not look like success
      print_error(session, fmt::format("cannot write to standard output: {}", std::strerror(errno)),
                  "nothing was printed: check where stdout goes (closed, full disk, a broken pipe)");
      return tok::exit_code(tok::ErrorKind::usage);
    }
    return code;
  } catch (const tok::Error& e) {
    print_error(session, e.what(), e.advice());
    return tok::exit_code(e.kind());
  } catch (const std::exception& e) {
    print_error(session, fmt::format("internal error: {}", e.what()), "please report this as a bug");
    return tok::exit_code(tok::ErrorKind::internal);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything opens a descriptor: a lock or socket on 0-2 would be clobbered or printed to.
  tok::fill_closed_stdio();
  // Installed as docker-credential-tok (a link to tok), it speaks Docker's helper protocol.
  const char* slash = argc > 0 ? std::strrchr(argv[0], '/') : nullptr;
  if (argc > 0 && std::strcmp(slash != nullptr ? slash + 1 : argv[0], "docker-credential-tok") == 0) {
    const std::ios_base::Init streams;  // see cli/lazy_iostream.hpp
    return tok::docker_credential_main(argc, argv);
  }
  tok::Session session;
  tok::GlobalOptions& o = session.options;
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
  // The cache hit's fast path: a plain `tok get` builds no CLI11 app at all (cli/arguments.hpp)
  // and never touches the standard streams (cli/lazy_iostream.hpp).
  if (auto flags = tok::parse_plain_get(args, o)) {
    session.run = [&session, flags] { return tok::run_get(session, *flags); };
    const int code = run(session);  // stdout flushed and checked
    // Nothing static needs destroying for the kernel's sake (descriptors, locks and mappings go
    // with the process): skipping the exit handlers is ~7% of a hit. stderr is unbuffered.
    std::fflush(nullptr);
    std::_Exit(code);
  }
  // git's credential helper, at every fetch and push, takes the same kind of path.
  if (auto operation = tok::parse_plain_git_credential(args, o)) {
    session.run = [&session, operation] { return tok::run_git_credential(session, *operation); };
    const int code = run(session);
    std::fflush(nullptr);
    std::_Exit(code);
  }
  // Every other path may print with std::cout (CLI11's help and errors): the streams first.
  const std::ios_base::Init streams;

  CLI::App app{"tok prints access tokens for scripts, credential helpers and CI, from a cache it keeps fresh.", "tok"};
  // Global flags work before or after the command (`tok -p ci get` == `tok get -p ci`), because
  // helper configurations put them after it.
  app.fallthrough();
  app.footer(tok::main_help_footer);
  app.set_version_flag("--version", "tok " TOK_VERSION);
  tok::add_global_options(app, o);
  const tok::CommandWord command = tok::command_word(args);
  if (!command.word.empty() && !is_command(command.word) && !command.maybe_value) return unknown_command(command.word);
  add_commands(app, session, command.word);
  if (command.word == "help") return run_help(app, args);

  try {
    std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // CLI11 lists the unexpected arguments, values included: a secret passed as a flag that does
    // not exist (--client-secret VALUE) would land in a CI log. Name the flags only.
    print_unexpected(session, app, args);
    return tok::exit_code(tok::ErrorKind::usage);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "tok: {}\ntok: hint: run 'tok --help'\n", tok::printable(e.what()));
    return tok::exit_code(tok::ErrorKind::usage);
  } catch (const tok::Error& e) {
    print_error(session, e.what(), e.advice());
    return tok::exit_code(e.kind());
  }
  if (!session.run) {
    fmt::print(stderr, "{}", app.help());
    return tok::exit_code(tok::ErrorKind::usage);
  }
  return run(session);
}


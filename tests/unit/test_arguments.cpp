// The cache hit's fast path (parse_plain_get) against CLI11 with the very declarations main uses:
// every form the fast path accepts must come out of CLI11 the same, and every form it refuses is
// left to CLI11 (which then parses it, or says what is wrong).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/arguments.hpp"

namespace {

struct Parsed {
  tok::GlobalOptions options;
  tok::GetFlags flags;
};

// As main does: global flags falling through, `get` with its own; nullopt if CLI11 refuses.
std::optional<Parsed> with_cli11(std::vector<std::string> args) {
  Parsed p;
  CLI::App app{"tok", "tok"};
  app.fallthrough();
  tok::add_global_options(app, p.options);
  CLI::App* get = tok::add_get_subcommand(app, p.flags);
  try {
    std::reverse(args.begin(), args.end());
    app.parse(args);
  } catch (const CLI::Error&) {
    return std::nullopt;
  }
  if (!get->parsed()) return std::nullopt;
  return p;
}

std::optional<Parsed> with_fast_path(const std::vector<std::string>& args) {
  Parsed p;
  auto flags = tok::parse_plain_get(args, p.options);
  if (!flags) return std::nullopt;
  p.flags = *flags;
  return p;
}

void check_same(const Parsed& a, const Parsed& b) {
  CHECK(a.options.profile == b.options.profile);
  CHECK(a.options.config_path == b.options.config_path);
  CHECK(a.options.cache_dir == b.options.cache_dir);
  CHECK(a.options.verbose == b.options.verbose);
  CHECK(a.options.quiet == b.options.quiet);
  CHECK(a.flags.format == b.flags.format);
  CHECK(a.flags.force_refresh == b.flags.force_refresh);
  CHECK(a.flags.min_valid == b.flags.min_valid);
  CHECK(a.flags.no_async == b.flags.no_async);
}

}  // namespace

TEST_SUITE("arguments") {

TEST_CASE("the fast path takes the plain forms of tok get, exactly as CLI11 does") {
  const std::vector<std::vector<std::string>> accepted = {
      {"get"},
      {"get", "-p", "work"},
      {"-p", "work", "get"},
      {"--profile", "work", "get", "--format", "json"},
      {"--profile=work", "get", "--format=header"},
      {"get", "--min-valid", "10m", "--no-async", "--force-refresh"},
      {"get", "--min-valid=0"},
      {"-q", "get", "-v"},
      {"--quiet", "--verbose", "get"},
      {"--config", "/etc/tok.ini", "--cache-dir", "/tmp/c", "get"},
      {"get", "--config=/etc/tok.ini", "--cache-dir=/tmp/c", "-p", "x y"},
      {"get", "--format", "token"},
      {"get", "-p", "aws", "--format", "credential-process"},  // what AWS runs for every process
  };
  for (const auto& args : accepted) {
    CAPTURE(fmt::format("{}", fmt::join(args, " ")));
    const auto fast = with_fast_path(args);
    REQUIRE(fast.has_value());
    const auto cli11 = with_cli11(args);
    REQUIRE(cli11.has_value());
    check_same(*fast, *cli11);
  }
}

TEST_CASE("--id-token is CLI11's: the fast path leaves it, the declaration reads it") {
  const std::vector<std::vector<std::string>> forms = {{"get", "--id-token"},
                                                      {"-p", "me", "get", "--id-token", "--format", "json"}};
  for (const auto& args : forms) {
    CAPTURE(fmt::format("{}", fmt::join(args, " ")));
    tok::GlobalOptions options;
    CHECK_FALSE(tok::parse_plain_get(args, options).has_value());
    const auto parsed = with_cli11(args);
    REQUIRE(parsed.has_value());
    CHECK(parsed->flags.id_token);
  }
  const auto plain = with_cli11({"get"});
  REQUIRE(plain.has_value());
  CHECK_FALSE(plain->flags.id_token);
}

TEST_CASE("anything else is left to CLI11, and the options are untouched") {
  const std::vector<std::vector<std::string>> refused = {
      {},
      {"status"},
      {"get", "get"},
      {"get", "extra"},
      {"get", "--help"},
      {"get", "-h"},
      {"--version"},
      {"get", "--format", "xml"},
      {"get", "--format"},
      {"get", "--format", "json", "--format", "token"},
      {"-p", "a", "get", "-p", "b"},
      {"get", "-pwork"},
      {"get", "-vq"},
      {"get", "-p"},
      {"get", "-p", ""},
      {"get", "-p", "-q"},
      {"get", "--profile="},
      {"--format", "json", "get"},
      {"--no-async", "get"},
      {"get", "--no-async=true"},
      {"get", "--verbose=1"},
      {"get", "--unknown"},
      {"get", "--"},
      {"get", "-"},
      {"get", ""},
  };
  for (const auto& args : refused) {
    CAPTURE(fmt::format("{}", fmt::join(args, " ")));
    tok::GlobalOptions options;
    options.profile = "before";
    CHECK_FALSE(tok::parse_plain_get(args, options).has_value());
    CHECK(options.profile == "before");
    CHECK_FALSE(options.verbose);
  }
}

TEST_CASE("an empty profile name is refused on either path") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"get", "-p", ""},
                                               {"-p", "", "get"},
                                               {"get", "--profile="},
                                               {"--profile", "", "get", "--format", "json"}}) {
    CAPTURE(fmt::format("{}", fmt::join(args, " ")));
    tok::GlobalOptions options;
    CHECK_FALSE(tok::parse_plain_get(args, options).has_value());
    CHECK_FALSE(with_cli11(args).has_value());
  }
  CHECK(with_cli11({"get", "-p", "work"}).has_value());
}

// As main does for `tok git-credential ...`: the global flags and that one command (main declares
// only the command it runs, so `get` here is the operation, not the command).
std::optional<std::pair<tok::GlobalOptions, std::string>> git_with_cli11(std::vector<std::string> args) {
  tok::GlobalOptions options;
  std::string operation;
  CLI::App app{"tok", "tok"};
  app.fallthrough();
  tok::add_global_options(app, options);
  CLI::App* cmd = tok::add_git_credential_subcommand(app, operation);
  try {
    std::reverse(args.begin(), args.end());
    app.parse(args);
  } catch (const CLI::Error&) {
    return std::nullopt;
  }
  if (!cmd->parsed()) return std::nullopt;
  return std::pair{options, operation};
}

TEST_CASE("git-credential's fast path takes what git runs, exactly as CLI11 does") {
  const std::vector<std::vector<std::string>> accepted = {
      {"git-credential", "get"},  // credential.helper = !tok git-credential
      {"git-credential", "store"},
      {"git-credential", "erase"},
      {"git-credential", "-p", "work", "get"},  // credential.https://host.helper = !tok git-credential -p work
      {"-p", "work", "git-credential", "get"},
      {"git-credential", "get", "-p", "work"},
      {"--profile=work", "git-credential", "-q", "get"},
      {"git-credential", "--config", "/etc/tok.ini", "--cache-dir=/tmp/c", "-v", "erase"},
      {"git-credential", "-p", "get", "get"},  // a profile named get
  };
  for (const auto& args : accepted) {
    CAPTURE(fmt::format("{}", fmt::join(args, " ")));
    tok::GlobalOptions fast_options;
    const auto fast = tok::parse_plain_git_credential(args, fast_options);
    REQUIRE(fast.has_value());
    const auto cli11 = git_with_cli11(args);
    REQUIRE(cli11.has_value());
    CHECK(*fast == cli11->second);
    CHECK(fast_options.profile == cli11->first.profile);
    CHECK(fast_options.config_path == cli11->first.config_path);
    CHECK(fast_options.cache_dir == cli11->first.cache_dir);
    CHECK(fast_options.verbose == cli11->first.verbose);
    CHECK(fast_options.quiet == cli11->first.quiet);
  }
  const std::vector<std::vector<std::string>> refused = {
      {"git-credential"},
      {"git-credential", "get", "get"},
      {"git-credential", "get", "store"},
      {"git-credential", "capability"},  // not an operation tok knows: CLI11 parses it, run_git_credential ignores it
      {"git-credential", "--help"},
      {"git-credential", "get", "--format", "json"},
      {"git-credential", "-p", "a", "-p", "b", "get"},
      {"git-credential", "-pwork", "get"},
      {"git-credential", "--", "get"},
      {"git-credential", ""},
      {"get", "git-credential"},
      {"get"},
  };
  for (const auto& args : refused) {
    CAPTURE(fmt::format("{}", fmt::join(args, " ")));
    tok::GlobalOptions options;
    options.profile = "before";
    CHECK_FALSE(tok::parse_plain_git_credential(args, options).has_value());
    CHECK(options.profile == "before");
  }
}

TEST_CASE("every global flag is one row of kGlobalFlags, and every parser reads it the same") {
  // CLI11 declares exactly the table's flags (and its own --help).
  tok::GlobalOptions options;
  CLI::App app{"tok", "tok"};
  tok::add_global_options(app, options);
  std::set<std::string> declared;
  for (const CLI::Option* option : app.get_options()) {
    for (const auto& name : option->get_snames()) declared.insert("-" + name);
    for (const auto& name : option->get_lnames()) declared.insert("--" + name);
  }
  declared.erase("-h");
  declared.erase("--help");
  std::set<std::string> table;
  for (const tok::GlobalFlag& flag : tok::kGlobalFlags) {
    if (!flag.short_name.empty()) table.insert(std::string(flag.short_name));
    table.insert(std::string(flag.long_name));
    CHECK_MESSAGE((flag.value == nullptr) != (flag.set == nullptr), flag.long_name, ": a value or a switch");
  }
  CHECK(declared == table);

  // Each row, in each spelling, before and after the command: the fast paths take it as CLI11
  // does, and the search for the command word steps over its value.
  for (const tok::GlobalFlag& flag : tok::kGlobalFlags) {
    for (const std::string_view name : {flag.short_name, flag.long_name}) {
      if (name.empty()) continue;
      std::vector<std::vector<std::string>> forms;
      if (flag.value != nullptr) {
        forms = {{std::string(name), "get", "get"}, {"get", std::string(name), "x"}};
        if (name.substr(0, 2) == "--") forms.push_back({std::string(name) + "=x", "get"});
      } else {
        forms = {{std::string(name), "get"}, {"get", std::string(name)}};
      }
      for (const auto& args : forms) {
        CAPTURE(fmt::format("{}", fmt::join(args, " ")));
        const auto fast = with_fast_path(args);
        REQUIRE(fast.has_value());
        const auto cli11 = with_cli11(args);
        REQUIRE(cli11.has_value());
        check_same(*fast, *cli11);
        const tok::CommandWord command = tok::command_word(args);
        CHECK(command.word == "get");
        CHECK_FALSE(command.maybe_value);
        // The same with git-credential for the command (a value "get" stays a value).
        std::vector<std::string> git;
        for (std::size_t k = 0; k < args.size(); ++k) {
          const bool is_value = flag.value != nullptr && k > 0 && args[k - 1] == name;
          git.push_back(args[k] == "get" && !is_value ? "git-credential" : args[k]);
        }
        git.push_back("get");
        CAPTURE(fmt::format("{}", fmt::join(git, " ")));
        tok::GlobalOptions git_options;
        CHECK(tok::parse_plain_git_credential(git, git_options) == std::optional<std::string>("get"));
        const auto git_cli11 = git_with_cli11(git);
        REQUIRE(git_cli11.has_value());
        CHECK(git_options.profile == git_cli11->first.profile);
        CHECK(git_options.verbose == git_cli11->first.verbose);
      }
    }
  }
  // A flag that is no global flag is not stepped over: its next word may be the command.
  CHECK(tok::command_word({"--client-secret", "get"}).maybe_value);
  CHECK(tok::command_word({"--client-secret", "get"}).word == "get");
}

}  // TEST_SUITE

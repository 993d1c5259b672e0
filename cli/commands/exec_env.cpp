// tok exec and tok env: the token for CI steps and scripts (docs/integrations.md "CI steps and scripts").
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>
#include <fmt/format.h>

#include "cli/env_lines.hpp"
#include "cli/helpers/git_header.hpp"
#include "cli/session.hpp"
#include "core/error.hpp"
#include "providers/aws_credential.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

constexpr const char* kDefaultEnvName = "TOK_TOKEN";
constexpr const char* kGitMinValid = "10m";  // --git without --min-valid

void check_env_name(const std::string& name) {
  if (!valid_env_name(name)) {
    throw Error(ErrorKind::usage, "--env-name: not a variable name (letters, digits and _, not starting with a digit)");
  }
}

// The variables a profile's credential sets: the token in one variable (--env-name), or an AWS
// credential in the three every AWS SDK and CLI reads (an absent session token is listed empty:
// long-term keys, so a session token left in the environment must go). `secrets`, when given,
// gets the variables the profile reads a secret from.
// With --git, `git_variables` gets the variables that put the token on git's first request
// (cli/helpers/git_header.hpp), each set even when empty (an empty extraHeader is git's reset).
std::vector<std::pair<std::string, std::string>> credential_variables(
    Session& session, const FreshnessFlags& freshness, const std::string& env_name,
    std::vector<std::string>* secrets = nullptr,
    std::vector<std::pair<std::string, std::string>>* git_variables = nullptr) {
  FreshnessFlags asked = freshness;
  // --git: the command may run a while; the token should outlive it when it can.
  if (git_variables != nullptr && !asked.min_valid) asked.min_valid = kGitMinValid;
  const GetOptions options = get_options(asked);  // a bad --min-valid before any fetch
  ProfileContext ctx(session);
  if (secrets != nullptr) *secrets = secret_variables(ctx.profile);
  const Token token = ctx.engine(session).get(options).token;
  if (git_variables != nullptr) {
    *git_variables =
        git_header_variables(ctx.profile.values, bearer_token(token, ctx.profile.name, "--git").access_token,
                             session.world().env("GIT_CONFIG_COUNT"));
  }
  if (!is_aws_credential(token)) return {{env_name, token.access_token}};
  if (env_name != kDefaultEnvName) {
    throw Error(ErrorKind::usage,
                fmt::format("--env-name: profile '{}' holds an AWS credential, which goes in AWS_ACCESS_KEY_ID, "
                            "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN",
                            ctx.profile.name));
  }
  const auto session_token = token.fields.find(kAwsSessionToken);
  return {{"AWS_ACCESS_KEY_ID", token.fields.at(kAwsAccessKeyId)},
          {"AWS_SECRET_ACCESS_KEY", token.fields.at(kAwsSecretAccessKey)},
          {"AWS_SESSION_TOKEN", session_token == token.fields.end() ? std::string() : session_token->second}};
}

}  // namespace

struct ExecFlags {
  std::string env_name = kDefaultEnvName;
  std::vector<std::string> command;
  FreshnessFlags freshness;
  bool git = false;
  bool keep_secret_env = false;
};

int run_exec(Session& session, ExecFlags& flags) {
  check_env_name(flags.env_name);
  // No token, no command: a failure here exits with tok's own code and CMD never runs.
  std::vector<std::pair<std::string, std::string>> git;
  std::vector<std::string> secrets;
  const auto variables =
      credential_variables(session, flags.freshness, flags.env_name, &secrets, flags.git ? &git : nullptr);
  // CMD gets the token, not what mints it: often a third party's script in CI.
  if (!flags.keep_secret_env) {
    for (const auto& name : secrets) {
      if (valid_env_name(name)) ::unsetenv(name.c_str());
    }
  }
  for (const auto& [name, value] : variables) {
    const int set = value.empty() ? ::unsetenv(name.c_str()) : ::setenv(name.c_str(), value.c_str(), 1);
    if (set != 0) throw Error(ErrorKind::internal, fmt::format("cannot set ${}: {}", name, std::strerror(errno)));
  }
  for (const auto& [name, value] : git) {
    if (::setenv(name.c_str(), value.c_str(), 1) != 0) {
      throw Error(ErrorKind::internal, fmt::format("cannot set ${}: {}", name, std::strerror(errno)));
    }
  }
  std::vector<char*> argv;
  for (auto& arg : flags.command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // CMD inherits the descriptors: nothing tok wrote may come after what CMD writes.
  std::fflush(stdout);
  std::fflush(stderr);
  // Replaced, not forked: CMD's exit status, signals and stdio are the caller's. The engine's
  // descriptors are close-on-exec and a background refresh is nobody's child.
  ::execvp(argv[0], argv.data());
  const int err = errno;
  fmt::print(stderr, "tok: {}: cannot run '{}': {}\n", session.label(), printable(flags.command[0]),
             std::strerror(err));
  // What a shell answers for a command it cannot find (127) or cannot run (126).
  return err == ENOENT ? kExitNotFound : kExitCannotRun;
}

void add_exec_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<ExecFlags>();
  CLI::App* cmd = app.add_subcommand("exec", "Run a command with the token in $TOK_TOKEN: tok exec [--env-name VAR] -- CMD ARGS...");
  cmd->add_option("--env-name", flags->env_name, "The variable that holds the token (default TOK_TOKEN)");
  cmd->add_flag("--git", flags->git,
                "Also give git the token on its first request, for the profile's git_hosts (--min-valid default 10m)");
  add_freshness_flags(*cmd, flags->freshness);
  cmd->add_flag("--keep-secret-env", flags->keep_secret_env,
                "Leave the profile's secret variables (client_secret_env, $TOK_CLIENT_SECRET) to the command");
  cmd->add_option("command", flags->command, "The command and its arguments, after --")->required();
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_exec(session, *flags); };
  });
}

struct EnvFlags {
  std::string shell = "sh";
  std::string env_name = kDefaultEnvName;
  FreshnessFlags freshness;
  bool git = false;
};

int run_env(Session& session, const EnvFlags& flags) {
  const std::string& name = flags.env_name;
  check_env_name(name);
  const char* github_env = nullptr;
  if (flags.shell == "github") {
    github_env = session.world().env("GITHUB_ENV");
    if (github_env == nullptr || *github_env == '\0') {
      throw Error(ErrorKind::usage, "--shell github: $GITHUB_ENV is not set", "GitHub Actions sets it in every step");
    }
  }
  std::vector<std::pair<std::string, std::string>> git;
  auto variables = credential_variables(session, flags.freshness, name, nullptr, flags.git ? &git : nullptr);
  const std::size_t credential_count = variables.size();
  variables.insert(variables.end(), git.begin(), git.end());
  // Set even when empty: an empty extraHeader resets git's list, an unset one is an error to git.
  const auto keep_empty = [&](std::size_t i) { return i >= credential_count; };
  // Tokens are single-line by construction (RFC 6750 b64token, fields printable ASCII), but a
  // dotenv or $GITHUB_ENV line takes the rest of the line as the value: a line break would
  // forge another variable, and a NUL would cut the value (a shell drops it, C readers stop).
  for (const auto& variable : variables) {
    if (variable.second.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      throw Error(ErrorKind::unavailable, "the token holds a line break or a NUL: refusing to write it as a variable");
    }
  }
  // An empty value (no AWS session token: long-term keys) must not leave the caller's old one in
  // place, where an SDK would send it with keys it does not belong to: sh and fish unset it; a
  // dotenv file or $GITHUB_ENV cannot unset, so they set it empty, which AWS SDKs read as absent.
  if (flags.shell == "sh" || flags.shell == "fish" || flags.shell == "gitlab") {
    std::string lines;
    for (std::size_t i = 0; i < variables.size(); ++i) {
      const auto& [var, value] = variables[i];
      if (flags.shell == "sh") {
        lines += value.empty() && !keep_empty(i) ? sh_unset_line(var) : sh_env_line(var, value);
      } else if (flags.shell == "fish") {
        lines += value.empty() && !keep_empty(i) ? fish_unset_line(var) : fish_env_line(var, value);
      } else {
        lines += dotenv_line(var, value);
      }
    }
    fmt::print("{}", lines);
  } else {
    // The masks first: GitHub hides each value in every log line printed after this one.
    for (const auto& variable : variables) {
      if (!variable.second.empty() && !variable.first.starts_with("GIT_CONFIG_")) {
        fmt::print("::add-mask::{}\n", variable.second);
      }
    }
    // --git: the header holds the token in base64, which masking the token does not hide.
    for (const auto& [var, value] : git) {
      if (const auto basic = value.rfind(' '); var.starts_with("GIT_CONFIG_VALUE_") && basic != std::string::npos) {
        fmt::print("::add-mask::{}\n", value.substr(basic + 1));
      }
    }
    if (std::fflush(stdout) != 0) {
      throw Error(ErrorKind::internal, fmt::format("cannot write to standard output: {}", std::strerror(errno)));
    }
    const int fd = ::open(github_env, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw Error(ErrorKind::usage, fmt::format("cannot open $GITHUB_ENV ({}): {}", printable(github_env), std::strerror(errno)));
    }
    std::string lines;
    for (const auto& [var, value] : variables) lines += dotenv_line(var, value);
    const ssize_t n = ::write(fd, lines.data(), lines.size());
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(lines.size())) {
      throw Error(ErrorKind::usage,
                  fmt::format("cannot write $GITHUB_ENV ({}): {}", printable(github_env), n < 0 ? std::strerror(err) : "short write"));
    }
  }
  return 0;
}

void add_env_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<EnvFlags>();
  CLI::App* cmd = app.add_subcommand("env", "Print lines that set $TOK_TOKEN in a shell or CI system");
  cmd->add_option("--shell", flags->shell, "sh (default), fish, github or gitlab")
      ->check(CLI::IsMember({"sh", "fish", "github", "gitlab"}));
  cmd->add_option("--env-name", flags->env_name, "The variable that holds the token (default TOK_TOKEN)");
  cmd->add_flag("--git", flags->git,
                "Also print the variables that give git the token on its first request (--min-valid default 10m)");
  add_freshness_flags(*cmd, flags->freshness);
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_env(session, *flags); };
  });
}

}  // namespace tok

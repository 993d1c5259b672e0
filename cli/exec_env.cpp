// tok exec and tok env: the token for CI steps and scripts (docs/integrations.md "CI steps and scripts").
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>
#include <fmt/format.h>

#include "cli/env_lines.hpp"
#include "cli/session.hpp"
#include "core/error.hpp"
#include "providers/aws_credential.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

constexpr const char* kDefaultEnvName = "TOK_TOKEN";

void check_env_name(const std::string& name) {
  if (!valid_env_name(name)) {
    throw Error(ErrorKind::usage, "--env-name: not a variable name (letters, digits and _, not starting with a digit)");
  }
}

// The variables a profile's credential sets: the token in one variable (--env-name), or an AWS
// credential in the three every AWS SDK and CLI reads (an absent session token is listed empty:
// long-term keys, so a session token left in the environment must go).
std::vector<std::pair<std::string, std::string>> credential_variables(Session& session, const FreshnessFlags& freshness,
                                                                      const std::string& env_name) {
  const GetOptions options = get_options(freshness);  // a bad --min-valid before any fetch
  ProfileContext ctx(session);
  const Token token = ctx.engine(session).get(options).token;
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
};

int run_exec(Session& session, ExecFlags& flags) {
  check_env_name(flags.env_name);
  // No token, no command: a failure here exits with tok's own code and CMD never runs.
  for (const auto& [name, value] : credential_variables(session, flags.freshness, flags.env_name)) {
    const int set = value.empty() ? ::unsetenv(name.c_str()) : ::setenv(name.c_str(), value.c_str(), 1);
    if (set != 0) throw Error(ErrorKind::internal, fmt::format("cannot set ${}: {}", name, std::strerror(errno)));
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
  add_freshness_flags(*cmd, flags->freshness);
  cmd->add_option("command", flags->command, "The command and its arguments, after --")->required();
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_exec(session, *flags); };
  });
}

struct EnvFlags {
  std::string shell = "sh";
  std::string env_name = kDefaultEnvName;
  FreshnessFlags freshness;
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
  auto variables = credential_variables(session, flags.freshness, name);
  // Tokens are single-line by construction (RFC 6750 b64token, fields printable ASCII), but a
  // dotenv or $GITHUB_ENV line takes the rest of the line as the value: a line break would
  // forge another variable.
  for (const auto& variable : variables) {
    if (variable.second.find_first_of("\r\n") != std::string::npos) {
      throw Error(ErrorKind::unavailable, "the token holds a line break: refusing to write it as a variable");
    }
  }
  // An empty value (no AWS session token: long-term keys) must not leave the caller's old one in
  // place, where an SDK would send it with keys it does not belong to: sh and fish unset it; a
  // dotenv file or $GITHUB_ENV cannot unset, so they set it empty, which AWS SDKs read as absent.
  if (flags.shell == "sh" || flags.shell == "fish" || flags.shell == "gitlab") {
    std::string lines;
    for (const auto& [var, value] : variables) {
      if (flags.shell == "sh") {
        lines += value.empty() ? sh_unset_line(var) : sh_env_line(var, value);
      } else if (flags.shell == "fish") {
        lines += value.empty() ? fish_unset_line(var) : fish_env_line(var, value);
      } else {
        lines += dotenv_line(var, value);
      }
    }
    fmt::print("{}", lines);
  } else {
    // The masks first: GitHub hides each value in every log line printed after this one.
    for (const auto& variable : variables) {
      if (!variable.second.empty()) fmt::print("::add-mask::{}\n", variable.second);
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
  add_freshness_flags(*cmd, flags->freshness);
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_env(session, *flags); };
  });
}

}  // namespace tok

// cli/env_lines: what `tok env` prints must give back the exact value in the shell that reads it.
// Real tokens are RFC 6750 b64token characters, so the hostile values here can only reach the
// quoting through these functions: each line is evaluated by the real sh, dash, bash and fish.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/env_lines.hpp"
#include "temp_dir.hpp"

namespace {

const std::vector<std::string> kHostile = {
    "plain",
    "",
    "it's",
    "'",
    "''''",
    "a b  c",
    "\"double\"",
    "$HOME",
    "${HOME}",
    "`touch pwned`",
    "$(touch pwned)",
    "back\\slash\\",
    "\\'",
    "!event",
    "*",
    "~",
    "tab\there",
    "semi;colon&amp|pipe>redir<",
    "# not a comment",
    "caf\xc3\xa9",
    "two\nlines",
};

struct Run {
  int status = -1;
  std::string out;
};

// Runs argv (no shell in between) in `dir` and collects its stdout.
Run run(const std::vector<std::string>& argv, const std::filesystem::path& dir) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  Run r;
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = ::read(fds[0], buf.data(), buf.size())) > 0) r.out.append(buf.data(), static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = status;
  return r;
}

// The value of TOK_TOKEN after `shell` sources a file holding `line`.
std::string read_back(const std::string& shell, const std::string& line) {
  tok_test::TempDir dir;
  const auto file = dir.path / "line";
  std::ofstream(file, std::ios::binary) << line;
  std::vector<std::string> argv;
  if (shell == "fish") {
    argv = {"fish", "--no-config", "-c", "source $argv[1]; and printf %s $TOK_TOKEN", file.string()};
  } else {
    argv = {shell, "-c", ". \"$1\" && printf %s \"$TOK_TOKEN\"", shell, file.string()};
  }
  const Run r = run(argv, dir.path);
  if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127 && r.out.empty()) {
    FAIL(shell << " is not installed (scripts/install-deps.sh installs it)");
  }
  CHECK_MESSAGE(r.status == 0, shell << " failed on the line: " << line);
  CHECK_MESSAGE(!std::filesystem::exists(dir.path / "pwned"), shell << " ran a command hidden in: " << line);
  return r.out;
}

}  // namespace

TEST_SUITE("env lines") {
  TEST_CASE("variable names a shell and a CI system accept") {
    for (const char* ok : {"TOK_TOKEN", "_x", "A1", "token"}) CHECK(tok::valid_env_name(ok));
    for (const char* bad : {"", "1A", "A-B", "A B", "A=B", "A\nB", "$A", "A.B"}) CHECK_FALSE(tok::valid_env_name(bad));
  }

  TEST_CASE("the exact lines") {
    CHECK(tok::sh_env_line("TOK_TOKEN", "abc") == "export TOK_TOKEN='abc'\n");
    CHECK(tok::sh_env_line("T", "it's") == "export T='it'\\''s'\n");
    CHECK(tok::fish_env_line("T", "a'b\\c") == "set -gx T 'a\\'b\\\\c'\n");
    CHECK(tok::dotenv_line("T", "a.b~c+d/e=") == "T=a.b~c+d/e=\n");
  }

  TEST_CASE("sh, dash and bash read back exactly what sh_env_line quoted") {
    for (const std::string shell : {"sh", "dash", "bash"}) {
      for (const std::string& value : kHostile) {
        CAPTURE(shell);
        CAPTURE(value);
        CHECK(read_back(shell, tok::sh_env_line("TOK_TOKEN", value)) == value);
      }
    }
  }

  TEST_CASE("fish reads back exactly what fish_env_line quoted") {
    for (const std::string& value : kHostile) {
      CAPTURE(value);
      CHECK(read_back("fish", tok::fish_env_line("TOK_TOKEN", value)) == value);
    }
  }
}

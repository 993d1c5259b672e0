// tok completion bash|zsh|fish: the completion scripts the build writes from completions/, compiled in.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/session.hpp"
#include "completion_scripts.hpp"  // written by the build (completions/CMakeLists.txt)

namespace tok {

int run_completion(const std::string& shell) {
  const std::string_view text = shell == "bash"  ? completion_scripts::bash
                                : shell == "zsh" ? completion_scripts::zsh
                                                 : completion_scripts::fish;
  fmt::print("{}", text);
  return 0;
}

void add_completion_command(CLI::App& app, Session& session) {
  auto shell = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("completion", "Print the completion script for bash, zsh or fish");
  cmd->add_option("shell", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->callback([&session, shell] {
    session.run = [shell] { return run_completion(*shell); };
  });
}

}  // namespace tok

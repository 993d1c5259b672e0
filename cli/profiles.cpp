// tok profiles: the configured profiles and their providers; no secrets (there are none in the
// file: secrets live in variables and files the profile names).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/session.hpp"

namespace tok {

void add_profiles_command(CLI::App& app, Session& session) {
  CLI::App* cmd = app.add_subcommand("profiles", "List the configured profiles and their providers");
  cmd->callback([&session] {
    session.run = [&session] {
      const auto config = load_config(session.options);
      if (!config) {
        session.warn(fmt::format("no config file at {}", config_path(session.options).string()));
        return 0;
      }
      const std::string chosen = session.profile_name();
      for (const auto& section : config->sections) {
        const auto provider = section.values.find("provider");
        fmt::print("{} {:<20} {}\n", section.name == chosen ? '*' : ' ', section.name,
                   provider != section.values.end() ? provider->second : "(no provider)");
      }
      return 0;
    };
  });
}

}  // namespace tok

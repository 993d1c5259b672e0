// tok profiles: the configured profiles, where their tokens come from, for whom and for what; no
// secrets (there are none in the file: secrets live in variables and files the profile names).
// A profile that does not resolve is listed with its error, so one typo does not hide the rest.
// `--state` adds what `tok status --all` shows: each profile's cache state, read, never fetched.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/session.hpp"
#include "cli/commands/profile_state.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

struct ProfilesFlags {
  std::string format = "text";
  bool state = false;
};

int run_profiles(Session& session, const ProfilesFlags& flags) {
  const auto rows = profile_rows(session, flags.state);
  const TimePoint now = session.world().now();
  if (flags.format == "json") {
    const auto config = load_config(session.options);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& row : rows) list.push_back(row_json(row, flags.state, now));
    fmt::print("{}\n", nlohmann::json{{"json_version", 1},
                                      {"config", config ? nlohmann::json(config->path) : nlohmann::json(nullptr)},
                                      {"profiles", list}}
                           .dump(2));
    return 0;
  }
  if (flags.state) {
    print_state_lines(rows, now);
    return 0;
  }
  for (const auto& row : rows) {
    const auto text = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
    fmt::print("{} {:<16} {:<16} {}\n", row.chosen ? '*' : ' ', row.name,
               row.facts.provider.empty() ? "(no provider)" : row.facts.provider, text(row.facts.endpoint));
    if (!row.facts.client.empty()) fmt::print("    client: {}\n", row.facts.client);
    if (!row.facts.scopes.empty()) fmt::print("    scopes: {}\n", row.facts.scopes);
    if (!row.error.empty()) fmt::print("    error:  {}\n", row.error);
  }
  return 0;
}

void add_profiles_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<ProfilesFlags>();
  CLI::App* cmd = app.add_subcommand("profiles", "List the configured profiles: provider, endpoint, client, scopes");
  cmd->add_option("--format", flags->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--state", flags->state, "Also each profile's cache state, as 'tok status --all' (fetches nothing)");
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_profiles(session, *flags); };
  });
}

}  // namespace tok

// tok profiles: the configured profiles, where their tokens come from, for whom and for what; no
// secrets (there are none in the file: secrets live in variables and files the profile names).
// A profile that does not resolve is listed with its error, so one typo does not hide the rest.
// `--state` adds what `tok status --all` shows: each profile's cache state, read, never fetched.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/session.hpp"
#include "cli/status.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

std::vector<ProfileRow> profile_rows(const Session& session, bool with_state) {
  const auto config = load_config(session.options);
  if (!config) session.warn(fmt::format("no config file at {}", config_path(session.options).string()));
  const std::string chosen = session.profile_name();
  const TimePoint now = session.world().now();
  std::vector<ProfileRow> rows;
  for (const auto& section : config ? config->sections : std::vector<IniSection>{}) {
    ProfileRow row;
    row.name = printable(section.name);
    row.chosen = section.name == chosen;
    // Resolved as `tok -p NAME` would, without this command line's key flags.
    Session one;
    one.options = session.options;
    one.options.profile = section.name;
    one.options.key_flags.clear();
    KeyValues values = section.values;
    try {
      ProfileContext ctx(one, config);
      values = ctx.profile.values;
      if (with_state) row.status = entry_status(ctx, one, now, Duration{0});
    } catch (const Error& e) {
      row.error = e.what();
    }
    row.facts = profile_facts(values);
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::json row_json(const ProfileRow& row, bool with_state, TimePoint now) {
  const auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  // "profile" as in `tok status --format json`, so that scripts read both the same way.
  nlohmann::json out = {{"name", row.name},
                        {"profile", row.name},
                        {"default", row.chosen},
                        {"provider", or_null(row.facts.provider)},
                        {"endpoint", or_null(row.facts.endpoint)},
                        {"client", or_null(row.facts.client)},
                        {"scopes", or_null(row.facts.scopes)},
                        {"error", or_null(row.error)}};
  if (with_state) {
    if (row.status) {
      out.update(row.status->json(now));
    } else {
      out["state"] = "misconfigured";
      out["usable"] = false;
    }
  }
  return out;
}

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

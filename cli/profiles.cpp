// tok profiles: the configured profiles, where their tokens come from, for whom and for what; no
// secrets (there are none in the file: secrets live in variables and files the profile names).
// A profile that does not resolve is listed with its error, so one typo does not hide the rest.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/session.hpp"
#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

void add_profiles_command(CLI::App& app, Session& session) {
  auto format = std::make_shared<std::string>("text");
  CLI::App* cmd = app.add_subcommand("profiles", "List the configured profiles: provider, endpoint, client, scopes");
  cmd->add_option("--format", *format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([&session, format] {
    session.run = [&session, format] {
      const auto config = load_config(session.options);
      const std::string chosen = session.profile_name();
      nlohmann::json list = nlohmann::json::array();
      if (!config) {
        session.warn(fmt::format("no config file at {}", config_path(session.options).string()));
      }
      for (const auto& section : config ? config->sections : std::vector<IniSection>{}) {
        // Resolved as `tok -p NAME` would, without this command line's key flags.
        GlobalOptions options = session.options;
        options.profile = section.name;
        options.key_flags.clear();
        std::string error;
        KeyValues values = section.values;
        try {
          values = resolve_profile(options, config).values;
        } catch (const Error& e) {
          error = e.what();
        }
        const ProfileFacts facts = profile_facts(values);
        const auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
        list.push_back({{"name", printable(section.name)},
                        {"default", section.name == chosen},
                        {"provider", or_null(facts.provider)},
                        {"endpoint", or_null(facts.endpoint)},
                        {"client", or_null(facts.client)},
                        {"scopes", or_null(facts.scopes)},
                        {"error", or_null(error)}});
      }
      if (*format == "json") {
        fmt::print("{}\n", nlohmann::json{{"json_version", 1},
                                          {"config", config ? nlohmann::json(config->path) : nlohmann::json(nullptr)},
                                          {"profiles", list}}
                               .dump(2));
        return 0;
      }
      for (const auto& p : list) {
        const auto text = [&](const char* key) { return p[key].is_null() ? std::string("-") : p[key].get<std::string>(); };
        fmt::print("{} {:<16} {:<16} {}\n", p["default"].get<bool>() ? '*' : ' ', text("name"),
                   p["provider"].is_null() ? "(no provider)" : text("provider"), text("endpoint"));
        if (!p["client"].is_null()) fmt::print("    client: {}\n", text("client"));
        if (!p["scopes"].is_null()) fmt::print("    scopes: {}\n", text("scopes"));
        if (!p["error"].is_null()) fmt::print("    error:  {}\n", text("error"));
      }
      return 0;
    };
  });
}

}  // namespace tok

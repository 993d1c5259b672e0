// tok status: what the cache holds for the profile, never the token itself.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/session.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace tok {

namespace {

std::string when(TimePoint t, TimePoint now) {
  const auto d = std::chrono::floor<std::chrono::seconds>(t - now);
  if (d.count() >= 0) return fmt::format("{} (in {})", format_rfc3339(t), format_duration(d));
  return fmt::format("{} ({} ago)", format_rfc3339(t), format_duration(-d));
}

}  // namespace

void add_status_command(CLI::App& app, Session& session) {
  auto format = std::make_shared<std::string>("text");
  CLI::App* cmd = app.add_subcommand("status", "Show the profile's cache entry: state, expiry, errors (never the token)");
  cmd->add_option("--format", *format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([&session, format] {
    session.run = [&session, format] {
      ProfileContext ctx(session);
      const auto read = ctx.store.read(ctx.profile.cache_key);
      if (read.warning) session.warn(*read.warning);
      const TimePoint now = ctx.clock.now();
      const CacheEntry entry = read.entry.value_or(CacheEntry{});
      const bool present = read.entry && entry.token;
      const std::string state = present ? to_string(state_of(entry, now, ctx.profile.engine)) : "missing";
      const auto cooldown = cooldown_until(entry, now);
      const bool cooling = cooldown.has_value();
      const std::string path = ctx.store.entry_path(ctx.profile.cache_key).string();
      const std::string provider = ctx.profile.values.at("provider");

      if (*format == "json") {
        nlohmann::json out;
        out["profile"] = ctx.profile.name;
        out["source"] = ctx.profile.source;
        out["provider"] = provider;
        out["cache_file"] = path;
        out["state"] = state;
        out["token_type"] = present ? nlohmann::json(entry.token->token_type) : nlohmann::json(nullptr);
        out["expires_at"] = present && entry.token->expiry ? nlohmann::json(format_rfc3339(*entry.token->expiry)) : nullptr;
        out["stale_after"] = entry.stale_after ? nlohmann::json(format_rfc3339(*entry.stale_after)) : nullptr;
        out["generation"] = entry.generation;
        out["last_error"] = entry.last_error ? nlohmann::json{{"message", entry.last_error->message},
                                                               {"at", format_rfc3339(entry.last_error->at)}}
                                             : nlohmann::json(nullptr);
        out["cooldown_until"] = cooling ? nlohmann::json(format_rfc3339(*cooldown)) : nullptr;
        fmt::print("{}\n", out.dump(2));
        return 0;
      }
      fmt::print("profile:      {} ({})\n", ctx.profile.name, ctx.profile.source);
      fmt::print("provider:     {}\n", provider);
      fmt::print("cache entry:  {}\n", path);
      fmt::print("state:        {}\n", state);
      if (present) {
        fmt::print("token type:   {}\n", entry.token->token_type);
        fmt::print("expires:      {}\n", entry.token->expiry ? when(*entry.token->expiry, now) : "never");
        if (entry.stale_after) fmt::print("stale after:  {}\n", when(*entry.stale_after, now));
        fmt::print("generation:   {}\n", entry.generation);
      }
      if (entry.last_error) {
        fmt::print("last background error: {}: {}\n", when(entry.last_error->at, now), entry.last_error->message);
      }
      if (cooling) fmt::print("cooldown:     no background refresh before {}\n", when(*cooldown, now));
      return 0;
    };
  });
}

}  // namespace tok

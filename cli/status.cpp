// tok status: what the cache holds for the profile, never the token itself. The state is the
// truth: a token whose background refresh fails is STALE even while the cooldown holds the next
// attempt back (the cooldown moves the entry's stale_after, so state_of alone would say FRESH).
// A blocking refresh that failed with unavailability answers callers for a while (the failure
// cache): then the refresh is "failing" too, and the next attempt is when that ends.
// `--check`: the exit status says whether `tok get` would answer from the cache without fetching.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/session.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"

namespace tok {

namespace {

std::string when(TimePoint t, TimePoint now) {
  const auto d = std::chrono::floor<std::chrono::seconds>(t - now);
  if (d.count() >= 0) return fmt::format("{} (in {})", format_rfc3339(t), format_duration(d));
  return fmt::format("{} ({} ago)", format_rfc3339(t), format_duration(-d));
}

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

// Exit status of `tok status --check` when no usable token is cached (documented in --help).
constexpr int kNoUsableToken = 6;

void add_status_command(CLI::App& app, Session& session) {
  struct Flags {
    std::string format = "text";
    bool check = false;
    std::optional<std::string> min_valid;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("status", "Show the profile's cache entry: state, expiry, errors (never the token)");
  cmd->add_option("--format", flags->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--check", flags->check,
                "Exit 0 if 'tok get' would answer from the cache (fresh or stale), else 6; fetches nothing");
  cmd->add_option("--min-valid", flags->min_valid, "With --check: the token must also stay valid this long");
  cmd->callback([&session, flags] {
    session.run = [&session, flags] {
      Duration min_valid{0};
      if (flags->min_valid) min_valid = parse_duration_or_throw(*flags->min_valid, "--min-valid", ZeroIs::none);
      ProfileContext ctx(session);
      const auto read = ctx.store.read(ctx.profile.cache_key);
      if (read.warning) session.warn(*read.warning);
      const TimePoint now = ctx.clock.now();
      const CacheEntry entry = read.entry.value_or(CacheEntry{});
      const bool present = read.entry && entry.token;
      const auto background_cooldown = cooldown_until(entry, now);
      // The failure a blocking refresh left (in the entry's lock file), while it answers callers.
      std::optional<BackgroundError> kept_failure;
      std::optional<TimePoint> kept_until;
      if (const auto failure = ctx.store.read_failure(ctx.profile.cache_key);
          failure && failure_answers(failure->at, failure->until, now)) {
        kept_failure = BackgroundError{failure->message, failure->at};
        kept_until = failure->until;
      }
      const auto cooldown = background_cooldown ? background_cooldown : kept_until;
      std::optional<BackgroundError> last_error = entry.last_error;
      if (kept_failure && (!last_error || last_error->at <= kept_failure->at)) last_error = kept_failure;
      TokenState token_state = TokenState::expired;
      std::string state = "missing";
      if (present) {
        token_state = state_of(entry, now, ctx.profile.engine, min_valid);
        // Only a stale token is refreshed in the background, so one whose refresh failed and
        // waits for its next attempt is stale, whatever the moved stale_after says.
        if (token_state == TokenState::fresh && background_cooldown) token_state = TokenState::stale;
        state = to_string(token_state);
      }
      const bool usable = present && token_state != TokenState::expired;
      const bool has_expiry = present && entry.token->expiry.has_value();
      const TimePoint expiry_at = has_expiry ? *entry.token->expiry : TimePoint{};
      const std::string path = ctx.store.entry_path(ctx.profile.cache_key).string();
      const ProfileFacts facts = profile_facts(ctx.profile.values);
      const int code = flags->check && !usable ? kNoUsableToken : 0;

      if (flags->format == "json") {
        nlohmann::json out;
        out["json_version"] = 1;
        out["profile"] = session.label();
        out["source"] = ctx.profile.source;
        out["provider"] = facts.provider;
        out["endpoint"] = or_null(facts.endpoint);
        out["client"] = or_null(facts.client);
        out["scopes"] = or_null(facts.scopes);
        out["cache_file"] = path;
        out["state"] = state;
        out["usable"] = usable;
        out["token_type"] = present ? nlohmann::json(entry.token->token_type) : nlohmann::json(nullptr);
        out["expires_at"] = has_expiry ? nlohmann::json(format_rfc3339(expiry_at)) : nullptr;
        out["expires_in"] = has_expiry ? nlohmann::json(std::chrono::floor<std::chrono::seconds>(expiry_at - now).count())
                                   : nlohmann::json(nullptr);
        out["stale_after"] =
            entry.stale_after && !background_cooldown ? nlohmann::json(format_rfc3339(*entry.stale_after)) : nullptr;
        out["generation"] = entry.generation;
        out["refresh"] = !present ? "none" : cooldown ? "failing" : "ok";
        out["last_error"] =
            last_error ? nlohmann::json{{"message", last_error->message}, {"at", format_rfc3339(last_error->at)}}
                       : nlohmann::json(nullptr);
        out["next_attempt"] = cooldown ? nlohmann::json(format_rfc3339(*cooldown)) : nullptr;
        fmt::print("{}\n", out.dump(2));
        return code;
      }
      fmt::print("profile:      {} ({})\n", session.label(), ctx.profile.source);
      fmt::print("provider:     {}\n", facts.provider);
      if (!facts.endpoint.empty()) fmt::print("endpoint:     {}\n", facts.endpoint);
      if (!facts.client.empty()) fmt::print("client:       {}\n", facts.client);
      if (!facts.scopes.empty()) fmt::print("scopes:       {}\n", facts.scopes);
      fmt::print("cache entry:  {}\n", path);
      fmt::print("state:        {}{}\n", state,
                 background_cooldown ? " (its background refresh is failing)"
                 : kept_until        ? " (failing: the token service is unavailable)"
                                     : "");
      if (present) {
        fmt::print("token type:   {}\n", entry.token->token_type);
        fmt::print("expires:      {}\n", has_expiry ? when(expiry_at, now) : "never");
        if (entry.stale_after && !background_cooldown) fmt::print("stale after:  {}\n", when(*entry.stale_after, now));
        fmt::print("generation:   {}\n", entry.generation);
      }
      if (last_error) fmt::print("last error:   {}: {}\n", when(last_error->at, now), last_error->message);
      if (cooldown) fmt::print("next attempt: {}\n", when(*cooldown, now));
      return code;
    };
  });
}

}  // namespace tok

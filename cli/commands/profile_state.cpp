// What the cache says of a profile, shared by `tok status` and `tok profiles --state`: its
// entry's state (never the token, never fetched) and the one row per configured profile.
#include "cli/commands/profile_state.hpp"

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"
#include "providers/http.hpp"
#include "providers/oauth.hpp"

namespace tok {

std::string format_when(TimePoint t, TimePoint now) {
  const auto d = std::chrono::floor<std::chrono::seconds>(t - now);
  if (d.count() >= 0) return fmt::format("{} (in {})", format_rfc3339(t), format_duration(d));
  return fmt::format("{} ({} ago)", format_rfc3339(t), format_duration(-d));
}

// "in 9m59s" or "3m ago", for the one-line view.
std::string format_relative(TimePoint t, TimePoint now) {
  const auto d = std::chrono::floor<std::chrono::seconds>(t - now);
  return d.count() >= 0 ? "in " + format_duration(d) : format_duration(-d) + " ago";
}

EntryStatus entry_status(ProfileContext& ctx, const Session& session, TimePoint now, Duration min_valid) {
  const auto read = ctx.store.read(ctx.profile.cache_key);
  if (read.warning) session.warn(*read.warning);
  const CacheEntry entry = read.entry.value_or(CacheEntry{});
  const bool present = read.entry && entry.token;
  const auto cooldown = cooldown_until(entry, now);
  EntryStatus out;
  out.cache_file = ctx.store.entry_path(ctx.profile.cache_key).string();
  out.state = "missing";
  out.login_profile = is_login(ProviderSettings(ctx.profile.values));
  if (present) {
    const TokenState token_state = state_of(entry, now, ctx.profile.engine, Duration{0});
    out.state = to_string(token_state);
    // --min-valid asks more of a valid token: it is not usable then, and still not expired.
    out.usable = token_state != TokenState::expired &&
                 state_of(entry, now, ctx.profile.engine, min_valid) != TokenState::expired;
    out.token_type = entry.token->token_type;
    out.expiry = entry.token->expiry;
  }
  out.stale_after = entry.stale_after;
  out.generation = entry.generation;
  out.failing = present && cooldown.has_value();
  out.last_error = entry.last_error;
  out.next_attempt = cooldown;
  if (const auto since = entry.memo.find("login_since"); present && since != entry.memo.end()) {
    const auto subject = entry.memo.find("login_subject");
    out.login = EntryStatus::Login{subject != entry.memo.end() ? printable(subject->second) : std::string(),
                                   printable(since->second), carries_refresh_token(entry)};
  }
  if (const auto id = entry.memo.find("github_installation_id");
      id != entry.memo.end() || entry.memo.count("github_permissions") != 0) {
    const auto memo = [&](const char* key) {
      const auto it = entry.memo.find(key);
      return it == entry.memo.end() ? std::string() : printable(it->second);
    };
    out.github = EntryStatus::Github{memo("github_installation_id"), memo("github_permissions"),
                                     memo("github_repository_selection")};
  }
  // The failure a blocking refresh left (in the entry's lock file), while it answers callers.
  if (const auto failure = ctx.store.read_failure(ctx.profile.cache_key);
      failure && failure_answers(failure->at, failure->until, now)) {
    out.outage_kept = true;
    if (!out.last_error || out.last_error->at <= failure->at) out.last_error = BackgroundError{failure->message, failure->at};
    if (!out.next_attempt) out.next_attempt = failure->until;
  }
  return out;
}

std::string EntryStatus::state_text() const {
  return state == "missing" && login_profile ? std::string("not logged in") : state;
}

nlohmann::json EntryStatus::json(TimePoint now) const {
  const auto time = [](const std::optional<TimePoint>& t) { return t ? nlohmann::json(format_rfc3339(*t)) : nullptr; };
  nlohmann::json out;
  out["cache_file"] = cache_file;
  out["state"] = state;
  out["usable"] = usable;
  out["token_type"] = token_type ? nlohmann::json(*token_type) : nlohmann::json(nullptr);
  out["expires_at"] = time(expiry);
  out["expires_in"] =
      expiry ? nlohmann::json(std::chrono::floor<std::chrono::seconds>(*expiry - now).count()) : nlohmann::json(nullptr);
  out["stale_after"] = time(stale_after);
  out["generation"] = generation;
  out["refresh"] = !token_type ? "none" : failing || outage_kept ? "failing" : "ok";
  out["last_error"] = last_error ? nlohmann::json{{"message", last_error->message}, {"at", format_rfc3339(last_error->at)}}
                                 : nlohmann::json(nullptr);
  out["next_attempt"] = time(next_attempt);
  if (login) {
    out["login"] = {{"subject", login->subject.empty() ? nlohmann::json(nullptr) : nlohmann::json(login->subject)},
                    {"since", login->since},
                    {"refresh_token", login->refresh_token}};
  } else if (login_profile && state == "missing") {
    out["login"] = nullptr;  // a login profile nobody is logged in to
  }
  if (github) {
    const auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
    out["github"] = {{"installation_id", or_null(github->installation_id)},
                     {"permissions", or_null(github->permissions)},
                     {"repository_selection", or_null(github->repository_selection)}};
  }
  return out;
}

void print_state_lines(const std::vector<ProfileRow>& rows, TimePoint now) {
  fmt::print("  {:<16} {:<16} {:<13} {:<14} {:<14} {}\n", "PROFILE", "PROVIDER", "STATE", "EXPIRES", "NEXT ATTEMPT",
             "LAST ERROR");
  for (const auto& row : rows) {
    const auto or_dash = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
    std::string state = "misconfigured";
    std::string expires = "-";
    std::string next = "-";
    std::string problem = row.error;
    if (row.status) {
      const EntryStatus& s = *row.status;
      state = s.state_text();
      if (s.expiry) {
        expires = format_relative(*s.expiry, now);
      } else if (s.token_type) {
        expires = "never";
      }
      if (s.next_attempt) next = format_relative(*s.next_attempt, now);
      if (s.last_error) problem = s.last_error->message;
    } else if (row.error.empty()) {
      state = "unknown";
    }
    fmt::print("{} {:<16} {:<16} {:<13} {:<14} {:<14} {}\n", row.chosen ? '*' : ' ', row.name,
               or_dash(row.facts.provider), state, expires, next, or_dash(problem));
  }
}

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

}  // namespace tok

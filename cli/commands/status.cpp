// tok status: what the cache holds for the profile, never the token itself: its state, when it
// goes stale and, while a failed background refresh's cooldown holds the next attempt back, when
// that attempt comes (the entry keeps both, docs/design.md "Cooldown"). A blocking refresh that
// failed with unavailability answers callers for a while (the failure cache): then the refresh
// is "failing" too, and the next attempt is when that ends.
// `--check`: the exit status says whether `tok get` would answer from the cache without fetching.
// `--all`: one line per profile. `--claims`: a JWT's header and claims, decoded, never verified.
#include "cli/commands/profile_state.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/claims.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"
#include "providers/http.hpp"
#include "providers/oauth.hpp"

namespace tok {

namespace {

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

// A claim that is an instant (exp, iat, nbf) with its date; others as they are.
std::string claim_text(const std::string& key, const nlohmann::json& value, TimePoint now) {
  if ((key == "exp" || key == "iat" || key == "nbf") && value.is_number_integer()) {
    const auto seconds = value.get<std::int64_t>();
    if (seconds > 0 && seconds < 7'258'118'400) {  // before 2200: a date worth printing
      return fmt::format("{} = {}", seconds, format_when(TimePoint(std::chrono::seconds(seconds)), now));
    }
  }
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(item.is_string() ? item.get<std::string>() : item.dump());
    return fmt::format("{}", fmt::join(items, " "));
  }
  return value.dump();
}

nlohmann::json claims_json(const std::optional<CacheEntry>& entry) {
  if (!entry || !entry->token) return nullptr;
  const TokenClaims c = decode_claims(entry->token->access_token);
  nlohmann::json out = {{"verified", false}, {"format", c.jwt ? "jwt" : "opaque"}};
  if (c.jwt) {
    out["header"] = c.header;
    out["claims"] = c.claims;
  } else {
    out["note"] = c.why_not;
  }
  return out;
}

void print_claims(const nlohmann::json& claims, TimePoint now) {
  if (claims.is_null()) {
    fmt::print("claims:       none (no token cached)\n");
    return;
  }
  if (claims["format"] != "jwt") {
    fmt::print("claims:       none: {}\n", claims["note"].get<std::string>());
    return;
  }
  fmt::print("claims:       UNVERIFIED: decoded from the cached JWT, signature not checked\n");
  const auto print_part = [&](const nlohmann::json& part, const auto& fields) {
    for (const char* key : fields) {
      if (part.contains(key)) fmt::print("  {:<11} {}\n", std::string(key) + ":", claim_text(key, part[key], now));
    }
  };
  print_part(claims["header"], kHeaderFields);
  print_part(claims["claims"], kClaimFields);
}

// The one line of `tok status --check`: what --check decided, and why.
std::string check_line(const EntryStatus& status, const std::string& label, Duration min_valid, TimePoint now) {
  const std::string expires =
      status.expiry ? "expires " + format_relative(*status.expiry, now) : std::string("no expiry");
  if (status.usable) {
    return fmt::format("{}: {}{}, {}", label, status.state,
                       status.failing || status.outage_kept ? " (its refresh is failing)" : "", expires);
  }
  if (status.state == "fresh" || status.state == "stale") {
    return fmt::format("{}: valid, but less than {} left ({})", label, format_duration(min_valid), expires);
  }
  if (status.state == "expired") {
    if (status.expiry && *status.expiry > now) {
      return fmt::format("{}: expired: {}, within its expiry_buffer (tok get fetches a new one)", label, expires);
    }
    return fmt::format("{}: expired{}", label,
                       status.expiry ? " " + format_relative(*status.expiry, now) : std::string());
  }
  if (status.login_profile) return fmt::format("{}: not logged in: run tok login -p {}", label, label);
  return fmt::format("{}: no token cached", label);
}

}  // namespace

struct StatusFlags {
  std::string format = "text";
  bool check = false;
  bool all = false;
  bool claims = false;
  std::optional<std::string> min_valid;
};

int run_status(Session& session, const StatusFlags& flags) {
  Duration min_valid{0};
  if (flags.min_valid) min_valid = parse_duration_or_throw(*flags.min_valid, "--min-valid", ZeroIs::none);
  if (flags.all) {
    if (flags.check || flags.claims) {
      throw Error(ErrorKind::usage, "--all shows every profile's state; --check and --claims take one profile");
    }
    const auto rows = profile_rows(session, true);
    const TimePoint now = session.world().now();
    if (flags.format == "json") {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& row : rows) list.push_back(row_json(row, true, now));
      fmt::print("{}\n", nlohmann::json{{"json_version", 1}, {"config", config_path(session.options).string()},
                                        {"profiles", list}}
                             .dump(2));
    } else {
      print_state_lines(rows, now);
    }
    return 0;
  }
  ProfileContext ctx(session);
  const TimePoint now = ctx.clock.now();
  const EntryStatus status = entry_status(ctx, session, now, min_valid);
  const bool usable = status.usable;
  const ProfileFacts facts = profile_facts(ctx.profile.values);
  const int code = flags.check && !usable ? kExitNoUsableToken : 0;
  nlohmann::json claims;
  if (flags.claims) claims = claims_json(ctx.store.read(ctx.profile.cache_key).entry);

  if (flags.format == "json") {
    nlohmann::json out;
    out["json_version"] = 1;
    out["profile"] = session.label();
    out["source"] = ctx.profile.source;
    out["provider"] = facts.provider;
    out["endpoint"] = or_null(facts.endpoint);
    out["client"] = or_null(facts.client);
    out["scopes"] = or_null(facts.scopes);
    out.update(status.json(now));
    if (flags.claims) out["claims"] = claims;
    fmt::print("{}\n", out.dump(2));
    return code;
  }
  if (flags.check) {
    fmt::print("{}\n", check_line(status, session.label(), min_valid, now));
    return code;
  }
  fmt::print("profile:      {} ({})\n", session.label(), ctx.profile.source);
  fmt::print("provider:     {}\n", facts.provider);
  if (!facts.endpoint.empty()) fmt::print("endpoint:     {}\n", facts.endpoint);
  if (!facts.client.empty()) fmt::print("client:       {}\n", facts.client);
  if (!facts.scopes.empty()) fmt::print("scopes:       {}\n", facts.scopes);
  fmt::print("cache entry:  {}\n", status.cache_file);
  const bool short_of_min_valid = !status.usable && (status.state == "fresh" || status.state == "stale");
  std::string state_note;
  if (status.failing) {
    state_note = " (its background refresh is failing)";
  } else if (status.outage_kept) {
    state_note = " (failing: the token service is unavailable)";
  } else if (short_of_min_valid) {
    state_note = fmt::format(" (valid, but less than {} left)", format_duration(min_valid));
  } else if (status.state == "missing" && status.login_profile) {
    state_note = fmt::format(" (run tok login -p {})", session.label());
  }
  fmt::print("state:        {}{}\n", status.state_text(), state_note);
  if (status.token_type) {
    fmt::print("token type:   {}\n", *status.token_type);
    fmt::print("expires:      {}\n", status.expiry ? format_when(*status.expiry, now) : "never");
    if (status.stale_after) fmt::print("stale after:  {}\n", format_when(*status.stale_after, now));
    fmt::print("generation:   {}\n", status.generation);
  }
  if (status.login) {
    fmt::print("login:        {}since {}{}\n", status.login->subject.empty() ? "" : status.login->subject + " ",
               status.login->since,
               status.login->refresh_token ? " (refresh token kept)"
                                           : fmt::format(" (no refresh token: run tok login -p {})", session.label()));
  }
  if (status.github) {
    if (!status.github->installation_id.empty()) fmt::print("installation: {}\n", status.github->installation_id);
    if (!status.github->permissions.empty() || !status.github->repository_selection.empty()) {
      fmt::print("granted:      {}{}\n", status.github->permissions.empty() ? "-" : status.github->permissions,
                 status.github->repository_selection.empty()
                     ? ""
                     : fmt::format(" (repositories: {})", status.github->repository_selection));
    }
  }
  if (status.last_error) {
    fmt::print("last error:   {}: {}\n", format_when(status.last_error->at, now), status.last_error->message);
  }
  if (status.next_attempt) fmt::print("next attempt: {}\n", format_when(*status.next_attempt, now));
  if (flags.claims) print_claims(claims, now);
  return code;
}

void add_status_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<StatusFlags>();
  CLI::App* cmd = app.add_subcommand("status", "Show the profile's cache entry: state, expiry, errors (never the token)");
  cmd->add_option("--format", flags->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--check", flags->check,
                "One line; exit 0 if 'tok get' would answer from the cache (fresh or stale), else 6; fetches nothing");
  cmd->add_option("--min-valid", flags->min_valid, "With --check: the token must also stay valid this long");
  cmd->add_flag("--all", flags->all, "One line per profile: provider, state, expiry, next attempt, last error");
  cmd->add_flag("--claims", flags->claims,
                "Also the cached JWT's header and claims, decoded and NOT verified (never the token)");
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_status(session, *flags); };
  });
}

}  // namespace tok

#pragma once
// What the cache says of a profile, shared by `tok status` and `tok profiles --state` (so neither
// command calls the other): read from the cache entry, never fetched.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/session.hpp"

namespace tok {

// "2026-11-29T07:21:13Z (in 4s)" or "... (3m ago)".
std::string format_when(TimePoint t, TimePoint now);
// "in 9m59s" or "3m ago", for the one-line views.
std::string format_relative(TimePoint t, TimePoint now);

// The cache entry of a resolved profile at `now`. Never the token.
struct EntryStatus {
  std::string cache_file;
  std::string state;    // missing, fresh, stale, expired: the truth, whatever --min-valid asks
  bool usable = false;  // fresh or stale, and valid for --min-valid more
  // A person's login profile (docs/login.md): with no token cached it is "not logged in".
  bool login_profile = false;
  std::optional<std::string> token_type;  // set when a token is cached
  std::optional<TimePoint> expiry;
  std::optional<TimePoint> stale_after;
  std::uint64_t generation = 0;
  bool failing = false;  // its background refresh failed; the cooldown runs
  bool outage_kept = false;  // a blocking fetch failed with an outage, kept for failure_cache
  std::optional<BackgroundError> last_error;
  std::optional<TimePoint> next_attempt;  // the end of the cooldown (or of the kept failure)
  // A person's login (docs/login.md): who (from the ID token, when it named them), since when,
  // and whether a refresh token is kept. Never the refresh token itself.
  struct Login {
    std::string subject;  // printable; empty when unknown
    std::string since;    // RFC 3339
    bool refresh_token = false;
  };
  std::optional<Login> login;
  // A GitHub App's installation token (docs/github.md): the installation, the permissions granted
  // ("contents:read,metadata:read") and GitHub's repository_selection (all or selected).
  struct Github {
    std::string installation_id;
    std::string permissions;
    std::string repository_selection;
  };
  std::optional<Github> github;

  // As `tok status --format json` shows it (json_version 1).
  nlohmann::json json(TimePoint now) const;
  // The state as people read it: "not logged in" for a login profile with no token.
  std::string state_text() const;
};
EntryStatus entry_status(ProfileContext& ctx, const Session& session, TimePoint now, Duration min_valid);

// One profile of the config file, resolved on its own as `tok -p NAME` would be.
struct ProfileRow {
  std::string name;  // printable
  bool chosen = false;  // the profile a command without -p would use
  ProfileFacts facts;
  std::string error;  // why it does not resolve (misconfigured); empty: it does
  std::optional<EntryStatus> status;  // with_state, when it resolves and its entry could be read
};
// Every profile of the config file (none without one, with a warning). One broken profile never
// hides the others.
std::vector<ProfileRow> profile_rows(const Session& session, bool with_state);
// name, default, provider, endpoint, client, scopes, error; with a status, its fields too (state
// "misconfigured" when the profile does not resolve).
nlohmann::json row_json(const ProfileRow& row, bool with_state, TimePoint now);

// One line per profile: name, provider, state, expiry, next attempt, last error (or why the
// profile is misconfigured).
void print_state_lines(const std::vector<ProfileRow>& rows, TimePoint now);

}  // namespace tok

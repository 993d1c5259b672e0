#include "cli/session.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "core/error.hpp"

namespace tok {

void Session::warn(std::string_view message) const {
  if (options.quiet) return;
  fmt::print(stderr, "tok: {}: warning: {}\n", profile_name(), message);
}

void Session::verbose(std::string_view message) const {
  if (options.verbose && !options.quiet) fmt::print(stderr, "tok: {}: {}\n", profile_name(), message);
}

ProfileContext::ProfileContext(const Session& session)
    : profile(resolve_profile(session.options)), store(cache_dir(session.options)) {}

ProfileContext::ProfileContext(const Session& session, const std::optional<IniFile>& config)
    : profile(resolve_profile(session.options, config)), store(cache_dir(session.options)) {}

DiskRefresher& ProfileContext::engine(const Session& session) {
  if (!engine_) {
    engine_.emplace(
        store, profile.cache_key, profile.engine, clock,
        [this](Deadline deadline, ProviderMemo& memo, FetchMode mode) { return profile.provider->fetch(deadline, memo, mode); },
        Diagnostics{[&session](const std::string& message) { session.warn(message); },
                    [&session](const std::string& message) { session.verbose(message); }});
  }
  return *engine_;
}

}  // namespace tok

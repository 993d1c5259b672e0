#include "cli/session.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "core/error.hpp"
#include "providers/http.hpp"

namespace tok {

std::string Session::label() const { return printable(profile_name()); }

void Session::warn(std::string_view message) const {
  if (options.quiet) return;
  fmt::print(stderr, "tok: {}: warning: {}\n", label(), message);
}

void Session::verbose(std::string_view message) const {
  if (options.verbose && !options.quiet) fmt::print(stderr, "tok: {}: {}\n", label(), message);
}

ProviderDeps Session::provider_deps() const {
  ProviderDeps deps;
  if (options.verbose && !options.quiet) deps.note = [this](const std::string& m) { verbose(m); };
  return deps;
}

ProfileContext::ProfileContext(const Session& session) : ProfileContext(session, load_config(session.options)) {}

ProfileContext::ProfileContext(const Session& session, const std::optional<IniFile>& config)
    : profile(resolve_profile(session.options, config, session.provider_deps())), store(cache_dir(session.options)) {
  for (const auto& warning : profile.warnings) session.warn(warning);
}

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

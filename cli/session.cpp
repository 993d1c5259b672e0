#include "cli/session.hpp"

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "providers/aws_credential.hpp"
#include "providers/http.hpp"

namespace tok {

std::string Session::label() const { return printable(profile_name()); }

void Session::warn(std::string_view message) const {
  if (options.quiet) return;
  const std::string line = fmt::format("tok: {}: warning: {}\n", label(), message);
  {
    const std::lock_guard<std::mutex> hold(warned_->mutex);
    if (!warned_->lines.insert(line).second) return;
  }
  fmt::print(stderr, "{}", line);
}

void Session::verbose(std::string_view message) const {
  if (options.verbose && !options.quiet) fmt::print(stderr, "tok: {}: {}\n", label(), message);
}

void add_freshness_flags(CLI::App& cmd, FreshnessFlags& flags) {
  cmd.add_flag("--force-refresh", flags.force_refresh, "Fetch a new token now, whatever the cache holds");
  cmd.add_option("--min-valid", flags.min_valid, "Refresh first unless the token stays valid this long (e.g. 10m)");
}

namespace {

// The duration parser quotes what it was given: from argv or the environment, that may hold a
// line break, so the message is made printable.
Duration min_valid_or_throw(std::string_view text, std::string_view what) {
  try {
    return parse_duration_or_throw(text, what, ZeroIs::none);
  } catch (const Error& e) {
    throw Error(e.kind(), printable(e.what()), e.advice());
  }
}

}  // namespace

GetOptions get_options(const FreshnessFlags& flags) {
  GetOptions options;
  options.force_refresh = flags.force_refresh;
  if (flags.min_valid) options.min_valid = min_valid_or_throw(*flags.min_valid, "--min-valid");
  return options;
}

GetOptions helper_get_options(const World& world) {
  GetOptions options;
  if (const char* v = world.env("TOK_MIN_VALID"); v != nullptr && *v != '\0') {
    options.min_valid = min_valid_or_throw(v, "$TOK_MIN_VALID");
  }
  return options;
}

const Token& bearer_token(const Token& token, std::string_view profile, std::string_view front_end) {
  if (is_aws_credential(token)) {
    throw Error(ErrorKind::usage,
                fmt::format("{}: profile '{}' holds an AWS credential, not a bearer token", front_end, profile),
                "AWS credentials go through tok get --format credential-process, tok env, tok exec or tok serve --aws-ecs");
  }
  return token;
}

ProviderDeps Session::provider_deps() const {
  ProviderDeps deps;
  deps.profile = profile_name();
  deps.cache_dir = cache_dir(options).string();
  deps.world = options.world;
  if (options.verbose && !options.quiet) deps.note = [this](const std::string& m) { verbose(m); };
  return deps;
}

ProfileContext::ProfileContext(const Session& session) : ProfileContext(session, load_config(session.options)) {}

ProfileContext::ProfileContext(const Session& session, const std::optional<IniFile>& config)
    : profile(resolve_profile(session.options, config, session.provider_deps())),
      store(cache_dir(session.options), session.world()),
      clock(session.world().clock()) {
  for (const auto& warning : profile.warnings) session.warn(warning);
}

Diagnostics Session::diagnostics() const {
  return Diagnostics{[this](const std::string& message) { warn(message); },
                     [this](const std::string& message) { verbose(message); }};
}

TokenService& ProfileContext::engine(const Session& session) {
  if (!engine_) engine_ = make_token_service(profile, store, session.world(), session.diagnostics());
  return *engine_;
}

}  // namespace tok

// tok clear: forget the profile's cached token, every cached token (--all), or the entries no
// profile of the config file uses any more (--unused: left behind when a profile's settings or
// name changed, or by ad-hoc --provider runs). An entry that holds a login's refresh token is
// never deleted here: that would leave the grant alive at the provider, and perhaps its refresh
// token in the keyring, with nothing to find them again. `tok logout` revokes, then removes it
// (docs/login.md).
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/session.hpp"
#include "core/error.hpp"
#include "core/refresh_flow.hpp"

namespace tok {

namespace {

// The cache keys of every profile in the config file, each resolved as `tok -p NAME` would (same
// environment). A profile that does not resolve stops everything: its entry cannot be told apart
// from litter, and removing it would lose a token.
std::set<std::string, std::less<>> keys_in_use(const Session& session) {
  const auto config = load_config(session.options);
  std::set<std::string, std::less<>> keys;
  if (!config) return keys;
  for (const auto& section : config->sections) {
    GlobalOptions options = session.options;
    options.profile = section.name;
    options.key_flags.clear();
    try {
      keys.insert(resolve_profile(options, config).cache_key);
    } catch (const Error& e) {
      throw Error(ErrorKind::usage, fmt::format("clear --unused: {}", e.what()),
                  "fix the profile first: nothing was removed, as its entry cannot be told from unused ones");
    }
  }
  return keys;
}

}  // namespace

struct ClearFlags {
  bool all = false;
  bool unused = false;
};

int run_clear(Session& session, const ClearFlags& flags) {
  std::set<std::string, std::less<>> logins;  // the entries kept because they hold a login
  const auto report = [&](CacheStore::Removed removed) {
    const std::size_t n = removed.entries;
    if (!session.options.quiet) fmt::print("removed {} cache {}\n", n, n == 1 ? "entry" : "entries");
    if (removed.busy > 0) {
      session.warn(fmt::format("kept {} {} whose refresh was still running after 5 s: run tok clear again",
                               removed.busy, removed.busy == 1 ? "entry" : "entries"));
    }
    if (!logins.empty()) {
      session.warn(
          fmt::format("kept {} {} holding a login's refresh token: tok logout -p PROFILE revokes a login "
                      "and removes its entry",
                      logins.size(), logins.size() == 1 ? "entry" : "entries"));
    }
  };
  const auto holds_login = [&](const CacheStore& store, std::string_view key) {
    const auto read = store.read(key);
    if (!read.entry || !carries_refresh_token(*read.entry)) return false;
    logins.emplace(key);
    return true;
  };
  if (flags.all) {
    const CacheStore store(cache_dir(session.options), session.world());
    report(store.remove_if([&](std::string_view key) { return logins.count(key) == 0 && !holds_login(store, key); }));
    return 0;
  }
  if (flags.unused) {
    const auto in_use = keys_in_use(session);
    const CacheStore store(cache_dir(session.options), session.world());
    // Unused by this config file's view only: a login made with another one (the global file,
    // beside a project's) is kept whatever this view says.
    report(store.remove_if([&](std::string_view key) {
      return in_use.count(key) == 0 && logins.count(key) == 0 && !holds_login(store, key);
    }));
    return 0;
  }
  ProfileContext ctx(session);
  if (const auto read = ctx.store.read(ctx.profile.cache_key); read.entry && carries_refresh_token(*read.entry)) {
    throw Error(ErrorKind::usage,
                fmt::format("{} holds a login: clearing it would keep its refresh token alive at the provider",
                            session.label()),
                fmt::format("tok logout -p {} revokes the login and removes the entry", ctx.profile.name));
  }
  const bool removed = ctx.engine(session).clear();
  if (!session.options.quiet) {
    fmt::print("{} {}\n", removed ? "removed" : "nothing cached for",
               removed ? ctx.store.entry_path(ctx.profile.cache_key).string() : session.label());
  }
  return 0;
}

void add_clear_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<ClearFlags>();
  CLI::App* cmd = app.add_subcommand("clear", "Delete the profile's cache entry (--all: every entry; --unused: those no profile uses)");
  auto* all = cmd->add_flag("--all", flags->all,
                            "Delete every cache entry, whatever its profile (a login's is kept: tok logout)");
  cmd->add_flag("--unused", flags->unused,
                "Delete the entries no profile of the config file uses (old settings, ad-hoc --provider runs; "
                "never a login's)")
      ->excludes(all);
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_clear(session, *flags); };
  });
}

}  // namespace tok

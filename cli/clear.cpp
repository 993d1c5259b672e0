// tok clear: forget the profile's cached token, every cached token (--all), or the entries no
// profile of the config file uses any more (--unused: left behind when a profile's settings or
// name changed, or by ad-hoc --provider runs).
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/session.hpp"
#include "core/error.hpp"

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
  const auto report = [&](CacheStore::Removed removed) {
    const std::size_t n = removed.entries;
    if (!session.options.quiet) fmt::print("removed {} cache {}\n", n, n == 1 ? "entry" : "entries");
    if (removed.busy > 0) {
      session.warn(fmt::format("kept {} {} whose refresh was still running after 5 s: run tok clear again",
                               removed.busy, removed.busy == 1 ? "entry" : "entries"));
    }
  };
  if (flags.all) {
    const CacheStore store(cache_dir(session.options), session.world());
    report(store.remove_all());
    return 0;
  }
  if (flags.unused) {
    const auto in_use = keys_in_use(session);
    const CacheStore store(cache_dir(session.options), session.world());
    report(store.remove_if([&](std::string_view key) { return in_use.count(key) == 0; }));
    return 0;
  }
  ProfileContext ctx(session);
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
  auto* all = cmd->add_flag("--all", flags->all, "Delete every cache entry, whatever its profile");
  cmd->add_flag("--unused", flags->unused,
                "Delete the entries no profile of the config file uses (old settings, ad-hoc --provider runs)")
      ->excludes(all);
  cmd->callback([&session, flags] {
    session.run = [&session, flags] { return run_clear(session, *flags); };
  });
}

}  // namespace tok

// tok clear: forget the profile's cached token (or every cached token).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/session.hpp"

namespace tok {

void add_clear_command(CLI::App& app, Session& session) {
  auto all = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("clear", "Delete the profile's cache entry (--all: every entry)");
  cmd->add_flag("--all", *all, "Delete every cache entry, whatever its profile");
  cmd->callback([&session, all] {
    session.run = [&session, all] {
      if (*all) {
        const CacheStore store(cache_dir(session.options));
        const std::size_t n = store.remove_all();
        if (!session.options.quiet) fmt::print("removed {} cache {}\n", n, n == 1 ? "entry" : "entries");
        return 0;
      }
      ProfileContext ctx(session);
      const bool removed = ctx.engine(session).clear();
      if (!session.options.quiet) {
        fmt::print("{} {}\n", removed ? "removed" : "nothing cached for",
                   removed ? ctx.store.entry_path(ctx.profile.cache_key).string() : ctx.profile.name);
      }
      return 0;
    };
  });
}

}  // namespace tok

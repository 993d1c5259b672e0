// tok refresh: a blocking refresh now, whatever the cache holds.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/session.hpp"
#include "core/time_format.hpp"

namespace tok {

int run_refresh(Session& session) {
  ProfileContext ctx(session);
  GetOptions options;
  options.force_refresh = true;
  const GetResult result = ctx.engine(session).get(options);
  if (!session.options.quiet) {
    fmt::print("refreshed {}: token expires {}\n", ctx.profile.name,
               result.token.expiry ? format_rfc3339(*result.token.expiry) : std::string("never"));
  }
  return 0;
}

void add_refresh_command(CLI::App& app, Session& session) {
  CLI::App* cmd = app.add_subcommand("refresh", "Fetch a new token now and cache it (prints nothing but its expiry)");
  cmd->callback([&session] {
    session.run = [&session] { return run_refresh(session); };
  });
}

}  // namespace tok

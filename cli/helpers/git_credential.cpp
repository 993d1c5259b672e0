// tok git-credential get|store|erase: git's credential-helper protocol (docs/integrations.md).
// git runs the helper with the operation as its last argument and the request on stdin; it takes
// silence as "ask the next helper", so tok says nothing about hosts it does not serve.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/helpers/credential_input.hpp"
#include "cli/helpers/helper_match.hpp"
#include "cli/session.hpp"
#include "providers/http.hpp"

namespace tok {

namespace {

// With -p the profile is chosen, not matched, but a token still goes out over plain http only
// where the profile's git_hosts has an `http://` entry for that host, or the host is loopback.
bool git_profile_serves(const KeyValues& values, const GitCredentialRequest& request) {
  if (request.protocol != "http") return true;
  const auto address = read_host_port(request.host);
  if (!address) return false;
  if (is_loopback(*address)) return true;
  const auto hosts = values.find("git_hosts");
  for (const std::string& entry : split_list(hosts == values.end() ? std::string() : hosts->second)) {
    const HelperEntry e = read_helper_entry(entry);  // checked by resolve_profile
    if (e.scheme == "http" && e.address == *address) return true;
  }
  return false;
}

}  // namespace

int run_git_credential(Session& session, const std::string& operation) {
  const std::string& op = operation;
  // Operations git may add later are not ours to refuse.
  if (op != "get" && op != "store" && op != "erase") return 0;
  const bool given = session.profile_given();
  if (!given) session.subject = "git-credential";
  const GitCredentialRequest request = parse_git_credential(read_git_request_from_stdin());
  if (op == "store") return 0;  // the token comes from the provider: nothing to keep
  // What tok read, for tests comparing it with git's reading (never the user or password).
  session.verbose(fmt::format("request: protocol '{}' host '{}' path '{}'", printable(request.protocol),
                              printable(request.host), printable(request.path)));
  // git also asks helpers for other secrets (protocol=cert: a certificate's passphrase).
  if (!request.protocol.empty() && request.protocol != "https" && request.protocol != "http") return 0;
  // Read once: for matching, then for the profile it names.
  const auto config = load_config(session.options);
  if (!given) {
    const auto name =
        config ? find_git_profile(*config, request.protocol, request.host, request.path) : std::nullopt;
    if (!name) {
      session.verbose("no profile's git_hosts matches the request: leaving it to git's next helper");
      return 0;
    }
    session.options.profile = *name;
    session.subject.clear();
  }
  ProfileContext ctx(session, config);
  if (op == "erase") {
    // git erases what the server rejected. Only that very token is expired: a password from
    // another helper, or a token already replaced, leaves the cache alone.
    if (!request.password.empty() && ctx.engine(session).expire(request.password)) {
      session.verbose("the rejected token was the cached one: marked expired");
    }
    return 0;
  }
  if (!git_profile_serves(ctx.profile.values, request)) {
    session.verbose("no http:// entry in git_hosts for this host: no token over plain http");
    return 0;
  }
  const GetResult result = ctx.engine(session).get(helper_get_options(session.world()));
  const Token& token = bearer_token(result.token, ctx.profile.name, "git-credential");
  fmt::print("{}", git_answer(value_or_default(ctx.profile.values, "git_username"), token.access_token, token.expiry));
  return 0;
}

void add_git_credential_command(CLI::App& app, Session& session) {
  auto operation = std::make_shared<std::string>();
  CLI::App* cmd = add_git_credential_subcommand(app, *operation);
  cmd->callback([&session, operation] {
    session.run = [&session, operation] { return run_git_credential(session, *operation); };
  });
}

}  // namespace tok

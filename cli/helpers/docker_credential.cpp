// Docker's credential-helper protocol (docs/integrations.md): `docker-credential-tok ACTION` (tok
// installed under that name, a symlink) and `tok docker-credential ACTION`. Docker reads the
// helper's stdout for answers and for errors alike: an error is plain text on stdout with exit 1,
// and "credentials not found in native keychain" is the one text Docker treats as "none here".
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/helpers/credential_input.hpp"
#include "cli/helpers/helper_match.hpp"
#include "cli/session.hpp"
#include "core/error.hpp"

#ifndef TOK_VERSION
#define TOK_VERSION "0.0.0"
#endif

namespace tok {

namespace {

constexpr std::string_view kNotFound = "credentials not found in native keychain";
constexpr std::string_view kUsage = "Usage: docker-credential-tok <store|get|erase|list|version>";

std::string trimmed(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

RegistryUrl address_or_throw(std::string_view url) {
  if (url.empty()) throw Error(ErrorKind::usage, "no credentials server URL");
  auto address = read_registry_url(url);
  if (!address) throw Error(ErrorKind::usage, "malformed input: the server URL is not a registry address");
  return std::move(*address);
}

// Chooses the profile for `address`: -p when given, else the first whose docker_registries
// names it. False when none does.
bool choose_profile(Session& session, const std::optional<IniFile>& config, const RegistryUrl& address) {
  if (session.profile_given()) {
    // Chosen, not matched: still no token in clear over http but for loopback (as for git).
    return address.scheme != "http" || is_loopback(address.address);
  }
  const auto name = config ? find_docker_profile(*config, address) : std::nullopt;
  if (!name) return false;
  session.options.profile = *name;
  session.subject.clear();
  return true;
}

int docker_action(Session& session, std::string_view action) {
  if (action == "version") {
    fmt::print("docker-credential-tok (tok) " TOK_VERSION "\n");
    return 0;
  }
  if (action == "list") {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    if (const auto config = load_config(session.options)) {
      for (const auto& [registry, user] : docker_registry_users(*config)) {
        if (!out.contains(registry)) out[registry] = user;
      }
    }
    fmt::print("{}\n", out.dump());
    return 0;
  }
  if (action == "store") {
    const DockerStoreRequest request = parse_docker_store(read_stdin(kDockerInputMax));
    if (choose_profile(session, load_config(session.options), address_or_throw(request.server_url))) {
      return 0;  // tok's own: nothing to keep
    }
    throw Error(ErrorKind::usage, "tok does not store credentials, and no profile's docker_registries names this registry");
  }
  if (action == "get" || action == "erase") {
    const std::string url = trimmed(read_stdin(kDockerInputMax));
    const RegistryUrl address = address_or_throw(url);
    const auto config = load_config(session.options);  // read once: matching, then the profile
    if (!choose_profile(session, config, address)) {
      fmt::print("{}\n", kNotFound);
      return kExitDockerHelperFailure;
    }
    ProfileContext ctx(session, config);
    if (action == "erase") {
      // Docker sends no secret with erase (`docker logout`): the cached token goes, whatever it is.
      if (ctx.engine(session).expire()) session.verbose("marked the cached token expired");
      return 0;
    }
    const GetResult result = ctx.engine(session).get(helper_get_options(session.world()));
    fmt::print("{}", docker_answer(url, value_or_default(ctx.profile.values, "docker_username"),
                                   bearer_token(result.token, ctx.profile.name, "docker-credential").access_token));
    return 0;
  }
  throw Error(ErrorKind::usage, "unknown action (expected store, get, erase, list or version)");
}

int run_docker_action(Session& session, std::string_view action) {
  if (!session.profile_given()) session.subject = "docker-credential";
  int code = kExitDockerHelperFailure;
  try {
    code = docker_action(session, action);
  } catch (const Error& e) {
    fmt::print("tok: {}: {}\n", session.label(), e.what());
    if (!e.advice().empty()) fmt::print("tok: hint: {}\n", e.advice());
    code = kExitDockerHelperFailure;
  } catch (const std::exception& e) {
    fmt::print("tok: {}: internal error: {}\n", session.label(), e.what());
    code = kExitDockerHelperFailure;
  }
  return code;
}

}  // namespace

void add_docker_credential_command(CLI::App& app, Session& session) {
  auto action = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "docker-credential", "Docker credential helper: get, store, erase, list or version (also as docker-credential-tok)");
  cmd->add_option("action", *action, "get, store, erase, list or version")->required();
  cmd->callback([&session, action] {
    session.run = [&session, action] { return run_docker_action(session, *action); };
  });
}

int docker_credential_main(int argc, char** argv) {
  Session session;
  // Docker runs the helper with exactly one argument, the action; settings come from the
  // environment ($TOK_CONFIG, $TOK_CACHE_DIR, ...), as for any tok command.
  if (argc != 2) {
    fmt::print("{}\n", kUsage);
    return kExitDockerHelperFailure;
  }
  const std::string_view arg = argv[1];
  if (arg == "--version" || arg == "-v") return run_docker_action(session, "version");
  if (arg == "--help" || arg == "-h") {
    fmt::print("{}\n", kUsage);
    return 0;
  }
  const int code = run_docker_action(session, arg);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) return kExitDockerHelperFailure;
  return code;
}

}  // namespace tok

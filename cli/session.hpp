#pragma once
// What every command shares: the global options, diagnostics on stderr, and the profile with
// its provider, cache and engine, built only when a command asks for them.
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <string_view>

#include "cli/arguments.hpp"
#include "cli/config.hpp"
#include "cli/token_service.hpp"
#include "core/cache_store.hpp"
#include "core/refresher.hpp"
#include "providers/provider.hpp"

namespace CLI {
class App;
}

namespace tok {

struct Session {
  GlobalOptions options;
  std::function<int()> run;  // set by the chosen command's callback; main runs it
  // What messages name instead of the profile while there is none yet: a credential helper
  // choosing its profile by the host it is asked about ("git-credential").
  std::string subject;

  std::string profile_name() const { return subject.empty() ? tok::profile_name(options) : subject; }
  // The profile's name as messages print it: one line of printable characters, whatever
  // $TOK_PROFILE or the command line held (a newline there must not forge a second "tok:" line).
  std::string label() const;
  // A profile was named on the command line (-p, or --provider for an ad-hoc one): helpers then
  // answer with it instead of matching hosts.
  bool profile_given() const { return !options.profile.empty() || options.key_flags.count("provider") != 0; }
  // "tok: <profile>: warning: ..." on stderr unless --quiet; each message once per run (the
  // engine may read a damaged entry twice in one call).
  void warn(std::string_view message) const;
  // Diagnostics with --verbose only. Callers never pass tokens or secrets.
  void verbose(std::string_view message) const;
  // What providers are built with: -v notes, when verbose; the world.
  ProviderDeps provider_deps() const;
  // What the engine reports through: warn() and verbose().
  Diagnostics diagnostics() const;
  // Time, sleeping, randomness and the environment (core/world.hpp): options.world.
  const World& world() const { return *options.world; }

 private:
  // The lines warn() printed, shared by copies of the session (tok profiles resolves each
  // profile with one) and by tok serve's threads.
  struct Warned {
    std::mutex mutex;
    std::set<std::string, std::less<>> lines;
  };
  std::shared_ptr<Warned> warned_ = std::make_shared<Warned>();
};

// --min-valid and --force-refresh on the commands that hand a token on (exec, env,
// kube-credential): a long deploy asks for a token that outlives it. (tok get parses its own on
// the cache hit's fast path: cli/arguments.hpp.)
struct FreshnessFlags {
  bool force_refresh = false;
  std::optional<std::string> min_valid;
};
void add_freshness_flags(CLI::App& cmd, FreshnessFlags& flags);
GetOptions get_options(const FreshnessFlags& flags);
// The credential helpers take no flags from git or Docker: $TOK_MIN_VALID says it for them.
GetOptions helper_get_options(const World& world);
// What a front end that hands out bearer tokens (git, Docker, kubectl, tok serve's Databricks,
// Azure and GCP protocols) does with what the engine gave: an AWS credential is not a bearer
// token, and its access key id is no password: a usage error naming the profile and `front_end`.
const Token& bearer_token(const Token& token, std::string_view profile, std::string_view front_end);

// A resolved profile, ready to fetch.
struct ProfileContext {
  explicit ProfileContext(const Session& session);
  // With the config file the caller has already read (see resolve_profile).
  ProfileContext(const Session& session, const std::optional<IniFile>& config);
  Profile profile;
  CacheStore store;
  const Clock& clock;  // the session's world's
  // The profile's token service, from the composition root (cli/token_service.hpp).
  TokenService& engine(const Session& session);

 private:
  std::unique_ptr<TokenService> engine_;
};

// tok get itself: CLI11 fills its flags (add_get_command), or, for the plain forms a cache hit
// takes, main's fast path does (parse_plain_get).
int run_get(Session& session, const GetFlags& flags);
// What tok get prints (its line or JSON, with the newline); tok write puts it in a file.
std::string get_output(Session& session, const GetFlags& flags);
// Its pieces, for a caller that keeps one profile and engine (tok write --keep): the engine's
// options the flags ask for, and what tok get prints for an engine's answer.
GetOptions get_flags_options(const GetFlags& flags, const ProfileContext& ctx);
std::string format_get_result(Session& session, ProfileContext& ctx, const GetFlags& flags, const GetResult& result);
void add_write_command(CLI::App& app, Session& session);

// Each command adds itself to the app: its flags and its run function side by side.
void add_get_command(CLI::App& app, Session& session);
void add_status_command(CLI::App& app, Session& session);
void add_refresh_command(CLI::App& app, Session& session);
void add_clear_command(CLI::App& app, Session& session);
void add_profiles_command(CLI::App& app, Session& session);
void add_serve_command(CLI::App& app, Session& session);
void add_exec_command(CLI::App& app, Session& session);
void add_env_command(CLI::App& app, Session& session);
void add_git_credential_command(CLI::App& app, Session& session);
// `tok git-credential OP`, also run by main's fast path (cli/arguments.hpp).
int run_git_credential(Session& session, const std::string& operation);
void add_docker_credential_command(CLI::App& app, Session& session);
void add_kube_credential_command(CLI::App& app, Session& session);
void add_completion_command(CLI::App& app, Session& session);
void add_init_command(CLI::App& app, Session& session);
void add_login_command(CLI::App& app, Session& session);
void add_logout_command(CLI::App& app, Session& session);
void add_setup_command(CLI::App& app, Session& session);

// `docker-credential-tok ACTION`: the Docker helper protocol when tok runs under that name.
int docker_credential_main(int argc, char** argv);

}  // namespace tok

// tok login / tok logout: a person's login on a profile with grant = authorization_code or
// device_code (docs/login.md). The login itself is interactive and runs outside any lock; its
// result is committed like any refresh (under the entry's refresh lock, generation + 1), so
// callers that wait see it whole.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/claims.hpp"
#include "cli/http_server.hpp"
#include "cli/session.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/time_format.hpp"
#include "providers/base64.hpp"
#include "providers/http.hpp"
#include "providers/jws.hpp"
#include "providers/oauth.hpp"

namespace tok {

namespace {

struct LoginFlags {
  bool device = false;
  bool no_browser = false;
  std::string timeout = "5m";
};

// The one callback a browser login waits for (RFC 8252 7.3, on 127.0.0.1): the first one with
// our `state` ends the wait, with a code or with the issuer's error. Anything else (a wrong
// state: someone else's request; a second callback) is answered and changes nothing.
class Callback {
 public:
  explicit Callback(std::string state) : state_(std::move(state)) {}

  ServerResponse handle(const ServerRequest& request) {
    if (request.path != "/callback") return page(404, "Not found", "This is tok's login listener.");
    const std::lock_guard<std::mutex> hold(mutex_);
    if (done_) return page(409, "Already done", "This login has already finished. You can close this tab.");
    if (request.param("state") != state_) {
      return page(400, "Not this login",
                  "This answer does not belong to the login tok is waiting for; it was ignored.");
    }
    if (auto error = request.param("error")) {
      std::string message = fmt::format("the provider ended the login: {}", printable(error->substr(0, 100)));
      if (auto d = request.param("error_description")) message += ": " + printable(d->substr(0, 200));
      finish(std::nullopt, message);
      return page(200, "Login failed", "The provider did not log you in; tok says why. You can close this tab.");
    }
    auto code = request.param("code");
    if (!code || code->empty() || code->size() > 4096) {
      return page(400, "No code", "This answer carries no authorization code; it was ignored.");
    }
    finish(*code, {});
    return page(200, "Logged in", "tok has your login. You can close this tab.");
  }

  // The code (or why there is none), when the callback came before the deadline.
  std::optional<std::string> wait(std::chrono::milliseconds timeout, std::string& problem) {
    std::unique_lock<std::mutex> hold(mutex_);
    if (!changed_.wait_for(hold, timeout, [&] { return done_; })) {
      done_ = true;  // a late callback is answered as a second one
      problem = "timed out";
      return std::nullopt;
    }
    problem = problem_;
    return code_;
  }

 private:
  void finish(std::optional<std::string> code, std::string problem) {
    done_ = true;
    code_ = std::move(code);
    problem_ = std::move(problem);
    changed_.notify_all();
  }

  static ServerResponse page(int status, const char* title, const char* text) {
    ServerResponse r;
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body = fmt::format(
        "<!DOCTYPE html><html><head><title>tok: {0}</title></head><body><h1>{0}</h1><p>{1}</p></body></html>\n", title,
        text);
    r.headers = {{"Cache-Control", "no-store"}, {"Referrer-Policy", "no-referrer"}};
    return r;
  }

  const std::string state_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool done_ = false;
  std::optional<std::string> code_;
  std::string problem_;
};

// $BROWSER (its first entry, as xdg-utils reads it), else xdg-open, with the URL as its argument.
// Not waited for: a browser may live on. Its output goes to our stderr, never our stdout.
bool open_browser(const World& world, const std::string& url, std::string& problem) {
  std::string program = "xdg-open";
  if (const char* browser = world.env("BROWSER"); browser != nullptr && *browser != '\0') {
    program = std::string(browser).substr(0, std::string(browser).find(':'));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  std::vector<char*> argv = {program.data(), const_cast<char*>(url.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(),
                              const_cast<char* const*>(world.environment()));
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    problem = fmt::format("cannot run {}: {}", printable(program), std::strerror(rc));
    return false;
  }
  return true;
}

// RFC 6749 4.1 with PKCE S256 (RFC 7636) and a loopback redirect (RFC 8252): a one-shot listener
// on 127.0.0.1, the browser sent to the issuer, one callback with our state, the code redeemed
// with the verifier that never left this process.
LoginGrant browser_login(Session& session, OAuthLogin& login, ProviderMemo& memo, const LoginFlags& flags) {
  const Duration timeout = parse_duration_or_throw(flags.timeout, "--timeout", ZeroIs::none);
  auto server = make_http_server();
  std::string problem;
  const int port = server->bind("127.0.0.1", login.redirect_port(), problem);
  if (port < 0) throw Error(ErrorKind::unavailable, fmt::format("cannot listen for the login's answer: {}", problem));
  const std::string redirect_uri = fmt::format("http://127.0.0.1:{}/callback", port);
  const std::string state = random_id();
  const std::string verifier = random_id() + random_id();  // 256 bits, [0-9a-f]: RFC 7636 4.1
  const std::string url = login.authorization_url(memo, redirect_uri, state, base64url_encode(sha256(verifier)));

  Callback callback(state);
  std::thread serving([&] {
    server->run(
        [&](const ServerRequest& r) { return callback.handle(r); },
        [&](const ServerRequest& r, const ServerResponse& a, double) {
          session.verbose(fmt::format("login listener: {} {} -> {}", printable(r.method), printable(r.path), a.status));
        },
        [](const sockaddr_storage&, const sockaddr_storage&) { return true; }, session.world());
  });
  struct Stop {
    HttpServer& server;
    std::thread& thread;
    ~Stop() {
      server.stop();
      thread.join();
    }
  } stop{*server, serving};

  std::string why_not;
  if (flags.no_browser || !open_browser(session.world(), url, why_not)) {
    if (!why_not.empty()) session.warn(why_not);
    fmt::print(stderr, "tok: {}: to log in, open this URL in a browser:\n{}\n", session.label(), url);
  } else {
    fmt::print(stderr, "tok: {}: logging in in your browser (if none opened, visit {})\n", session.label(), url);
  }
  const auto code = callback.wait(std::chrono::duration_cast<std::chrono::milliseconds>(timeout), problem);
  if (!code) {
    if (problem == "timed out") {
      throw Error(ErrorKind::unavailable, fmt::format("no answer from the browser within {}", format_duration(timeout)),
                  fmt::format("run tok login -p {} again (or --device to log in with a code)", session.label()));
    }
    throw Error(ErrorKind::refused, problem);
  }
  return login.redeem_code(memo, *code, redirect_uri, verifier);
}

std::unique_ptr<OAuthLogin> login_of(const Session& session, const Profile& profile) {
  const ProviderSettings settings(profile.values);
  std::unique_ptr<OAuthLogin> login;
  if (is_login(settings)) login = OAuthLogin::from_settings(settings, session.provider_deps());
  if (!login) {
    throw Error(ErrorKind::usage,
                "not a login profile: tok login needs provider = oauth with grant = device_code or authorization_code",
                "see docs/login.md");
  }
  return login;
}

// Who logged in, from the ID token's claims (decoded, not verified: it is shown, never trusted).
std::string subject_of(const std::string& id_token) {
  if (id_token.empty()) return {};
  const TokenClaims claims = decode_claims(id_token);
  if (!claims.jwt) return {};
  for (const char* name : {"preferred_username", "email", "sub"}) {
    if (auto it = claims.claims.find(name); it != claims.claims.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

// Stores the login's token under the refresh lock as a forced refresh would, with what the
// login learnt (endpoints, who, since when) in the memo.
void commit_login(Session& session, ProfileContext& ctx, const LoginGrant& grant, ProviderMemo memo) {
  memo["login_since"] = format_rfc3339(ctx.clock.now());
  if (const std::string subject = subject_of(grant.id_token); !subject.empty()) {
    memo["login_subject"] = printable(subject);
  } else {
    memo.erase("login_subject");
  }
  if (grant.token.fields.count(kRefreshTokenField) == 0) {
    session.warn("the provider gave no refresh token: the login lasts as long as this access token");
  }
  DiskRefresher committer(
      ctx.store, ctx.profile.cache_key, ctx.profile.engine, session.world(),
      [&](Deadline, ProviderMemo& kept, FetchMode, const Token*) {
        kept = memo;
        return grant.token;
      },
      Diagnostics{[&session](const std::string& m) { session.warn(m); },
                  [&session](const std::string& m) { session.verbose(m); }});
  GetOptions options;
  options.force_refresh = true;
  committer.get(options);
}

int run_login(Session& session, const LoginFlags& flags) {
  ProfileContext ctx(session);
  auto login = login_of(session, ctx.profile);
  if (const auto problem = ctx.store.ensure_dir()) {
    throw Error(ErrorKind::storage, fmt::format("cannot keep a login: {}", *problem));
  }
  ProviderMemo memo;
  if (auto read = ctx.store.read(ctx.profile.cache_key); read.entry) memo = read.entry->memo;
  if (const auto warning = login->choose_storage(memo)) session.warn(*warning);
  LoginGrant grant;
  if (flags.device || login->grant() == "device_code") {
    grant = login->device_login(memo, [&](const DeviceAuthorization& shown) {
      const auto left = std::chrono::floor<std::chrono::seconds>(shown.expires_at - ctx.clock.now());
      fmt::print(stderr, "tok: {}: to log in, open {} and enter the code {} (it expires in {})\n", session.label(),
                 printable(shown.verification_uri), shown.user_code, format_duration(left));
      if (!shown.verification_uri_complete.empty()) {
        fmt::print(stderr, "tok: {}: or open {}\n", session.label(), printable(shown.verification_uri_complete));
      }
    });
  } else {
    grant = browser_login(session, *login, memo, flags);
  }
  login->keep(grant.token, memo);
  commit_login(session, ctx, grant, memo);
  if (!session.options.quiet) {
    const std::string subject = subject_of(grant.id_token);
    fmt::print(stderr, "tok: {}: logged in{}\n", session.label(),
               subject.empty() ? std::string() : " as " + printable(subject));
  }
  return 0;
}

int run_logout(Session& session) {
  ProfileContext ctx(session);
  auto login = login_of(session, ctx.profile);
  const auto read = ctx.store.read(ctx.profile.cache_key);
  std::optional<Error> revoke_failed;
  bool revoked = false;
  if (read.entry && read.entry->token) {
    if (carries_refresh_token(*read.entry)) {
      ProviderMemo memo = read.entry->memo;
      try {
        const std::string refresh_token = login->refresh_token_of(*read.entry->token, memo);
        if (!refresh_token.empty()) revoked = login->revoke(memo, refresh_token);
        login->forget(memo);
        if (!revoked) session.verbose("the issuer names no revocation endpoint: forgetting the login only");
      } catch (const Error& e) {
        revoke_failed = e;
      }
    }
  }
  const bool removed = ctx.engine(session).clear();
  if (revoke_failed) {
    throw Error(revoke_failed->kind(),
                fmt::format("the login was forgotten here, but its refresh token could not be revoked: {}",
                            revoke_failed->what()),
                "revoke the session at the provider");
  }
  if (!session.options.quiet) {
    fmt::print(stderr, "tok: {}: {}\n", session.label(),
               !removed  ? "not logged in"
               : revoked ? "logged out (refresh token revoked)"
                         : "logged out");
  }
  return 0;
}

}  // namespace

void add_login_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<LoginFlags>();
  CLI::App* cmd =
      app.add_subcommand("login", "Log in as yourself on a login profile (grant = device_code or authorization_code)");
  cmd->add_flag("--device", flags->device, "Log in with a code shown here and approved in any browser (RFC 8628)");
  cmd->add_flag("--no-browser", flags->no_browser, "Print the login URL instead of opening a browser");
  cmd->add_option("--timeout", flags->timeout, "How long to wait for the browser's answer (default 5m)");
  cmd->callback([&session, flags] { session.run = [&session, flags] { return run_login(session, *flags); }; });
}

void add_logout_command(CLI::App& app, Session& session) {
  CLI::App* cmd = app.add_subcommand("logout", "Revoke the profile's login at the provider and forget it");
  cmd->callback([&session] { session.run = [&session] { return run_logout(session); }; });
}

}  // namespace tok

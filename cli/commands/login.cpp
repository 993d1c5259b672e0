// tok login / tok logout: a person's login on a profile with grant = authorization_code or
// device_code (docs/login.md). The login itself is interactive and runs outside any lock; its
// result is committed like any refresh (under the entry's refresh lock, generation + 1), so
// callers that wait see it whole.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/claims.hpp"
#include "cli/serve/http_server.hpp"
#include "cli/serve/serve_peer.hpp"
#include "cli/commands/login_callback.hpp"
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

// The login listener's limits: one browser's few connections (it may open some ahead of time),
// idle ones closed soon. Other users never hold one: they are refused before a byte is read.
constexpr ServerLimits kListenerLimits{.threads = 1, .connections = 16, .idle_seconds = 5};

// The one callback a browser login waits for (RFC 8252 7.3, on 127.0.0.1): the first one with
// our `state` ends the wait, with a code or with the issuer's error. Anything else (a wrong
// state: someone else's request; a second callback) is answered and changes nothing.
class Callback {
 public:
  explicit Callback(std::string state) : state_(std::move(state)) {}

  ServerResponse handle(const ServerRequest& request) {
    LoginCallback read = read_login_callback(request, state_);
    if (read.kind == LoginCallback::Kind::not_found) return page(404, "Not found", "This is tok's login listener.");
    const std::lock_guard<std::mutex> hold(mutex_);
    if (done_) return page(409, "Already done", "This login has already finished. You can close this tab.");
    switch (read.kind) {
      case LoginCallback::Kind::not_ours:
        return page(400, "Not this login",
                    "This answer does not belong to the login tok is waiting for; it was ignored.");
      case LoginCallback::Kind::failed:
        finish(std::nullopt, std::move(read.problem));
        return page(200, "Login failed", "The provider did not log you in; tok says why. You can close this tab.");
      case LoginCallback::Kind::code:
        finish(std::move(read.code), {});
        return page(200, "Logged in", "tok has your login. You can close this tab.");
      default: return page(400, "No code", "This answer carries no authorization code; it was ignored.");
    }
  }

  // True once the callback came, waiting for it at most `slice`.
  bool arrived_within(std::chrono::milliseconds slice) {
    std::unique_lock<std::mutex> hold(mutex_);
    return changed_.wait_for(hold, slice, [&] { return done_; });
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

// The program that opens the browser: $BROWSER (its first entry, as xdg-utils reads it), else
// xdg-open, with the URL as its argument. Not waited for (a browser may live on), but watched: a
// failed opener (xdg-open exits 3 or 4 where there is no browser) is noticed by its exit status.
// Its output goes nowhere (with -v, to our stderr), never to our stdout.
class BrowserOpener {
 public:
  // False, with `problem`, when the program cannot be started.
  bool start(const World& world, const std::string& url, bool show_output, std::string& problem) {
    program_ = "xdg-open";
    if (const char* browser = world.env("BROWSER"); browser != nullptr && *browser != '\0') {
      program_ = std::string(browser).substr(0, std::string(browser).find(':'));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (show_output) {
      posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    } else {
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    }
    std::vector<char*> argv = {program_.data(), const_cast<char*>(url.c_str()), nullptr};
    const int rc = posix_spawnp(&pid_, program_.c_str(), &actions, nullptr, argv.data(),
                                const_cast<char* const*>(world.environment()));
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      problem = fmt::format("cannot run {}: {}", printable(program_), std::strerror(rc));
      return false;
    }
    return true;
  }

  // Still to be watched: started and not yet reaped.
  bool running() const { return pid_ > 0; }

  // Once the opener has ended: why it failed ("xdg-open exited with status 3"), or empty when it
  // succeeded. nullopt while it runs.
  std::optional<std::string> ended() {
    if (pid_ <= 0) return std::nullopt;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return std::nullopt;
    pid_ = -1;
    if (r < 0) return std::string();  // not ours to judge any more
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::string();
    if (WIFEXITED(status)) return fmt::format("{} exited with status {}", printable(program_), WEXITSTATUS(status));
    return fmt::format("{} was killed by signal {}", printable(program_), WTERMSIG(status));
  }

 private:
  std::string program_;
  pid_t pid_ = -1;
};

// A URL shown for the user to open: every byte that is not visible ASCII percent-encoded, so it
// is one line of terminal-safe text at any length (printable() stops at 200 characters).
std::string printable_url(std::string_view url) {
  std::string out;
  for (const unsigned char c : url) {
    if (c > 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
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
  server->limit(kListenerLimits);
  const uid_t me = ::geteuid();
  std::thread serving([&] {
    server->run(
        [&](const ServerRequest& r) { return callback.handle(r); },
        [&](const ServerRequest& r, const ServerResponse& a, double) {
          session.verbose(fmt::format("login listener: {} {} -> {}", printable(r.method), printable(r.path), a.status));
        },
        // Loopback is shared by every account of the host, and the authorization URL (state and
        // PKCE challenge) can be read from the browser's command line: another user's browser
        // could bring their own login here. Only our own uid is answered (as tok serve does).
        [&](const sockaddr_storage& local, const sockaddr_storage& peer) {
          const std::optional<uid_t> uid = peer_socket_uid(local, peer);
          if (uid && *uid == me) return true;
          if (uid) {
            session.warn(
                fmt::format("the login listener refused a connection from uid {}: only your own browser "
                            "may answer this login",
                            *uid));
          } else {
            session.verbose("login listener: refused a connection whose owner is unknown (closed already)");
          }
          return false;
        },
        session.world());
  });
  struct Stop {
    HttpServer& server;
    std::thread& thread;
    ~Stop() {
      server.stop();
      thread.join();
    }
  } stop{*server, serving};

  // The URL is made of a discovered endpoint (visible ASCII only, oauth_documents.hpp) and
  // form-encoded values; shown percent-encoded all the same: nothing from outside reaches the
  // terminal raw.
  const std::string shown_url = printable_url(url);
  const auto show_url = [&] {
    fmt::print(stderr, "tok: {}: to log in, open this URL in a browser:\n{}\n", session.label(), shown_url);
  };
  const auto show_waiting = [&] {
    fmt::print(stderr,
               "tok: {}: waiting for the login in the browser... (Ctrl-C to stop; --device on a machine "
               "without a browser)\n",
               session.label());
  };
  BrowserOpener opener;
  std::string why_not;
  if (flags.no_browser || !opener.start(session.world(), url, session.options.verbose, why_not)) {
    if (!why_not.empty()) session.warn(why_not);
    show_url();
  } else {
    fmt::print(stderr, "tok: {}: logging in in your browser (if none opened, visit {})\n", session.label(), shown_url);
  }
  show_waiting();
  const auto wait_for = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  const auto deadline = session.world().steady_now() + wait_for;
  while (opener.running() && session.world().steady_now() < deadline) {
    if (callback.arrived_within(std::chrono::milliseconds(100))) break;
    if (auto failed = opener.ended(); failed && !failed->empty()) {
      session.warn(fmt::format("no browser opened: {}", *failed));
      show_url();
      show_waiting();
    }
  }
  const auto left =
      std::max(std::chrono::milliseconds(0),
               std::chrono::duration_cast<std::chrono::milliseconds>(deadline - session.world().steady_now()));
  const auto code = callback.wait(left, problem);
  if (!code) {
    if (problem == "timed out") {
      // The user's own time ran out, as a device code's does: exit 3, not an unavailable issuer.
      throw Error(ErrorKind::refused, fmt::format("no answer from the browser within {}", format_duration(timeout)),
                  fmt::format("run tok login -p {} again (or --device to log in with a code)", session.label()));
    }
    throw Error(ErrorKind::refused, problem);
  }
  return login.redeem_code(memo, *code, redirect_uri, verifier);
}

// While a device login polls, on a terminal only (stderr a tty, neither -q nor -v): one line,
// rewritten each second, that says tok is waiting and for how long it still can. Erased when the
// polling ends, however it ends.
class WaitingLine {
 public:
  explicit WaitingLine(const Session& session)
      : session_(session),
        enabled_(::isatty(STDERR_FILENO) == 1 && !session.options.quiet && !session.options.verbose) {}
  WaitingLine(const WaitingLine&) = delete;
  WaitingLine& operator=(const WaitingLine&) = delete;
  ~WaitingLine() {
    if (!ticker_.joinable()) return;
    {
      const std::lock_guard<std::mutex> hold(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    ticker_.join();
    fmt::print(stderr, "\r{:{}}\r", "", width_);
  }

  void start(TimePoint expires_at) {
    if (!enabled_ || ticker_.joinable()) return;
    ticker_ = std::thread([this, expires_at] {
      std::unique_lock<std::mutex> hold(mutex_);
      do {
        const auto left = std::max(std::chrono::seconds(0),
                                   std::chrono::floor<std::chrono::seconds>(expires_at - session_.world().now()));
        const std::string line = fmt::format("tok: {}: waiting for the approval... {} left (Ctrl-C to stop)",
                                             session_.label(), format_duration(left));
        fmt::print(stderr, "\r{:{}}", line, width_);
        width_ = std::max(width_, line.size());
      } while (!changed_.wait_for(hold, std::chrono::seconds(1), [&] { return stop_; }));
    });
  }

 private:
  const Session& session_;
  const bool enabled_;
  std::thread ticker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_ = false;
  std::size_t width_ = 0;
};

std::unique_ptr<OAuthLogin> login_of(const Session& session, const Profile& profile) {
  const ProviderSettings settings(profile.values);
  std::unique_ptr<OAuthLogin> login;
  ProviderDeps deps = session.provider_deps();
  deps.cache_key = profile.cache_key;  // the keyring item is this entry's (docs/login.md)
  if (is_login(settings)) login = OAuthLogin::from_settings(settings, deps);
  if (!login) {
    throw Error(ErrorKind::usage,
                "not a login profile: tok login needs provider = oauth with grant = device_code or authorization_code",
                "a login profile's keys: 'tok help keys oauth' (grant, issuer, client_id); more in 'man tok', login");
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

// The refresh token an older tok kept in the keyring for the whole profile, keyed by (profile,
// issuer, client) only (docs/login.md, "The keyring"): no refresh reads it any more, so it is
// revoked, then removed. Why it could not be (it is then kept), or nullopt (also: none).
std::optional<std::string> retire_legacy_item(Session& session, OAuthLogin& login, ProviderMemo memo) {
  try {
    const std::string old = login.legacy_refresh_token(memo);
    if (old.empty()) return std::nullopt;
    login.revoke(memo, old);
    login.forget_legacy(memo);
    session.verbose("revoked and removed the refresh token an older tok kept in the keyring for the whole profile");
    return std::nullopt;
  } catch (const Error& e) {
    return e.what();
  }
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
  ctx.engine(session).commit(grant.token, std::move(memo));
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
    WaitingLine waiting(session);
    grant = login->device_login(memo, [&](const DeviceAuthorization& shown) {
      const auto left = std::chrono::floor<std::chrono::seconds>(shown.expires_at - ctx.clock.now());
      fmt::print(stderr, "tok: {}: to log in, open {} and enter the code {} (it expires in {})\n", session.label(),
                 printable(shown.verification_uri), shown.user_code, format_duration(left));
      if (!shown.verification_uri_complete.empty()) {
        fmt::print(stderr, "tok: {}: or open {}\n", session.label(), printable(shown.verification_uri_complete));
      }
      waiting.start(shown.expires_at);
    });
  } else {
    grant = browser_login(session, *login, memo, flags);
  }
  login->keep(grant.token, memo);
  commit_login(session, ctx, grant, memo);
  if (const auto problem = retire_legacy_item(session, *login, memo)) {
    session.warn(
        fmt::format("the refresh token an older tok kept in the keyring for this profile could not be "
                    "revoked, so it is kept (tok logout tries again): {}",
                    *problem));
  }
  if (!session.options.quiet) {
    const std::string subject = subject_of(grant.id_token);
    fmt::print(stderr, "tok: {}: logged in{}\n", session.label(),
               subject.empty() ? std::string() : " as " + printable(subject));
  }
  return 0;
}

struct LogoutFlags {
  bool force = false;
};

// Revokes every refresh token of the login (the entry's, from the file or the keyring, and the
// one an older tok kept for the whole profile) before anything is forgotten: a refresh token
// that could not be revoked is kept, in every store, unless --force (docs/login.md).
int run_logout(Session& session, const LogoutFlags& flags) {
  ProfileContext ctx(session);
  auto login = login_of(session, ctx.profile);
  const auto read = ctx.store.read(ctx.profile.cache_key);
  ProviderMemo memo = read.entry ? read.entry->memo : ProviderMemo{};
  std::optional<Error> revoke_failed;
  bool revoked = false;
  if (read.entry && read.entry->token && carries_refresh_token(*read.entry)) {
    try {
      const std::string refresh_token = login->refresh_token_of(*read.entry->token, memo);
      if (refresh_token.empty()) {
        session.verbose("no refresh token to revoke");
      } else {
        revoked = login->revoke(memo, refresh_token);
        if (!revoked) session.verbose("the issuer names no revocation endpoint: forgetting the login only");
      }
      const std::string old = login->legacy_refresh_token(memo);
      if (!old.empty() && login->revoke(memo, old)) revoked = true;
    } catch (const Error& e) {
      revoke_failed = e;
    }
  }
  if (revoke_failed && !flags.force) {
    throw Error(revoke_failed->kind(),
                fmt::format("still logged in: the refresh token could not be revoked, so it is kept: {}",
                            revoke_failed->what()),
                fmt::format("run tok logout -p {0} again later, or tok logout -p {0} --force to forget the login "
                            "anyway (its refresh token then stays valid at the provider until it expires)",
                            session.label()));
  }
  // Every store: the keyring's items first, then the entry (with its file field), so that a
  // keyring that fails leaves the entry that points at it.
  try {
    login->forget(memo);
    login->forget_legacy(memo);
  } catch (const Error& e) {
    if (!flags.force) {
      throw Error(e.kind(),
                  fmt::format("still logged in{}: {}", revoked ? " (the refresh token is revoked)" : "", e.what()),
                  fmt::format("run tok logout -p {0} again, or tok logout -p {0} --force to forget the entry anyway",
                              session.label()));
    }
    session.warn(fmt::format("the keyring's copy stays (--force forgets the entry anyway): {}", e.what()));
  }
  const bool removed = ctx.engine(session).clear();
  if (revoke_failed) {
    session.warn(
        fmt::format("the refresh token could not be revoked: {}; forgotten anyway (--force): it stays "
                    "valid at the provider until it expires, unless you end the session there",
                    revoke_failed->what()));
  }
  if (!session.options.quiet) {
    fmt::print(stderr, "tok: {}: {}\n", session.label(),
               !removed        ? "not logged in"
               : revoked       ? "logged out (refresh token revoked)"
               : revoke_failed ? "logged out (refresh token NOT revoked)"
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
  auto flags = std::make_shared<LogoutFlags>();
  CLI::App* cmd = app.add_subcommand("logout", "Revoke the profile's login at the provider and forget it");
  cmd->add_flag("--force", flags->force,
                "Forget the login even when its refresh token cannot be revoked (it stays valid at the provider)");
  cmd->callback([&session, flags] { session.run = [&session, flags] { return run_logout(session, *flags); }; });
}

}  // namespace tok

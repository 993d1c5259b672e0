#pragma once
// The composition root (docs/design.md, "One composition root"): the one place where a resolved
// profile becomes the token service a front end asks. Every front end (tok get, exec, env, the
// git, Docker and kubectl helpers, status, clear, refresh, login, logout and tok serve) gets its
// service from make_token_service, so they all read and refresh the same cache entry under the
// same cross-process locks, with the same rules for logins (a rotating refresh token is only
// used under the entry's refresh lock) and for where their secrets are kept (the provider's).
// What differs between front ends is only how they live: a command exits, so its background
// refresh is a detached process; tok serve stays, so its refreshes run on its thread pool and
// it keeps the entry's head in memory while the file is unchanged.
#include <memory>
#include <optional>
#include <string>

#include "cli/config.hpp"
#include "core/cache_store.hpp"
#include "core/launcher.hpp"
#include "core/refresher.hpp"
#include "core/world.hpp"

namespace tok {

// How the front end lives (see above).
struct ServiceOptions {
  // Where background refreshes run: null, a detached process (a command that exits); an
  // ExecutorLauncher on a thread pool in a process that stays (tok serve).
  Launcher* background = nullptr;
  // KeepCopy::yes: one fstatat per read while the entry's file is unchanged (tok serve).
  KeepCopy keep_copy = KeepCopy::no;
};

// A profile's token, as every front end asks for it.
class TokenService {
 public:
  TokenService(const Profile& profile, const CacheStore& store, const World& world, Diagnostics diagnostics,
               ServiceOptions options);
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  // The token (docs/design.md, "Token states"): cached, refreshed in the background, or fetched.
  GetResult get(const GetOptions& options = {}) { return engine_.get(options); }
  // A credential helper's erase: the next get fetches (only while `only_if` is the cached token).
  bool expire(const std::string& only_if = {}) { return engine_.expire(only_if); }
  // Forgets the entry under its refresh lock (tok clear, tok logout).
  bool clear() { return engine_.clear(); }
  // Stores a token obtained outside the provider (tok login's grant) as a forced refresh would:
  // under the refresh lock, generation + 1, with `memo` as the entry's memo.
  GetResult commit(Token token, ProviderMemo memo);

 private:
  Token obtain(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token* current);

  std::shared_ptr<Provider> provider_;
  // A login's grant on its way into the entry (commit); the provider otherwise.
  std::optional<std::pair<Token, ProviderMemo>> committing_;
  DiskRefresher engine_;
};

// The composition root. `store`, `world` and the launcher in `options` outlive the service; the
// profile's provider is shared with it.
std::unique_ptr<TokenService> make_token_service(const Profile& profile, const CacheStore& store, const World& world,
                                                 Diagnostics diagnostics, ServiceOptions options = {});

}  // namespace tok

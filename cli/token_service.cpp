#include "cli/token_service.hpp"

#include <utility>

namespace tok {

TokenService::TokenService(const Profile& profile, const CacheStore& store, const World& world, Diagnostics diagnostics,
                           ServiceOptions options)
    : provider_(profile.provider),
      engine_(
          store, profile.cache_key, profile.engine, world,
          [this](Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token* current) {
            return obtain(deadline, memo, mode, current);
          },
          std::move(diagnostics), options.background, options.keep_copy) {
  // provider = file: a file rewritten since the token was read is read again at once.
  if (provider_->watches_source()) {
    engine_.set_source_check([provider = provider_](const ProviderMemo& memo) { return provider->source_changed(memo); });
  }
}

Token TokenService::obtain(Deadline deadline, ProviderMemo& memo, FetchMode mode, const Token* current) {
  if (committing_) {
    memo = committing_->second;
    return committing_->first;
  }
  return provider_->obtain(deadline, memo, mode, current);
}

GetResult TokenService::commit(Token token, ProviderMemo memo) {
  committing_.emplace(std::move(token), std::move(memo));
  struct Done {
    std::optional<std::pair<Token, ProviderMemo>>& committing;
    ~Done() { committing.reset(); }
  } done{committing_};
  GetOptions options;
  options.force_refresh = true;
  return engine_.get(options);
}

std::unique_ptr<TokenService> make_token_service(const Profile& profile, const CacheStore& store, const World& world,
                                                 Diagnostics diagnostics, ServiceOptions options) {
  return std::make_unique<TokenService>(profile, store, world, std::move(diagnostics), options);
}

}  // namespace tok

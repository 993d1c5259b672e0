#include "providers/oauth/login_storage.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
#include "providers/oauth/client.hpp"

namespace tok {

namespace {

using namespace std::chrono_literals;

bool refresh_token_in_keyring(const ProviderMemo& memo) {
  const auto it = memo.find("refresh_token_in");
  return it != memo.end() && it->second == "keyring";
}

}  // namespace

LoginStorage::LoginStorage(const ProviderSettings& settings, const OAuthClient& client)
    : deps_(client.deps()),
      token_storage_(settings.text("token_storage")),
      issuer_(client.issuer().value_or("")),
      client_id_(client.client_id()) {}

std::optional<std::string> LoginStorage::choose(ProviderMemo& memo) const {
  memo.erase("refresh_token_in");
  if (token_storage_ == "file") return std::nullopt;
  std::optional<std::string> why;
  try {
    why = secret_service_keyring().unreachable(3s, deps_.the_world());
    if (!why) why = secret_service_keyring().unwritable(3s);
  } catch (const Error& e) {
    why = e.what();
  }
  if (!why) {
    memo["refresh_token_in"] = "keyring";
    return std::nullopt;
  }
  if (token_storage_ == "keyring") {
    throw Error(ErrorKind::storage, fmt::format("token_storage = keyring, but {}", *why),
                "start a Secret Service (gnome-keyring-daemon) in this session, or set token_storage = file");
  }
  return fmt::format(
      "{}: the refresh token is kept in the cache file, which only you can read (token_storage = "
      "file says so without this warning)",
      *why);
}

void LoginStorage::keep(Token& token, const ProviderMemo& memo, std::chrono::milliseconds within) const {
  if (!refresh_token_in_keyring(memo)) return;
  const auto it = token.fields.find(kRefreshTokenField);
  if (it == token.fields.end() || it->second.empty()) return;
  if (auto problem = secret_service_keyring().store(entry_item(), it->second, within)) {
    throw Error(ErrorKind::storage, *problem);
  }
  it->second.clear();
}

std::string LoginStorage::refresh_token_of(const Token& current, const ProviderMemo& memo,
                                           std::chrono::milliseconds within) const {
  const auto it = current.fields.find(kRefreshTokenField);
  if (it == current.fields.end()) return {};
  if (!refresh_token_in_keyring(memo)) return it->second;
  std::string secret;
  if (auto problem = secret_service_keyring().lookup(entry_item(), secret, within)) {
    throw Error(ErrorKind::storage, *problem,
                "is the Secret Service (gnome-keyring-daemon) running in this session, and unlocked?");
  }
  return secret;
}

void LoginStorage::forget(const ProviderMemo& memo, std::chrono::milliseconds within) const {
  if (!refresh_token_in_keyring(memo)) return;
  if (auto problem = secret_service_keyring().clear(entry_item(), within)) {
    throw Error(ErrorKind::storage, *problem);
  }
}

std::string LoginStorage::legacy_refresh_token(const ProviderMemo& memo) const {
  if (!refresh_token_in_keyring(memo)) return {};
  std::string secret;
  if (auto problem = secret_service_keyring().lookup(legacy_item(), secret, kInteractiveWait)) {
    throw Error(ErrorKind::storage, *problem);
  }
  return secret;
}

void LoginStorage::forget_legacy(const ProviderMemo& memo) const {
  if (!refresh_token_in_keyring(memo)) return;
  if (auto problem = secret_service_keyring().clear(legacy_item(), kInteractiveWait)) {
    throw Error(ErrorKind::storage, *problem);
  }
}

std::chrono::milliseconds LoginStorage::wait_within(Deadline deadline) const {
  const auto now = deps_.the_world().steady_now();
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
}

// The entry's own item: its cache key and cache directory (absolute, so that two spellings of
// one directory are one), with the profile, issuer and client for people reading the keyring.
KeyringItem LoginStorage::entry_item() const {
  if (deps_.cache_key.empty() || deps_.cache_dir.empty()) {
    throw Error(ErrorKind::internal, "the keyring item of a login needs its cache entry and directory");
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(deps_.cache_dir, ec);
  if (!ec) dir = std::filesystem::weakly_canonical(dir, ec);
  if (ec) dir = std::filesystem::path(deps_.cache_dir).lexically_normal();
  return {deps_.cache_key, dir.string(), deps_.profile, issuer_, client_id_};
}

KeyringItem LoginStorage::legacy_item() const {
  KeyringItem item{{}, {}, deps_.profile, issuer_, client_id_};
  item.legacy = true;
  return item;
}

}  // namespace tok

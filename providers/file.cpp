#include "providers/file.hpp"

#include <sys/stat.h>

#include <string>

#include <fmt/format.h>

#include "core/error.hpp"
#include "providers/jwt.hpp"
#include "providers/secret.hpp"

namespace tok {

namespace {

constexpr std::size_t kMaxTokenFile = 64 * 1024;
constexpr const char* kKey = "token_file";

// What identifies the file read: the one behind the symlinks (stat, not lstat), so that the
// kubelet's `..data` swap, which changes no name the profile holds, is a new inode here.
struct FileIdentity {
  std::string dev, ino, size, mtime_ns;
  static FileIdentity of(const struct stat& st) {
    const long long ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    return {std::to_string(st.st_dev), std::to_string(st.st_ino), std::to_string(st.st_size), std::to_string(ns)};
  }
  void store(ProviderMemo& memo) const {
    memo["file_dev"] = dev;
    memo["file_ino"] = ino;
    memo["file_size"] = size;
    memo["file_mtime_ns"] = mtime_ns;
  }
  bool matches(const ProviderMemo& memo) const {
    const auto is = [&](const char* key, const std::string& value) {
      const auto it = memo.find(key);
      return it != memo.end() && it->second == value;
    };
    return is("file_dev", dev) && is("file_ino", ino) && is("file_size", size) && is("file_mtime_ns", mtime_ns);
  }
};

// provider = file: the file is the source and its own cache's authority. Each fetch reads it
// whole (bounded, non-blocking, a regular file only: providers/secret.cpp) and remembers which
// file it read (device, inode, size, mtime); every cache hit compares that with a stat of the path,
// so a rewritten or swapped file is read again at once (docs/files.md).
class FileProvider final : public Provider {
 public:
  FileProvider(const ProviderSettings& s, const ProviderDeps& deps)
      : deps_(deps), path_(s.require(kKey)), default_lifetime_(s.duration("default_lifetime")) {}

  Token fetch(Deadline, ProviderMemo& memo, FetchMode) override {
    struct stat st {};
    std::string text = read_small_file(path_, kKey, FileRules::any_owner, kMaxTokenFile, &st);
    // A trailing line break (or blanks) is how files end, not part of the token.
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
      text.pop_back();
    }
    if (text.empty()) malformed("it is empty");
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x20 || c == 0x7f) {
        malformed(
            fmt::format("it holds a non-printable byte (0x{:02x} at offset {}); a token is one line of text", c, i));
      }
    }
    if (!is_b64token(text)) malformed("it is not a token (characters a bearer token cannot have, or several words)");
    Token token;
    token.access_token = std::move(text);
    const TimePoint now = deps_.time().now();
    if (auto exp = jwt_expiry(token.access_token)) {
      if (*exp <= now) {
        throw Error(ErrorKind::unavailable,
                    fmt::format("key '{}': the token in {} has expired (its exp has passed)", kKey, path_),
                    "check the program that writes it (for a projected token: the kubelet)");
      }
      token.expiry = *exp;
    } else if (default_lifetime_) {
      token.expiry = now + *default_lifetime_;
    }  // else: no expiry; kept as long as the file does not change
    FileIdentity::of(st).store(memo);
    return token;
  }

  bool watches_source() const override { return true; }

  bool source_changed(const ProviderMemo& memo) const override {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return true;  // gone: the refresh says why
    return !FileIdentity::of(st).matches(memo);
  }

 private:
  [[noreturn]] void malformed(const std::string& why) const {
    throw Error(ErrorKind::unavailable, fmt::format("key '{}': refusing {}: {}", kKey, path_, why),
                "check the program that writes the token file");
  }

  ProviderDeps deps_;
  std::string path_;
  std::optional<Duration> default_lifetime_;
};

}  // namespace

// provider = file's keys. The order is the cache key's: a new key goes at the end.
constexpr KeySpec kFileKeys[] = {
    {.name = "token_file",
     .owner = KeyOwner::provider,
     .cache_key = true,
     .help = "the file holding the token (a bearer token or a JWT), re-read whenever it changes"},
};

ProviderInfo file_provider_info() {
  return provider_info<FileProvider>("file", kFileKeys);
}

}  // namespace tok

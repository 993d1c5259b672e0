#pragma once
// Where a secret lives: an environment variable or a file that only its owner can read. Never
// argv, never the cache, never output.
#include <sys/stat.h>

#include <string>
#include <string_view>

#include "core/world.hpp"
#include "providers/provider.hpp"

namespace tok {

enum class FileRules {
  private_to_user,  // a secret or key: owned by us, no group or other access (the cache's rules)
  any_owner,        // a short-lived token another program writes (a Kubernetes projected token):
                    // any owner, but writable by no one else (core/file_trust.hpp)
};

// Reads a small file a profile names under `key`: a regular file (a FIFO or device would hang or
// never end), at most `max_bytes`, following `rules`. Throws Error(usage) naming the key.
// `identity`, when given, receives the fstat of the descriptor read (the file behind any symlink).
std::string read_small_file(const std::string& path, std::string_view key, FileRules rules,
                            std::size_t max_bytes = 64 * 1024, struct stat* identity = nullptr);

class SecretSource {
 public:
  // Reads `<prefix>_env` (default env TOK_CLIENT_SECRET) or `<prefix>_file` from the settings.
  static SecretSource from_settings(const ProviderSettings& settings, std::string_view prefix);
  // The secret itself (a variable read from `world`); throws Error(usage) when it is missing or
  // the file is unsafe.
  std::string read(const World& world) const;
  // "$TOK_CLIENT_SECRET" or the file's path, for advice lines.
  std::string describe() const;

 private:
  std::string key_;  // the profile key that named the source, for errors
  std::string env_;
  std::string file_;
};

}  // namespace tok

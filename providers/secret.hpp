#pragma once
// Where a secret lives: an environment variable or a file that others cannot read. Never argv,
// never the cache, never output.
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace tok {

class SecretSource {
 public:
  // Reads `<prefix>_env` (default env TOK_CLIENT_SECRET) or `<prefix>_file` from the settings.
  static SecretSource from_settings(const ProviderSettings& settings, std::string_view prefix);
  // The secret itself; throws Error(usage) when it is missing or the file is unsafe.
  std::string read() const;
  // "$TOK_CLIENT_SECRET" or the file's path, for advice lines.
  std::string describe() const;

 private:
  std::string key_;  // the profile key that named the source, for errors
  std::string env_;
  std::string file_;
};

}  // namespace tok

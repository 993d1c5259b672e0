#include "providers/secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"

namespace tok {

SecretSource SecretSource::from_settings(const ProviderSettings& settings, std::string_view prefix) {
  SecretSource s;
  const std::string env_key = std::string(prefix) + "_env";
  const std::string file_key = std::string(prefix) + "_file";
  const auto env = settings.get(env_key);
  const auto file = settings.get(file_key);
  if (env && file) throw Error(ErrorKind::usage, fmt::format("keys '{}' and '{}': set one, not both", env_key, file_key));
  if (file) {
    s.key_ = file_key;
    s.file_ = *file;
  } else {
    s.key_ = env_key;
    s.env_ = env ? *env : "TOK_CLIENT_SECRET";
  }
  return s;
}

std::string SecretSource::describe() const { return file_.empty() ? "$" + env_ : file_; }

std::string SecretSource::read() const {
  if (file_.empty()) {
    const char* value = std::getenv(env_.c_str());
    if (value == nullptr || *value == '\0') {
      throw Error(ErrorKind::usage, fmt::format("key '{}': the secret variable ${} is not set", key_, env_),
                  fmt::format("export {} (or set {})", env_, key_ == "client_secret_env" ? "client_secret_file" : key_));
    }
    return value;
  }
  const int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorKind::usage, fmt::format("key '{}': cannot read {}: {}", key_, file_, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & S_IRWXO) != 0) {
    ::close(fd);
    throw Error(ErrorKind::usage, fmt::format("key '{}': {} is accessible by others", key_, file_),
                fmt::format("chmod o-rwx {}", file_));
  }
  std::string secret;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) secret.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  // A trailing newline is how editors save files, not part of the secret.
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) throw Error(ErrorKind::usage, fmt::format("key '{}': {} is empty", key_, file_));
  return secret;
}

}  // namespace tok

#include "providers/secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/descriptors.hpp"
#include "core/error.hpp"
#include "core/file_trust.hpp"

namespace tok {

SecretSource SecretSource::from_settings(const ProviderSettings& settings, std::string_view prefix) {
  SecretSource s;
  const std::string env_key = std::string(prefix) + "_env";
  const std::string file_key = std::string(prefix) + "_file";
  const auto env = settings.get(env_key);
  const auto file = settings.get(file_key);
  if (env && file) {
    throw KeyError(env_key, fmt::format("set one of '{}' and '{}', not both", env_key, file_key));
  }
  if (file) {
    s.key_ = file_key;
    s.file_ = *file;
  } else {
    s.key_ = env_key;
    s.env_ = settings.text(env_key);  // the table's default: TOK_CLIENT_SECRET
  }
  return s;
}

std::string SecretSource::describe() const { return file_.empty() ? "$" + env_ : file_; }

std::string read_small_file(const std::string& path, std::string_view key, FileRules rules, std::size_t max_bytes,
                            struct stat* identity) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    throw Error(ErrorKind::usage, fmt::format("key '{}': cannot read {}: {}", key, path, std::strerror(errno)));
  }
  struct stat st {};
  std::string why;
  if (::fstat(fd, &st) != 0) {
    why = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = "it is not a regular file";
  } else if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    why = fmt::format("it is larger than {} KiB", max_bytes / 1024);
  } else if (rules == FileRules::private_to_user && st.st_uid != ::geteuid()) {
    why = fmt::format("it is owned by uid {}, not by you", st.st_uid);
  } else if (rules == FileRules::private_to_user && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    why = fmt::format("group or others may access it (mode {:o})", st.st_mode & 07777);
  } else if (rules == FileRules::any_owner) {
    // Whoever writes it, a file another user could replace would hand us their identity
    // (docs/design.md, "Files tok trusts").
    why = untrusted_because(st, TrustedOwners::anyone);
  }
  if (!why.empty()) {
    ::close(fd);
    throw Error(ErrorKind::usage, fmt::format("key '{}': refusing {}: {}", key, path, why),
                rules == FileRules::private_to_user ? fmt::format("chmod 600 {} (and own it)", path)
                                                    : trust_advice(st, TrustedOwners::anyone, path));
  }
  auto text = read_capped(fd, max_bytes);  // the file may grow while we read
  ::close(fd);
  if (identity != nullptr) *identity = st;
  if (!text) {
    throw Error(ErrorKind::usage,
                fmt::format("key '{}': refusing {}: it is larger than {} KiB (or cannot be read)", key, path,
                            max_bytes / 1024));
  }
  return std::move(*text);
}

std::string SecretSource::read(const World& world) const {
  if (file_.empty()) {
    const char* value = world.env(env_.c_str());
    if (value == nullptr || *value == '\0') {
      throw Error(ErrorKind::usage, fmt::format("key '{}': the secret variable ${} is not set", key_, env_),
                  fmt::format("export {} (or set {})", env_, key_ == "client_secret_env" ? "client_secret_file" : key_));
    }
    return value;
  }
  std::string secret = read_small_file(file_, key_, FileRules::private_to_user);
  // A trailing newline is how editors save files, not part of the secret.
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) throw Error(ErrorKind::usage, fmt::format("key '{}': {} is empty", key_, file_));
  return secret;
}

}  // namespace tok

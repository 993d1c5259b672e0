// tok write PATH: the profile's token, as `tok get` prints it, written to a file for programs that
// read a token from a file (docs/files.md, "A token file as a sink").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/arguments.hpp"
#include "cli/session.hpp"
#include "core/descriptors.hpp"
#include "core/error.hpp"
#include "providers/jws.hpp"

namespace tok {

namespace {

struct WriteFlags {
  GetFlags get;
  std::string path;
  std::string mode = "0600";
};

// --mode: octal, no more than rw for anyone, and never writable by group or others (another user
// could then put their own token in).
mode_t parse_write_mode(const std::string& text) {
  mode_t mode = 0;
  bool ok = !text.empty() && text.size() <= 4;
  for (char c : text) {
    if (c < '0' || c > '7') ok = false;
    mode = mode * 8 + static_cast<mode_t>(c - '0');
  }
  if (!ok || mode > 0777) throw Error(ErrorKind::usage, "--mode: an octal file mode such as 0600 or 0640");
  if ((mode & 0022) != 0) {
    throw Error(ErrorKind::usage, fmt::format("--mode {}: group or others could write the token file", text),
                "drop the w for group and others (e.g. 0640)");
  }
  if ((mode & 0400) == 0) throw Error(ErrorKind::usage, fmt::format("--mode {}: you could not read it", text));
  return mode;
}

[[noreturn]] void write_fail(const std::string& what, const std::filesystem::path& path, int error) {
  throw Error(ErrorKind::storage, fmt::format("writing {}: {}: {}", path.string(), what, std::strerror(error)));
}

// The directory `path` is written in, opened once: it must be the user's and not writable by
// group or others (the cache's rule: docs/design.md, "Cache file and locks"). Checked before any
// token is asked for.
struct TargetDir {
  std::filesystem::path path;
  std::string name;
  UniqueFd fd;
};

TargetDir open_target_dir(const std::filesystem::path& path) {
  TargetDir target;
  target.path = path;
  target.name = path.filename().string();
  if (target.name.empty() || target.name == "." || target.name == "..") {
    throw Error(ErrorKind::usage, fmt::format("tok write {}: not a file name", path.string()));
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  target.fd = UniqueFd(above_stdio(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
  if (!target.fd) write_fail("cannot open its directory", path, errno);
  struct stat st {};
  if (::fstat(target.fd.get(), &st) != 0) write_fail("cannot stat its directory", path, errno);
  if (st.st_uid != ::geteuid()) {
    throw Error(ErrorKind::storage, fmt::format("refusing to write {}: its directory {} is owned by uid {}, not by you",
                                                path.string(), dir.string(), st.st_uid));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw Error(ErrorKind::storage,
                fmt::format("refusing to write {}: group or others may write its directory {} (mode {:o})",
                            path.string(), dir.string(), st.st_mode & 07777),
                fmt::format("chmod go-w {}", dir.string()));
  }
  return target;
}

// Atomically replaces the file with `text`: a temporary file beside it (a random name, never the
// token's), fsync, rename over the old file, fsync of the directory. A reader sees the old file or
// the new one, whole, never an empty or partial one; a failure leaves the old one as it was.
void write_atomically(const TargetDir& target, const std::string& text, mode_t mode) {
  const int dfd = target.fd.get();
  const std::filesystem::path& path = target.path;
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 8 && !fd; ++attempt) {
    tmp = fmt::format(".{}.tok-{}", target.name.substr(0, 64), random_id().substr(0, 12));
    fd = UniqueFd(::openat(dfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd && errno != EEXIST) write_fail("cannot create a temporary file beside it", path, errno);
  }
  if (!fd) write_fail("cannot create a temporary file beside it", path, EEXIST);
  const auto discard = [&](const char* what) {
    const int error = errno;
    ::unlinkat(dfd, tmp.c_str(), 0);
    write_fail(what, path, error);
  };
  if (::fchmod(fd.get(), mode) != 0) discard("cannot set its mode");  // the umask narrowed it
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) discard("cannot write it");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) discard("cannot sync it");
  fd.reset();
  if (::renameat(dfd, tmp.c_str(), dfd, target.name.c_str()) != 0) discard("cannot replace it");
  ::fsync(dfd);
}

int run_write(Session& session, const WriteFlags& flags) {
  const mode_t mode = parse_write_mode(flags.mode);
  const TargetDir target = open_target_dir(flags.path);
  const std::string text = get_output(session, flags.get);
  write_atomically(target, text, mode);
  session.verbose(fmt::format("wrote {} ({} bytes, mode {:04o})", flags.path, text.size(), mode));
  return 0;
}

}  // namespace

void add_write_command(CLI::App& app, Session& session) {
  auto flags = std::make_shared<WriteFlags>();
  CLI::App* cmd = app.add_subcommand("write", "Write the token to a file, atomically (as tok get prints it)");
  cmd->add_option("path", flags->path, "The file to write (replaced atomically)")->required();
  cmd->add_option("--format", flags->get.format, "token (default), json, header, or credential-process (AWS)")
      ->check(CLI::IsMember({"token", "json", "header", "credential-process"}));
  cmd->add_option("--mode", flags->mode, "The file's mode, octal (default 0600; never writable by group or others)");
  cmd->add_flag("--force-refresh", flags->get.force_refresh, "Fetch a new token now, whatever the cache holds");
  cmd->add_option("--min-valid", flags->get.min_valid,
                  "Refresh first unless the token stays valid this long (e.g. 10m)");
  cmd->callback([&session, flags] { session.run = [&session, flags] { return run_write(session, *flags); }; });
}

}  // namespace tok

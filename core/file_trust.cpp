#include "core/file_trust.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace tok {

namespace {

bool owner_trusted(uid_t owner, TrustedOwners owners) {
  switch (owners) {
    case TrustedOwners::you: return owner == ::geteuid();
    case TrustedOwners::you_or_root: return owner == ::geteuid() || owner == 0;
    case TrustedOwners::anyone: return true;
  }
  return false;
}

// The group is `owner`'s private group: its primary group, named as the user is, with no member
// but the user. Anything unknown (a lookup that fails) is not.
bool private_group(uid_t owner, gid_t gid) {
  std::vector<char> buffer(16384);
  struct passwd pw {};
  struct passwd* found_pw = nullptr;
  if (::getpwuid_r(owner, &pw, buffer.data(), buffer.size(), &found_pw) != 0 || found_pw == nullptr) return false;
  if (pw.pw_gid != gid) return false;
  const std::string user = pw.pw_name;
  struct group gr {};
  struct group* found_gr = nullptr;
  if (::getgrgid_r(gid, &gr, buffer.data(), buffer.size(), &found_gr) != 0 || found_gr == nullptr) return false;
  if (user != gr.gr_name) return false;
  for (char** member = gr.gr_mem; member != nullptr && *member != nullptr; ++member) {
    if (user != *member) return false;
  }
  return true;
}

}  // namespace

std::string untrusted_because(const struct stat& st, TrustedOwners owners) {
  if (!owner_trusted(st.st_uid, owners)) {
    return fmt::format("it is owned by uid {}, not by you{}", st.st_uid,
                       owners == TrustedOwners::you_or_root ? " or root" : "");
  }
  const bool others = (st.st_mode & S_IWOTH) != 0;
  const bool group = (st.st_mode & S_IWGRP) != 0;
  if (others || (group && !private_group(st.st_uid, st.st_gid))) {
    return fmt::format("it is writable by {} (mode {:o})", others ? "others" : fmt::format("group {}", st.st_gid),
                       st.st_mode & 07777);
  }
  return {};
}

std::string trust_advice(const struct stat& st, TrustedOwners owners, const std::string& path) {
  if (!owner_trusted(st.st_uid, owners)) {
    return fmt::format("if you meant to use it, have root make it yours (chown {} {}) or use a copy of your own",
                       ::geteuid(), path);
  }
  return fmt::format("chmod go-w {}", path);
}

}  // namespace tok

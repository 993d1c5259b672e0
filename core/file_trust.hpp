#pragma once
// Which files tok trusts (docs/design.md, "Files tok trusts"): the cache's rule, which is ssh's.
// A file that another user could have written is not used: its contents would run as you (a
// config's `provider = command`, a program it names) or decide whose token you get.
#include <sys/stat.h>

#include <string>

namespace tok {

enum class TrustedOwners {
  you,          // the cache, and secrets only you may read
  you_or_root,  // files root installs for everyone (/etc, /usr/bin) are fine too, as for ssh's config
  anyone,       // a file another program writes for us (a Kubernetes projected token)
};

// Why a file with this status is not to be trusted ("it is owned by uid 1001, not by you or
// root", "it is writable by group or others (mode 666)"), or empty when it may be used. A
// group-writable file is fine when its group is its owner's private group (the group named like
// the owner, with no other member: what a umask of 002 gives on Debian and Ubuntu), as Debian's
// ssh allows.
std::string untrusted_because(const struct stat& st, TrustedOwners owners);

// What fixes it: "chmod go-w PATH" for the mode, a chown by root (or a copy of one's own) for
// the owner. `path` as it may be printed.
std::string trust_advice(const struct stat& st, TrustedOwners owners, const std::string& path);

}  // namespace tok

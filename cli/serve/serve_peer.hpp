#pragma once
// Who is at the other end of a loopback connection: the uid owning the peer's socket, so that
// `tok serve` answers only its own user (docs/serve.md). Loopback keeps other machines out, not
// other accounts of this one.
#include <sys/socket.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace tok {

// The owner of the socket at `peer` connected to `local` (both ends on this host), asked of the
// kernel by the connection's 4-tuple: NETLINK_SOCK_DIAG (inet_diag) first, /proc/net/tcp{,6} when
// netlink cannot answer. nullopt when neither knows it (the peer has already closed): refuse.
std::optional<uid_t> peer_socket_uid(const sockaddr_storage& local, const sockaddr_storage& peer);

// The /proc/net/tcp (or tcp6) fallback on its text: the uid column of the line whose local
// address is `peer` and whose remote address is `local`.
std::optional<uid_t> uid_from_proc_net_tcp(std::string_view table, const sockaddr_storage& local,
                                           const sockaddr_storage& peer, bool tcp6);

// --allow-user: a user name from the password database or a numeric uid; throws Error(usage).
uid_t user_id(const std::string& name_or_uid);

}  // namespace tok

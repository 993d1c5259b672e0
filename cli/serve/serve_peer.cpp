#include "cli/serve/serve_peer.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"

namespace tok {

namespace {

// ---- NETLINK_SOCK_DIAG --------------------------------------------------------------------------

// One exact lookup (no dump): the kernel finds the socket whose own address is `peer` and whose
// remote address is `local`, i.e. the client's end, and reports its uid.
std::optional<uid_t> ask_inet_diag(const sockaddr_storage& local, const sockaddr_storage& peer) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  inet_diag_req_v2& r = message.request;
  r.sdiag_family = static_cast<std::uint8_t>(peer.ss_family);
  r.sdiag_protocol = IPPROTO_TCP;
  r.idiag_states = ~0U;
  r.id.idiag_cookie[0] = r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  // The client's end: its port and address are the peer's, its remote ones ours.
  const auto ends = [&](std::uint16_t peer_port, const void* peer_addr, std::uint16_t local_port, const void* local_addr,
                        std::size_t size) {
    r.id.idiag_sport = peer_port;
    r.id.idiag_dport = local_port;
    std::memcpy(r.id.idiag_src, peer_addr, size);
    std::memcpy(r.id.idiag_dst, local_addr, size);
  };
  if (peer.ss_family == AF_INET && local.ss_family == AF_INET) {
    const auto& p = reinterpret_cast<const sockaddr_in&>(peer);
    const auto& l = reinterpret_cast<const sockaddr_in&>(local);
    ends(p.sin_port, &p.sin_addr, l.sin_port, &l.sin_addr, sizeof p.sin_addr);
  } else if (peer.ss_family == AF_INET6 && local.ss_family == AF_INET6) {
    const auto& p = reinterpret_cast<const sockaddr_in6&>(peer);
    const auto& l = reinterpret_cast<const sockaddr_in6&>(local);
    ends(p.sin6_port, &p.sin6_addr, l.sin6_port, &l.sin6_addr, sizeof p.sin6_addr);
  } else {
    return std::nullopt;
  }
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  std::optional<uid_t> uid;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
      static_cast<ssize_t>(sizeof message)) {
    alignas(nlmsghdr) char answer[1024];
    const ssize_t n = ::recv(fd, answer, sizeof answer, 0);
    const auto* h = reinterpret_cast<const nlmsghdr*>(answer);
    if (n > 0 && NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
        h->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
      uid = static_cast<const inet_diag_msg*>(NLMSG_DATA(h))->idiag_uid;
    }
  }
  ::close(fd);
  return uid;
}

// ---- /proc/net/tcp{,6} --------------------------------------------------------------------------

// An address as the kernel prints it there: each 32-bit word of the address in host byte order
// ("%08X"), then ":" and the port ("%04X"). IPv4 peers of an IPv6 socket appear v4-mapped.
std::string proc_address(const sockaddr_storage& a, bool tcp6) {
  unsigned char bytes[16] = {};
  std::size_t size = 4;
  std::uint16_t port = 0;
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    port = ntohs(v4.sin_port);
    if (tcp6) {
      bytes[10] = bytes[11] = 0xff;
      std::memcpy(bytes + 12, &v4.sin_addr, 4);
      size = 16;
    } else {
      std::memcpy(bytes, &v4.sin_addr, 4);
    }
  } else {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    port = ntohs(v6.sin6_port);
    std::memcpy(bytes, &v6.sin6_addr, 16);
    size = 16;
  }
  std::string out;
  for (std::size_t word = 0; word < size; word += 4) {
    std::uint32_t w = 0;
    std::memcpy(&w, bytes + word, 4);
    out += fmt::format("{:08X}", w);
  }
  return out + fmt::format(":{:04X}", port);
}

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

std::optional<uid_t> read_proc_table(const char* path, const sockaddr_storage& local, const sockaddr_storage& peer,
                                     bool tcp6) {
  if (peer.ss_family == AF_INET6 && !tcp6) return std::nullopt;
  std::ifstream in(path);
  std::string line;
  // Line by line, and not forever: a host with very many sockets (the lookup is a fallback).
  for (int lines = 0; lines < (1 << 20) && std::getline(in, line); ++lines) {
    if (auto uid = uid_from_proc_net_tcp(line, local, peer, tcp6)) return uid;
  }
  return std::nullopt;
}

}  // namespace

std::optional<uid_t> uid_from_proc_net_tcp(std::string_view table, const sockaddr_storage& local,
                                           const sockaddr_storage& peer, bool tcp6) {
  if ((local.ss_family != AF_INET && local.ss_family != AF_INET6) ||
      (peer.ss_family != AF_INET && peer.ss_family != AF_INET6)) {
    return std::nullopt;
  }
  if (!tcp6 && (local.ss_family == AF_INET6 || peer.ss_family == AF_INET6)) return std::nullopt;
  const std::string want_local = proc_address(peer, tcp6);
  const std::string want_remote = proc_address(local, tcp6);
  while (!table.empty()) {
    const auto nl = table.find('\n');
    std::string_view line = table.substr(0, nl);
    table = nl == std::string_view::npos ? std::string_view{} : table.substr(nl + 1);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
    std::vector<std::string_view> fields;
    while (!line.empty() && fields.size() < 8) {
      const auto start = line.find_first_not_of(' ');
      if (start == std::string_view::npos) break;
      line.remove_prefix(start);
      const auto end = std::min(line.find(' '), line.size());
      fields.push_back(line.substr(0, end));
      line.remove_prefix(end);
    }
    if (fields.size() < 8 || !same_text(fields[1], want_local) || !same_text(fields[2], want_remote)) continue;
    const std::string_view uid = fields[7];
    if (uid.empty() || uid.size() > 10 || uid.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    const unsigned long value = std::stoul(std::string(uid));
    if (value > 0xFFFFFFFFUL) return std::nullopt;
    return static_cast<uid_t>(value);
  }
  return std::nullopt;
}

std::optional<uid_t> peer_socket_uid(const sockaddr_storage& local, const sockaddr_storage& peer) {
  if (auto uid = ask_inet_diag(local, peer)) return uid;
  if (auto uid = read_proc_table("/proc/net/tcp", local, peer, false)) return uid;
  return read_proc_table("/proc/net/tcp6", local, peer, true);
}

uid_t user_id(const std::string& name_or_uid) {
  if (!name_or_uid.empty() && name_or_uid.size() <= 10 &&
      name_or_uid.find_first_not_of("0123456789") == std::string::npos) {
    const unsigned long value = std::stoul(name_or_uid);
    if (value < 0xFFFFFFFFUL) return static_cast<uid_t>(value);
  }
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(name_or_uid.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    throw Error(ErrorKind::usage, fmt::format("--allow-user '{}': no such user (give a user name or a uid)", name_or_uid));
  }
  return found->pw_uid;
}

}  // namespace tok

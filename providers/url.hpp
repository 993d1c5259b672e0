#pragma once
// One reading of a URL for tok's own HTTP client, its checks and its messages (the helpers read
// git's and Docker's URLs by their callers' rules instead: cli/helpers/helper_url.hpp). RFC 3986's generic
// syntax, forgiving: the scheme ends at the first "://", the authority at the first of '/', '?' or
// '#', user info at its last '@'; a host in brackets keeps them. Nothing is decoded or validated.
#include <optional>
#include <string>
#include <string_view>

namespace tok {

struct Url {
  std::string scheme;     // as written, before the first "://"
  std::string userinfo;   // before the authority's last '@'
  std::string authority;  // host[:port] as written, without the user info
  std::string host;       // a name, an IPv4 literal or [v6]; empty for an unclosed bracket
  std::string port;       // after the host's ':'
  std::string path;       // from the authority's end up to '?' or '#'

  // nullopt when there is no "://".
  static std::optional<Url> split(std::string_view text);
};

// The URL as written, but for the password of its user info (`https://user:pass@host/...`,
// RFC 3986 §3.2.1 deprecates it, yet it is accepted and sent): "user:[redacted]@host". What tok
// shows of a configured URL (token_url, issuer, url) in messages, status, profiles and JSON, so
// that a password there is never printed (docs/keys.md).
std::string redacted_url(std::string_view url);

}  // namespace tok

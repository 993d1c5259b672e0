#include "providers/url.hpp"

#include <algorithm>

namespace tok {

std::optional<Url> Url::split(std::string_view text) {
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  Url url;
  url.scheme = std::string(text.substr(0, scheme_end));
  std::string_view rest = text.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  const std::string_view after = rest.substr(authority.size());
  url.path = std::string(after.substr(0, after.find_first_of("?#")));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  url.authority = std::string(authority);
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return url;  // no host: an unclosed bracket is none
    host = authority.substr(0, close + 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  url.host = std::string(host);
  if (authority.size() > host.size() && authority[host.size()] == ':') url.port = std::string(authority.substr(host.size() + 1));
  return url;
}

std::string redacted_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const std::size_t start = scheme_end + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", start), url.size());
  const std::string_view authority = url.substr(start, authority_end - start);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const auto colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);  // a user name only
  std::string out(url.substr(0, start + colon + 1));
  out += "[redacted]";
  out += url.substr(start + at);
  return out;
}

}  // namespace tok

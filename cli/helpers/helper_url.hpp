#pragma once
// One URL reader for every credential helper (docs/helpers.md): the URLs git and Docker send,
// read exactly as git and Docker read them, and the `git_hosts` / `docker_registries` entries they
// are matched against. A helper that reads a URL differently from its caller hands out a token for
// a host the caller never meant (`https://evil.test#@git.example.com/` is evil.test to git).
// Pure functions over hostile input: bounded by their callers, never crashing, errors quoting
// nothing of the input (it may hold a password).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tok {

// A host and port as the helpers compare them: the host lowercased (an IPv6 literal keeps its
// brackets), the port its digits, empty when none was given.
struct HostPort {
  std::string host;
  std::string port;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// `host`, `host:port`, `[v6]`, `[v6]:port`. nullopt for anything else: an empty host, a
// character other than ASCII letters, digits, '.', '-', '_' (internationalised names come as
// punycode) or, inside brackets, hex digits, ':' and '.'; a port that is not 1 to 5 digits up
// to 65535.
std::optional<HostPort> read_host_port(std::string_view authority);

// localhost, 127.0.0.0/8 or [::1]: a token sent there in clear never leaves the machine.
bool is_loopback(const HostPort& address);

// A `url=` attribute read by git's credential_from_url (git's credential.c): the scheme up to the
// first "://" (required, not empty); the host ends at the first of '/', '?' or '#'; user info is
// what comes before the first '@' when that '@' is before the host's end (user, then password
// after the first ':'); the path starts after the host's end with leading slashes and trailing
// ones removed. Percent-decoding as git's url_decode_mem: `%XX` for XX other than 00, and not
// before the first ':' of a part (git copies that stretch as is). A part holding a control
// character after decoding is an Error(usage) (git refuses a newline; tok every control).
struct GitUrl {
  std::string protocol;
  std::string host;  // host[:port], decoded
  std::string path;
  std::string username;
  std::string password;
};
GitUrl read_git_url(std::string_view url);

// Docker's server URL (`https://registry.example.com/v2/`, `localhost:5000`), as the Docker CLI
// turns it into the registry's host name (its ConvertToHostname): a scheme only at the very
// start, `http://` or `https://`, then the host and port up to the first '/'. Blanks around it
// are dropped. nullopt when that is not a host and port (user info, a '?' or '#', another scheme).
// No scheme means https: Docker names its registries without one.
struct RegistryUrl {
  std::string scheme;
  HostPort address;
};
std::optional<RegistryUrl> read_registry_url(std::string_view url);

// A comma-separated key (`git_hosts`, `docker_registries`): entries trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view value);

// A `git_hosts` or `docker_registries` entry: `[http:// or https://]host[:port][/path/prefix]`.
// Without a scheme the entry means https. The prefix's segments keep their case; empty and '.'
// segments are dropped. Error(usage) for anything else (another scheme, not a host, a '..').
struct HelperEntry {
  std::string scheme;
  HostPort address;
  std::vector<std::string> path;
};
HelperEntry read_helper_entry(std::string_view entry);

// A request path as segments: empty and '.' segments dropped; nullopt when one is '..' (what the
// server makes of it is not ours to guess, so it matches no prefix).
std::optional<std::vector<std::string>> path_segments(std::string_view path);

// Whether an entry may answer a request made over `scheme` to `address` (whose host and port it
// names): https always; http only when the entry says `http://` or the host is loopback, since
// over http the token crosses the network in clear. Any other scheme: never.
bool scheme_allowed(const HelperEntry& entry, std::string_view scheme, const HostPort& address);

}  // namespace tok

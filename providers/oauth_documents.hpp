#pragma once
// What an issuer sends a login besides an access token: its metadata (OpenID Connect discovery,
// RFC 8414), a device authorization (RFC 8628 3.2) and a token answer's refresh and ID tokens.
// Pure functions of the body, called by the oauth provider, the unit tests and the fuzz targets;
// what they return is checked and bounded (docs/login.md, "What tok accepts from an issuer"),
// but for the refresh and ID tokens, which the client checks as it keeps them.
#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace tok {

// The endpoints a login uses, by their metadata names ("token_endpoint",
// "authorization_endpoint", "device_authorization_endpoint", "revocation_endpoint").
using DiscoveredEndpoints = std::map<std::string, std::string>;

struct Discovery {
  DiscoveredEndpoints endpoints;  // token_endpoint always among them, unless `problem` is set
  std::string problem;            // why this document is of no use: the next well-known URL is tried
};

// An issuer's metadata document. Every endpoint it names is an http(s) URL check_url accepts,
// made of visible ASCII only (no control character, space or byte above 0x7e, so nothing it
// holds can forge a line on a terminal); one that is not throws Error(unavailable). `issuer` is
// the issuer as configured: the document's `issuer` must be identical to it, byte for byte,
// trailing slash included (RFC 8414 3.3, OpenID Connect Discovery 4.3), else Error(unavailable)
// naming both (the advice says which value to set). A body that is not a JSON object or names no
// token_endpoint is a `problem`, not an error. `what` names the request in messages.
Discovery read_discovery_document(std::string_view body, std::string_view issuer, std::string_view what);

// RFC 8628 3.2, bounded.
struct DeviceAnswer {
  std::string device_code;                // at most 4 KiB
  std::string user_code;                  // printable (shown on the terminal)
  std::string verification_uri;           // a URL check_url accepts, visible ASCII only
  std::string verification_uri_complete;  // the same, or empty when the issuer gave none usable
  std::chrono::seconds expires_in{0};     // 1 s to 24 h
  std::chrono::seconds interval{0};       // 1 s to 600 s (see kDeviceDefaultInterval)
};

// RFC 8628 3.2: 5 s when the issuer names no interval. tok also uses it when the interval is not
// a whole number or is below 1 s ("interval": 0 would poll the token endpoint without pause).
inline constexpr std::chrono::seconds kDeviceDefaultInterval{5};
// The longest wait between two polls tok accepts, from the answer or grown by slow_down.
inline constexpr std::chrono::seconds kDeviceMaxInterval{600};
// RFC 8628 3.5: each slow_down adds this to the interval for the rest of the login.
inline constexpr std::chrono::seconds kDeviceSlowDownStep{5};

// Throws Error(unavailable) "malformed answer" quoting the body (redacted, the device code cut
// out) when a required member is missing or out of bounds.
DeviceAnswer read_device_authorization(std::string_view body, std::string_view what);

// What a login's token answer carries besides the access token (parse_token_response reads that):
// its refresh_token and id_token members as sent, "" when absent or not a string. Unchecked: the
// caller bounds them.
struct LoginTokenMembers {
  std::string refresh_token;
  std::string id_token;
};
LoginTokenMembers read_login_token_members(std::string_view body);

// True when `url` may be used as an endpoint or shown: check_url accepts it and every byte is
// visible ASCII (0x21 to 0x7e).
bool is_usable_url(std::string_view url);

}  // namespace tok

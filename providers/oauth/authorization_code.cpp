// RFC 6749 4.1 with PKCE (RFC 7636, S256): the browser login. tok login runs the loopback
// redirect (cli/commands/login.cpp); here are the URL it opens and the redemption of the code.
#include <charconv>

#include <fmt/format.h>

#include "providers/oauth/grants.hpp"

namespace tok {

std::string authorization_url(const OAuthClient& client, ProviderMemo& memo, const std::string& redirect_uri,
                              const std::string& state, const std::string& code_challenge) {
  const std::string endpoint = client.endpoint("authorization_endpoint", client.request_deadline(), memo,
                                               client.deps().retry_policy(FetchMode::blocking));
  std::string url = endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&");
  url += "response_type=code&client_id=" + form_encode(client.client_id()) +
         "&redirect_uri=" + form_encode(redirect_uri) + "&state=" + form_encode(state) +
         "&code_challenge=" + form_encode(code_challenge) + "&code_challenge_method=S256";
  if (!client.scope().empty()) url += "&scope=" + form_encode(client.scope());
  return url;
}

LoginGrant redeem_code(const OAuthClient& client, ProviderMemo& memo, const std::string& code,
                       const std::string& redirect_uri, const std::string& code_verifier) {
  const std::string endpoint = client.endpoint("token_endpoint", client.request_deadline(), memo,
                                               client.deps().retry_policy(FetchMode::blocking));
  return client.request_token(endpoint,
                              "grant_type=authorization_code&code=" + form_encode(code) + "&redirect_uri=" +
                                  form_encode(redirect_uri) + "&code_verifier=" + form_encode(code_verifier),
                              {code, code_verifier}, client.request_deadline(), FetchMode::blocking);
}

int redirect_port_of(const ProviderSettings& settings) {
  const auto port = settings.get("redirect_port");
  if (!port) return 0;
  int value = -1;
  const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
  if (ec != std::errc() || end != port->data() + port->size() || value < 1 || value > 65535) {
    throw Error(ErrorKind::usage, fmt::format("key 'redirect_port': '{}' is not a port (1-65535)", printable(*port)));
  }
  return value;
}

}  // namespace tok

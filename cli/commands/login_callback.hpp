#pragma once
// What `tok login`'s loopback listener makes of one request (RFC 6749 4.1.2, RFC 8252 7.3): a
// pure function of the request and the login's `state`, for cli/commands/login.cpp, the unit tests and
// the fuzz target. Whatever it returns is bounded and printable where it is shown.
#include <string>
#include <string_view>

#include "providers/metadata/exchange.hpp"

namespace tok {

struct LoginCallback {
  enum class Kind {
    not_found,  // not /callback
    not_ours,   // no state, another state, or a parameter given twice (RFC 6749 3.1): ignored
    no_code,    // our state, but neither a code nor an error: ignored
    failed,     // our state and the issuer's error: ends the login with `problem`
    code,       // our state and a code (1 to 4096 bytes): ends the wait
  };
  Kind kind = Kind::not_found;
  std::string code;     // kind == code
  std::string problem;  // kind == failed: "the provider ended the login: CODE: DESCRIPTION", printable
};

LoginCallback read_login_callback(const ServerRequest& request, std::string_view state);

}  // namespace tok

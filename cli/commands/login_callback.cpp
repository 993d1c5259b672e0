#include "cli/commands/login_callback.hpp"

#include <fmt/format.h>

#include "providers/http.hpp"

namespace tok {

LoginCallback read_login_callback(const ServerRequest& request, std::string_view state) {
  LoginCallback out;
  if (request.path != "/callback") return out;
  out.kind = LoginCallback::Kind::not_ours;
  // RFC 6749 3.1: no parameter more than once; a second state or code is not the issuer's.
  for (const char* name : {"state", "code", "error", "error_description"}) {
    if (request.params.count(name) > 1) return out;
  }
  const auto given = request.param("state");
  if (!given || state.empty() || *given != state) return out;
  if (auto error = request.param("error")) {
    out.kind = LoginCallback::Kind::failed;
    out.problem = fmt::format("the provider ended the login: {}", printable(error->substr(0, 100)));
    if (auto d = request.param("error_description")) out.problem += ": " + printable(d->substr(0, 200));
    return out;
  }
  auto code = request.param("code");
  if (!code || code->empty() || code->size() > 4096) {
    out.kind = LoginCallback::Kind::no_code;
    return out;
  }
  out.kind = LoginCallback::Kind::code;
  out.code = std::move(*code);
  return out;
}

}  // namespace tok

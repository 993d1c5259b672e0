#include "core/error.hpp"

namespace tok {

int exit_code(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return 2;
    case ErrorKind::refused: return 3;
    case ErrorKind::unavailable: return 4;
    case ErrorKind::storage: return 5;
    case ErrorKind::internal: return 1;
  }
  return 1;
}

Error in_context(const Error& error, std::string_view context) {
  Error out(error.kind(), std::string(context) + ": " + error.what(), error.advice());
  if (error.outage()) out.mark_outage(error.retry_after());
  if (error.login_ended()) out.mark_login_ended();
  if (!error.oauth_error().empty()) out.with_oauth_error(error.oauth_error());
  return out;
}

}  // namespace tok

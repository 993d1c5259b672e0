#pragma once
// The credential-helper protocols (docs/integrations.md, docs/helpers.md), both ways: what git,
// Docker and kubectl send (git's `key=value` lines, Docker's server URL or store request,
// $KUBERNETES_EXEC_INFO) and the answers tok writes back. Everything read is hostile input: sizes
// are bounded, garbage is an Error(usage) whose message never quotes the input (it may hold a
// password), and nothing crashes. Pure functions, so unit tests and fuzz targets call them as is.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace tok {

// A git credential line may be this long (without its newline); the whole request this long.
inline constexpr std::size_t kGitLineMax = 64 * 1024;
inline constexpr std::size_t kGitInputMax = 1024 * 1024;
// Docker sends one URL or one small JSON object.
inline constexpr std::size_t kDockerInputMax = 64 * 1024;

// The attributes of a git credential request that tok reads; git sends more (capability[],
// wwwauth[], ...) and those are ignored.
struct GitCredentialRequest {
  std::string protocol;
  std::string host;  // host[:port], as git sends it
  std::string path;  // only when credential.useHttpPath is set; no leading or trailing slash
  std::string username;
  std::string password;
};

// True once `input` holds a whole request: it ends at the first blank line.
bool git_request_complete(std::string_view input);

// Parses `key=value` lines up to the first blank line or the end of `input`. A line longer than
// kGitLineMax, a NUL byte, a carriage return, a line without `=` or with an empty key is an
// Error(usage). Later keys replace earlier ones; `url=` resets the request and fills protocol,
// host, path and user from the URL, as git does.
GitCredentialRequest parse_git_credential(std::string_view input);

// `docker-credential-* store` input: {"ServerURL": ..., "Username": ..., "Secret": ...}.
// Malformed JSON, a non-object or non-string fields: Error(usage); a missing ServerURL or Username
// gets Docker's own messages ("no credentials server URL", "no credentials username").
struct DockerStoreRequest {
  std::string server_url;
  std::string username;
};
DockerStoreRequest parse_docker_store(std::string_view input);

// What tok reads of $KUBERNETES_EXEC_INFO: the ExecCredential apiVersion kubectl asks for (v1
// when the variable is unset) and spec.interactive (unset when kubectl did not say). Nothing else:
// with provideClusterInfo the variable also carries the cluster, CA bundle included. Malformed
// JSON, no apiVersion or another version than v1 and v1beta1 is an Error(usage).
inline constexpr std::string_view kExecCredentialV1 = "client.authentication.k8s.io/v1";
inline constexpr std::string_view kExecCredentialV1beta1 = "client.authentication.k8s.io/v1beta1";
// kubectl (client-go) sets no bound of its own: the variable passes through execve, which refuses
// one string over MAX_ARG_STRLEN (32 pages, 128 KiB, name included), so nothing longer arrives.
inline constexpr std::size_t kExecInfoMax = 128 * 1024;
struct ExecInfo {
  std::string api_version;
  std::optional<bool> interactive;
};
ExecInfo read_exec_info(const char* exec_info);

// git's answer to `get`: username, password (the token) and, for a token that expires,
// password_expiry_utc (epoch seconds) so that git drops it in time. A value git would not read
// back whole (a line break, a CR or a NUL in it) is an Error, never written.
std::string git_answer(std::string_view username, std::string_view token, std::optional<TimePoint> expiry);
// Docker's answer to `get`: {"ServerURL", "Username", "Secret"} on one line.
std::string docker_answer(std::string_view server_url, std::string_view username, std::string_view token);
// kubectl's ExecCredential in the apiVersion it asked for. `reuse_until` (the token's expiry minus
// the buffer, so kubectl asks again before the token dies) becomes expirationTimestamp; none:
// kubectl keeps the token.
std::string exec_credential(std::string_view api_version, std::string_view token, std::optional<TimePoint> reuse_until);

// Reads standard input to its end, or (git) to the end of the request. More than `limit` bytes is
// an Error(usage); a read error an Error(internal).
std::string read_stdin(std::size_t limit);
std::string read_git_request_from_stdin();

}  // namespace tok

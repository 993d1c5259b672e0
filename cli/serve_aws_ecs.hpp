#pragma once
// The ECS container-credentials protocol, as `tok serve --aws-ecs PROFILE` answers it
// (docs/aws.md): every AWS SDK on the host asks AWS_CONTAINER_CREDENTIALS_FULL_URI with
// `Authorization: <AWS_CONTAINER_AUTHORIZATION_TOKEN>` and gets the profile's AWS credential.
// Pure, as the other protocols (serve_protocols.hpp): a request in, a response out.
#include <string>
#include <string_view>

#include "cli/http_server.hpp"
#include "cli/serve_protocols.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace tok {

// The path of AWS_CONTAINER_CREDENTIALS_FULL_URI. botocore (1.29, Debian's) accepts a full URI
// only on 127.0.0.1, localhost or 169.254.170.2, over http.
inline constexpr const char* kAwsEcsPath = "/aws/ecs/credentials";

// `Authorization` must be the per-run secret exactly (botocore sends the variable's value as it
// is, no scheme): 401 otherwise, before the credential is asked for. Then 200 with
// {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} (Token empty for long-term keys:
// botocore requires the field), or 500 when the profile's source gives no AWS credential.
ServerResponse answer_aws_ecs(const ServedProfile& profile, std::string_view secret, const ServerRequest& request,
                              const Clock& clock);

// An error in the shape of the ECS agent's: {"code", "message"}; `message` is also the -v reason.
ServerResponse aws_ecs_error(int status, const char* code, const std::string& message);

// A credential the engine could not produce (403 refused, 503 unavailable, 500 otherwise).
ServerResponse aws_ecs_failure(const Error& e);

}  // namespace tok

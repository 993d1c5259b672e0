#pragma once
// The ECS container-credentials protocol, as `tok serve --aws-ecs PROFILE` answers it
// (docs/aws.md): every AWS SDK on the host asks AWS_CONTAINER_CREDENTIALS_FULL_URI with
// `Authorization: <AWS_CONTAINER_AUTHORIZATION_TOKEN>` and gets the profile's AWS credential.
// Server side only: tok reads AWS credentials from a command (providers/aws_credential.hpp), not
// from an ECS agent. The protocol unit's shape: providers/metadata/protocol.hpp.
#include <string>
#include <string_view>

#include "providers/metadata/protocol.hpp"

namespace tok::aws_ecs {

// The path of AWS_CONTAINER_CREDENTIALS_FULL_URI. botocore (1.29, Debian's) accepts a full URI
// only on 127.0.0.1, localhost or 169.254.170.2, over http.
inline constexpr std::string_view kPath = "/aws/ecs/credentials";
inline constexpr std::string_view kUriVariable = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
inline constexpr std::string_view kTokenVariable = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

// `Authorization` must be the per-run secret exactly (botocore sends the variable's value as it
// is, no scheme): 401 otherwise, before the credential is asked for. Then 200 with
// {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} (Token empty for long-term keys:
// botocore requires the field), or 500 when the profile's source gives no AWS credential.
// Errors in the ECS agent's shape: {"code", "message"}.
class Served final : public ServedProtocol {
 public:
  Served(std::string profile, std::string secret, TokenGetter get);
  bool owns(std::string_view path) const override;
  ServerResponse answer(const ServerRequest& request, const Clock& clock) const override;
  ServerResponse refusal(int status, const std::string& message) const override;
  ServerResponse failure(const Error& error) const override;

 private:
  std::string profile_;
  std::string secret_;
  TokenGetter get_;
};

}  // namespace tok::aws_ecs

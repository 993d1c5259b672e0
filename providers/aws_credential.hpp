#pragma once
// AWS credentials as tok carries them (docs/aws.md): the parts of an AWS credential are a token's
// secret fields, read from AWS's credential_process JSON (token_response.cpp, for
// `provider = command`) and written back as it (`tok get --format credential-process`).
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.hpp"
#include "core/token.hpp"

namespace tok {

// The names of Token::fields for an AWS credential: those of credential_process JSON.
inline constexpr const char* kAwsAccessKeyId = "AccessKeyId";
inline constexpr const char* kAwsSecretAccessKey = "SecretAccessKey";
inline constexpr const char* kAwsSessionToken = "SessionToken";  // absent for long-term keys

// token_type of an AWS credential: what signs with it (SigV4), never a bearer scheme.
inline constexpr const char* kAwsTokenType = "AWS4-HMAC-SHA256";

// A token that is an AWS credential: it has an access key id and a secret access key.
bool is_aws_credential(const Token& token);

// credential_process JSON is an object with an AccessKeyId (an object with access_token is a
// bearer token, whatever else it has).
bool is_credential_process_answer(const nlohmann::json& object);

// Reads credential_process JSON (Version 1; AccessKeyId, SecretAccessKey, optional SessionToken
// and Expiration). access_token holds the access key id: the one part that is not a secret on its
// own, and a b64token like every access_token. The expiry is `expiration` checked by the caller
// (the same bounds as any lifetime). Throws Error(unavailable) "malformed response: WHY" naming a
// field, its type or its length, never a value.
struct CredentialProcessAnswer {
  Token token;
  std::optional<std::string> expiration;  // as written, RFC 3339 expected
};
CredentialProcessAnswer read_credential_process(const nlohmann::json& object);

// The credential as credential_process JSON, one line: {"Version": 1, "AccessKeyId",
// "SecretAccessKey", "SessionToken" (when it has one), "Expiration" (RFC 3339 UTC, when it has
// one)}. The caller checks is_aws_credential first.
std::string write_credential_process(const Token& token);

}  // namespace tok

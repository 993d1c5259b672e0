#include "providers/aws_credential.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/time_format.hpp"

namespace tok {

namespace {

[[noreturn]] void malformed(const std::string& why) {
  throw Error(ErrorKind::unavailable, fmt::format("malformed response: {}", why));
}

// A field's value as a string, or a message naming what it is instead. Values never appear.
std::string string_field(const nlohmann::json& object, const char* name, bool required) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    if (required) malformed(fmt::format("credential_process JSON without {}", name));
    return {};
  }
  if (!it->is_string()) malformed(fmt::format("{} is a JSON {}, not a string", name, it->type_name()));
  const auto& value = it->get_ref<const std::string&>();
  if (value.empty() && required) malformed(fmt::format("{} is empty", name));
  if (value.size() > 16 * 1024) malformed(fmt::format("{} is {} characters long (at most 16384)", name, value.size()));
  if (!is_field_value(value)) {
    malformed(fmt::format("{} ({} characters) has characters outside printable ASCII", name, value.size()));
  }
  return value;
}

}  // namespace

bool is_aws_credential(const Token& token) {
  return token.fields.count(kAwsAccessKeyId) != 0 && token.fields.count(kAwsSecretAccessKey) != 0;
}

bool is_credential_process_answer(const nlohmann::json& object) {
  return object.is_object() && object.contains(kAwsAccessKeyId) && !object.contains("access_token") &&
         !object.contains("accessToken");
}

CredentialProcessAnswer read_credential_process(const nlohmann::json& object) {
  // AWS defines version 1 only; an SDK refuses anything else, so does tok.
  const auto version = object.find("Version");
  if (version == object.end()) malformed("credential_process JSON without Version (1 is expected)");
  if (!version->is_number_integer() || version->get<std::int64_t>() != 1) {
    malformed(fmt::format("Version is {} (1 is expected)",
                          version->is_number_integer() ? std::to_string(version->get<std::int64_t>())
                                                       : std::string("a JSON ") + version->type_name()));
  }
  CredentialProcessAnswer answer;
  Token& token = answer.token;
  const std::string id = string_field(object, kAwsAccessKeyId, true);
  if (!is_b64token(id)) malformed(fmt::format("AccessKeyId ({} characters) is not an access key id", id.size()));
  token.access_token = id;
  token.token_type = kAwsTokenType;
  token.fields[kAwsAccessKeyId] = id;
  token.fields[kAwsSecretAccessKey] = string_field(object, kAwsSecretAccessKey, true);
  if (std::string session = string_field(object, kAwsSessionToken, false); !session.empty()) {
    token.fields[kAwsSessionToken] = std::move(session);
  }
  if (const auto exp = object.find("Expiration"); exp != object.end() && !exp->is_null()) {
    if (!exp->is_string()) malformed(fmt::format("Expiration is a JSON {}, not a string", exp->type_name()));
    answer.expiration = exp->get<std::string>();
  }
  return answer;
}

std::string write_credential_process(const Token& token) {
  nlohmann::ordered_json out;
  out["Version"] = 1;
  out[kAwsAccessKeyId] = token.fields.at(kAwsAccessKeyId);
  out[kAwsSecretAccessKey] = token.fields.at(kAwsSecretAccessKey);
  if (const auto it = token.fields.find(kAwsSessionToken); it != token.fields.end()) out[kAwsSessionToken] = it->second;
  if (token.expiry) out["Expiration"] = format_rfc3339(*token.expiry);
  return out.dump();
}

}  // namespace tok

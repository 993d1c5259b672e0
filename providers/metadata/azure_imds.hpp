#pragma once
// Azure's Instance Metadata Service (IMDS), as azure-identity's ImdsManagedIdentitySource speaks
// it: GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R[&client_id|object_id|
// msi_res_id=ID] with Metadata: true; the answer carries its numbers as strings. IMDS answers 410
// while it starts. What App Service shares with it (the query's rules, the error shape) is here too.
// The protocol unit's shape: providers/metadata/protocol.hpp.
#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "providers/metadata/protocol.hpp"

namespace tok::azure {

inline constexpr std::string_view kImdsAuthority = "http://169.254.169.254";
inline constexpr std::string_view kImdsPath = "/metadata/identity/oauth2/token";
inline constexpr std::string_view kImdsApiVersion = "2018-02-01";
inline constexpr std::string_view kImdsHost = "169.254.169.254";
// IMDS answers 410 while it starts (up to 70 s after a VM boots, by Azure's documentation).
inline constexpr auto kImdsStartup = std::chrono::seconds(70);

// {error, error_description}: the shape of IMDS's and App Service's errors.
ServerResponse error_response(int status, const char* code, const std::string& description);
// A token the engine could not produce, in that shape.
ServerResponse failure_response(const Error& error);
// What both Azure protocols check of the query: the api-version, the resource, and that no other
// identity is asked for (the served profile is one identity). `ids`: the protocol's names for one.
std::optional<ServerResponse> query_refusal(const ServerRequest& r, std::string_view resource,
                                            std::string_view client_id, std::initializer_list<const char*> ids);
// What an Azure token request names: the resource, and the identity when the machine has several.
struct TokenQuery {
  std::string resource;
  std::string identity_name;  // client_id, object_id, msi_res_id or empty (the only identity)
  std::string identity_value;
  // "?api-version=V&resource=R[&NAME=VALUE]" ('&' first when `url` has a query already).
  std::string text(std::string_view url, std::string_view api_version) const;
};

class ImdsSource final : public MetadataSource {
 public:
  ImdsSource(std::string url, TokenQuery query);
  HttpRequest request(std::vector<std::string>& secrets) const override;
  void adjust_retry(RetryPolicy& retry) const override;

 protected:
  void refuse(long status, const std::string& message, const AnswerContext& context) const override;

 private:
  TokenQuery query_;
};

class ImdsServed final : public ServedProtocol {
 public:
  // resource: the one it serves; client_id: the one a request may name (empty: none).
  ImdsServed(std::string resource, std::string client_id, TokenGetter get);
  bool owns(std::string_view path) const override { return path == kImdsPath; }
  ServerResponse answer(const ServerRequest& request, const Clock& clock) const override;
  ServerResponse refusal(int status, const std::string& message) const override;
  ServerResponse failure(const Error& error) const override;

 private:
  std::string resource_;
  std::string client_id_;
  TokenGetter get_;
};

}  // namespace tok::azure

#pragma once
// Azure App Service and Functions' managed identity endpoint, as azure-identity's
// AppServiceManagedIdentitySource speaks it: GET IDENTITY_ENDPOINT?api-version=2019-08-01&
// resource=R[&client_id|principal_id|mi_res_id=ID] with X-IDENTITY-HEADER: IDENTITY_HEADER (a
// secret of the sandbox). The answer is IMDS's without expires_in; errors are IMDS's shape.
// The protocol unit's shape: providers/metadata/protocol.hpp.
#include <string>
#include <string_view>

#include "core/world.hpp"
#include "providers/metadata/azure_imds.hpp"

namespace tok::azure {

inline constexpr std::string_view kAppServicePath = "/msi/token";
inline constexpr std::string_view kAppServiceApiVersion = "2019-08-01";
inline constexpr std::string_view kIdentityHeader = "X-IDENTITY-HEADER";
// The environment the App Service sandbox sets; IDENTITY_HEADER's value is a secret.
inline constexpr const char* kEndpointVariable = "IDENTITY_ENDPOINT";
inline constexpr const char* kHeaderVariable = "IDENTITY_HEADER";

class AppServiceSource final : public MetadataSource {
 public:
  // The identity by IMDS's name for it (client_id, object_id, msi_res_id); App Service names two
  // of them differently (principal_id, mi_res_id).
  AppServiceSource(std::string url, TokenQuery query, const World& world);
  // Reads $IDENTITY_HEADER (from the world) now, not kept: throws when it is no longer set.
  HttpRequest request(std::vector<std::string>& secrets) const override;

 protected:
  void refuse(long status, const std::string& message, const AnswerContext& context) const override;

 private:
  TokenQuery query_;
  const World& world_;
};

class AppServiceServed final : public ServedProtocol {
 public:
  // secret: this run's IDENTITY_HEADER; resource and client_id as ImdsServed.
  AppServiceServed(std::string secret, std::string resource, std::string client_id, TokenGetter get);
  bool owns(std::string_view path) const override { return !secret_.empty() && path == kAppServicePath; }
  ServerResponse answer(const ServerRequest& request, const Clock& clock) const override;
  ServerResponse refusal(int status, const std::string& message) const override;
  ServerResponse failure(const Error& error) const override { return failure_response(error); }

 private:
  std::string secret_;
  std::string resource_;
  std::string client_id_;
  TokenGetter get_;
};

}  // namespace tok::azure

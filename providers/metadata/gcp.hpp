#pragma once
// The GCP metadata server, as google-auth and the Cloud SDKs speak it: GET
// /computeMetadata/v1/instance/service-accounts/ACCOUNT/token[?scopes=A,B] with
// Metadata-Flavor: Google; every answer carries Metadata-Flavor: Google back, which is how a
// client knows it reached the metadata server. The root and the account's directory answer too:
// google.auth.default() asks `GET /` to decide it runs on GCE.
// Identity tokens (what `gcloud auth print-identity-token` prints on GCP): GET
// .../ACCOUNT/identity?audience=AUD&format=full answers a JWT, as text, whose `exp` is its expiry.
// The protocol unit's shape: providers/metadata/protocol.hpp.
#include <string>
#include <string_view>
#include <vector>

#include "providers/metadata/protocol.hpp"

namespace tok::gcp {

inline constexpr std::string_view kHost = "metadata.google.internal";
inline constexpr std::string_view kAccountsPrefix = "/computeMetadata/v1/instance/service-accounts/";
inline constexpr std::string_view kFlavorHeader = "Metadata-Flavor";

class Source final : public MetadataSource {
 public:
  // base: the server's scheme and authority; account: "default" or a service account's e-mail;
  // id_token_audience: when not empty, an identity token for it instead of an access token.
  Source(std::string base, std::string account, std::vector<std::string> scopes, std::string id_token_audience = {});
  HttpRequest request(std::vector<std::string>& secrets) const override;

 protected:
  void check_answer(const HttpResponse& response, const AnswerContext& context) const override;
  void refuse(long status, const std::string& message, const AnswerContext& context) const override;
  Token parse_success(const HttpResponse& response, const AnswerContext& context) const override;

 private:
  std::string account_;
  bool identity_ = false;
};

class Served final : public ServedProtocol {
 public:
  // account: the e-mail it reports; scopes: the profile's, the only ones a request may ask for.
  Served(std::string account, std::vector<std::string> scopes, TokenGetter get);
  bool owns(std::string_view path) const override;
  ServerResponse answer(const ServerRequest& request, const Clock& clock) const override;
  ServerResponse refusal(int status, const std::string& message) const override;
  ServerResponse failure(const Error& error) const override;

 private:
  ServerResponse account_answer(const ServerRequest& request, const Clock& clock) const;
  std::string account_;
  std::vector<std::string> scopes_;
  TokenGetter get_;
};

}  // namespace tok::gcp

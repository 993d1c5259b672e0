#pragma once
// Databricks' metadata service, as the Databricks SDKs' "metadata-service" credentials speak it:
// GET DATABRICKS_METADATA_SERVICE_URL with X-Databricks-Metadata-Version: 1 and the workspace in
// X-Databricks-Host; the answer {access_token, token_type, expires_on (epoch seconds)}.
// The protocol unit's shape: providers/metadata/protocol.hpp.
#include <string>
#include <string_view>

#include "providers/metadata/protocol.hpp"

namespace tok::databricks {

inline constexpr std::string_view kVersionHeader = "X-Databricks-Metadata-Version";
inline constexpr std::string_view kHostHeader = "X-Databricks-Host";

// "/databricks/SECRET/token": the path tok serve gives DATABRICKS_METADATA_SERVICE_URL.
std::string served_path(std::string_view secret);

class Source final : public MetadataSource {
 public:
  // url: the service (on this machine); workspace_host: the workspace URL the token is for.
  Source(std::string url, std::string workspace_host);
  HttpRequest request(std::vector<std::string>& secrets) const override;

 protected:
  void refuse(long status, const std::string& message, const AnswerContext& context) const override;

 private:
  std::string workspace_host_;
};

class Served final : public ServedProtocol {
 public:
  // secret: the random path segment; workspace_host: what X-Databricks-Host must name.
  Served(std::string secret, std::string workspace_host, TokenGetter get);
  bool owns(std::string_view path) const override;
  ServerResponse answer(const ServerRequest& request, const Clock& clock) const override;
  ServerResponse refusal(int status, const std::string& message) const override;
  ServerResponse failure(const Error& error) const override;
  std::vector<std::string> path_secrets() const override { return {secret_}; }

 private:
  std::string secret_;
  std::string path_;
  std::string workspace_host_;
  TokenGetter get_;
};

}  // namespace tok::databricks

// tok kube-credential: a Kubernetes client-go exec credential plugin (integrations.md). kubectl
// runs it from the kubeconfig's users[].user.exec and reads an ExecCredential on stdout.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/credential_input.hpp"
#include "cli/session.hpp"
#include "core/time_format.hpp"

namespace tok {

void add_kube_credential_command(CLI::App& app, Session& session) {
  CLI::App* cmd = app.add_subcommand("kube-credential", "Kubernetes exec credential plugin: print an ExecCredential");
  cmd->callback([&session] {
    session.run = [&session] {
      // The answer must carry the apiVersion kubectl asked for, else kubectl refuses it.
      const std::string api_version = exec_credential_api_version(std::getenv("KUBERNETES_EXEC_INFO"));
      ProfileContext ctx(session);
      const GetResult result = ctx.engine(session).get();
      nlohmann::ordered_json status;
      status["token"] = result.token.access_token;
      // kubectl reuses the token until this instant, so it is the expiry minus the buffer: it asks
      // again (and tok refreshes) before the token dies. No expiry: no timestamp, kubectl keeps it.
      if (result.token.expiry) status["expirationTimestamp"] = format_rfc3339(*result.token.expiry - ctx.profile.engine.expiry_buffer);
      nlohmann::ordered_json out;
      out["apiVersion"] = api_version;
      out["kind"] = "ExecCredential";
      out["status"] = std::move(status);
      fmt::print("{}\n", out.dump());
      return 0;
    };
  });
}

}  // namespace tok

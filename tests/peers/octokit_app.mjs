// GitHub's own App client, @octokit/auth-app (pinned in package-lock.json), asking the loopback
// stand-in of GitHub's API (tests/support/github_api.py) for an installation token, so the
// stand-in that checks tok is itself checked against GitHub's client.
//   node octokit_app.mjs BASE_URL APP_ID KEY_FILE INSTALLATION_ID
// Prints {"token", "expiresAt", "permissions", "repositorySelection"} as one JSON line.
import { readFileSync } from "node:fs";
import { createAppAuth } from "@octokit/auth-app";
import { request } from "@octokit/request";

const [baseUrl, appId, keyFile, installationId] = process.argv.slice(2);
const auth = createAppAuth({
  appId,
  privateKey: readFileSync(keyFile, "utf8"),
  request: request.defaults({ baseUrl }),
});
const result = await auth({ type: "installation", installationId: Number(installationId) });
console.log(JSON.stringify({
  token: result.token,
  expiresAt: result.expiresAt,
  permissions: result.permissions,
  repositorySelection: result.repositorySelection,
}));

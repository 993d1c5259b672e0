"""Peer tests for provider = github-app: GitHub's own App client and GitHub's CLI against the
loopback stand-in of GitHub's API (tests/support/github_api.py).

- @octokit/auth-app (npm, pinned in tests/peers/package-lock.json; `npm ci` in tests/peers) gets
  an installation token from the same stand-in tok gets its tokens from, with the server's clock
  on time and 30 s behind: the stand-in's checks are GitHub's client's expectations too.
- `gh api user` (Debian's gh) with the token `tok exec --env-name GH_ENTERPRISE_TOKEN` hands it,
  against the stand-in over TLS as an Enterprise Server (`GH_HOST`, the test CA).

Run: TOK_BIN=build/tok PYTHONPATH=tests/support /usr/bin/python3 -m unittest -v test_github_peers
(from tests/peers)."""
import json
import os
import shutil
import subprocess
import unittest

from github_api import GithubApi, GithubApp
from harness import TOK, TokCase, require_program
from tls import Pki

PEERS = os.path.dirname(os.path.abspath(__file__))


class GithubPeers(TokCase):
    def setUp(self):
        super().setUp()
        self.app = GithubApp.create(self.home)
        self.env.pop("TOK_CLIENT_SECRET")

    def tok_args(self, api, *extra):
        return ["--provider", "github-app", "--api-url", api, "--app-id", self.app.app_id, "--private-key-file",
                self.app.key_file, "--installation-id", "42", "--cache-dir", self.cache, *extra]

    def test_octokit_auth_app_and_tok_get_tokens_from_the_same_stand_in(self):
        node = require_program("node")
        if not os.path.isdir(os.path.join(PEERS, "node_modules", "@octokit", "auth-app")):
            raise AssertionError("@octokit/auth-app is not installed: run `npm ci` in tests/peers")
        for skew in (0, -30):
            with self.subTest(server_clock=skew), GithubApi(self.app, skew=skew) as api:
                api.install(42, "octo-org", repos=["tok"], permissions={"contents": "read", "metadata": "read"})
                proc = subprocess.run([node, "octokit_app.mjs", api.url, self.app.app_id, self.app.key_file, "42"],
                                      cwd=PEERS, capture_output=True, text=True, timeout=60)
                self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
                got = json.loads(proc.stdout)
                self.assertEqual(got["token"], api.tokens[0])
                self.assertEqual(got["permissions"], {"contents": "read", "metadata": "read"})
                self.assertEqual(got["repositorySelection"], "all")
                shutil.rmtree(self.cache, True)
                token = self.run_tok("get", *self.tok_args(api.url)).stdout.strip()
                self.assertEqual(token, api.tokens[1])
                self.assertEqual(api.token_posts, 2)
                # Both JWTs within what GitHub takes, from the server's clock: iat not ahead,
                # exp at most 10 minutes ahead (the stand-in refused nothing).
                self.assertEqual([c["iss"] for c in api.claims], [self.app.app_id] * 2)

    def test_gh_api_user_with_the_token_from_tok_exec(self):
        gh = require_program("gh")
        pki = Pki(os.path.join(self.home, "pki"))
        with GithubApi(self.app, tls=pki.context("good")) as api:
            api.install(42, "octo-org")
            host = f"127.0.0.1:{api.port}"
            env = dict(self.env, GH_HOST=host, GH_CONFIG_DIR=os.path.join(self.home, "gh"), SSL_CERT_FILE=pki.ca,
                       GH_NO_UPDATE_NOTIFIER="1", GH_PROMPT_DISABLED="1", NO_PROXY="*")
            for name in ("GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"):
                env.pop(name, None)
            args = self.tok_args(f"https://{host}/api/v3", "--ca-bundle", pki.ca)
            proc = self.run_tok("exec", "--env-name", "GH_ENTERPRISE_TOKEN", *args, "--", gh, "api", "user", env=env)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads(proc.stdout)["login"], "tok-test-app[bot]")
            self.assertEqual(api.requests, [("POST", "/api/v3/app/installations/42/access_tokens"),
                                            ("GET", "/api/v3/user")])
            self.assertEqual(api.user_requests, [f"token {api.tokens[0]}"])
            # Without tok's token gh has none to send: the stand-in refuses it.
            proc = subprocess.run([gh, "api", "user"], env=env, capture_output=True, text=True, timeout=60)
            self.assertNotEqual(proc.returncode, 0)


if __name__ == "__main__":
    unittest.main()

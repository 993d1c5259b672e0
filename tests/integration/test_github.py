"""GitHub, end to end with the real binary: `provider = github-app` against a loopback stand-in of
GitHub's API that checks what GitHub checks (tests/support/github_api.py: the App JWT's RS256
signature, iss, iat and exp against its own clock; the installation routes; the narrowing body;
GitHub's error bodies; long tokens)."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from github_api import DOCS, GithubApi, GithubApp
from harness import TOK, TokCase

APP = None  # one key pair for the module: RSA key generation is the slow part


def setUpModule():
    global APP, APP_DIR
    APP_DIR = tempfile.mkdtemp(prefix="tok-gh-app-")
    APP = GithubApp.create(APP_DIR)


def tearDownModule():
    shutil.rmtree(APP_DIR, True)


def jwt_claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class GithubCase(TokCase):
    skew = 0

    def setUp(self):
        super().setUp()
        self.key = os.path.join(self.home, "app.pem")
        shutil.copy(APP.key_file, self.key)
        os.chmod(self.key, 0o600)
        self.api = GithubApi(APP, skew=self.skew).start()
        self.addCleanup(self.api.stop)
        self.api.install(42, "octo-org", repos=["tok", "docs"],
                         permissions={"contents": "write", "metadata": "read", "pull_requests": "write"})
        self.env.pop("TOK_CLIENT_SECRET")

    def gh_args(self, *extra, installation=("--installation-id", "42"), issuer=None):
        issuer = ("--app-id", APP.app_id) if issuer is None else issuer
        return ["--provider", "github-app", "--api-url", self.api.url, *issuer, "--private-key-file", self.key,
                *installation, "--cache-dir", self.cache, *extra]

    def profile_args(self, *extra):
        return self.gh_args(*extra)

    def gh(self, *args, expect=0, env=None):
        proc = self.run_tok(*args, env=env)
        self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        return proc


class AppTokens(GithubCase):
    def test_an_installation_token_in_the_long_format_and_the_jwt_github_checks(self):
        before = int(time.time())
        token = self.gh("get", *self.gh_args()).stdout.strip()
        after = int(time.time())
        self.assertTrue(token.startswith("ghs_") and len(token) == 204, token[:8])
        self.assertEqual(token, self.api.tokens[0])
        self.assertEqual(self.api.requests, [("POST", "/app/installations/42/access_tokens")])
        self.assertEqual(self.api.bodies, [""])  # no narrowing: the installation's own
        self.assertEqual(self.api.api_headers, [("application/vnd.github+json", "2022-11-28")])
        claims = self.api.claims[0]
        self.assertEqual(claims["iss"], APP.app_id)
        # iat a minute back, exp about 5 minutes ahead: a minute of skew either way is accepted.
        self.assertTrue(before - 61 <= claims["iat"] <= after - 59, claims)
        self.assertTrue(240 <= claims["exp"] - after and claims["exp"] - before <= 360, claims)
        # A cache hit asks GitHub nothing.
        self.assertEqual(self.gh("get", *self.gh_args()).stdout.strip(), token)
        self.assertEqual(self.api.token_posts, 1)
        status = self.status()
        self.assertEqual(status["github"], {"installation_id": "42", "repository_selection": "all",
                                            "permissions": "contents:write,metadata:read,pull_requests:write"})
        self.assertAlmostEqual(time.mktime(time.strptime(status["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone,
                               time.time() + 3600, delta=10)
        text = self.gh("status", *self.gh_args()).stdout
        self.assertIn("installation: 42", text)
        self.assertIn("granted:      contents:write,metadata:read,pull_requests:write (repositories: all)", text)
        # Every request is signed anew (within one second the signature is the same: RS256 is
        # deterministic), never taken from the cache.
        self.gh("get", "--force-refresh", *self.gh_args())
        self.assertEqual(self.api.token_posts, 2)
        self.assertEqual(len(self.api.jwts), 2)

    def test_the_client_id_as_issuer_and_the_key_from_a_variable(self):
        env = dict(self.env, GH_APP_KEY=APP.private_key())
        args = ["--provider", "github-app", "--api-url", self.api.url, "--client-id", APP.client_id,
                "--private-key-env", "GH_APP_KEY", "--installation-id", "42", "--cache-dir", self.cache]
        self.assertTrue(self.gh("get", *args, env=env).stdout.startswith("ghs_"))
        self.assertEqual(self.api.claims[0]["iss"], APP.client_id)
        self.gh("clear", *args, env=env)
        proc = self.gh("get", *args, expect=2)
        self.assertIn("GH_APP_KEY is not set", proc.stderr)
        proc = self.gh("get", *self.gh_args(issuer=()), expect=2)
        self.assertIn("key 'app_id': required (or client_id", proc.stderr)
        proc = self.gh("get", *self.gh_args(issuer=("--app-id", "12ab")), expect=2)
        self.assertIn("key 'app_id'", proc.stderr)

    def test_the_installation_looked_up_once_by_repository_organization_or_user(self):
        self.api.install(7, "someone", repos=["dotfiles"])
        for installation, path, number in (
                (("--repository", "octo-org/tok"), "/repos/octo-org/tok/installation", 42),
                (("--organization", "octo-org"), "/orgs/octo-org/installation", 42),
                (("--user", "someone"), "/users/someone/installation", 7)):
            with self.subTest(path=path):
                self.api.requests.clear()
                args = self.gh_args(installation=installation)
                self.gh("get", *args)
                self.assertEqual(self.api.requests,
                                 [("GET", path), ("POST", f"/app/installations/{number}/access_tokens")])
                # The next fetch uses the installation kept in the entry's memo.
                self.gh("get", "--force-refresh", *args)
                self.assertEqual(self.api.requests[2:], [("POST", f"/app/installations/{number}/access_tokens")])
                proc = self.gh("status", "--format", "json", *args)
                self.assertEqual(json.loads(proc.stdout)["github"]["installation_id"], str(number))

    def test_an_installation_gone_is_looked_up_again_once(self):
        args = self.gh_args(installation=("--repository", "octo-org/tok"))
        self.gh("get", *args)
        with self.api.lock:
            self.api.installations[43] = self.api.installations.pop(42)  # the App reinstalled
        self.api.requests.clear()
        self.gh("get", "--force-refresh", *args)
        self.assertEqual(self.api.requests, [("POST", "/app/installations/42/access_tokens"),
                                             ("GET", "/repos/octo-org/tok/installation"),
                                             ("POST", "/app/installations/43/access_tokens")])

    def test_narrowing_to_repositories_and_permissions(self):
        args = self.gh_args("--repositories", "tok, docs", "--permissions", "contents:read,pull_requests:write")
        self.gh("get", *args)
        self.assertEqual(json.loads(self.api.bodies[0]), {"repositories": ["tok", "docs"],
                                                          "permissions": {"contents": "read",
                                                                          "pull_requests": "write"}})
        github = self.status("--repositories", "tok, docs", "--permissions", "contents:read,pull_requests:write")["github"]
        self.assertEqual(github["repository_selection"], "selected")
        self.assertEqual(github["permissions"], "contents:read,pull_requests:write")
        # What the installation lacks: GitHub's 422, exit 3 with its message, asked once.
        for extra in (("--permissions", "administration:write"), ("--repositories", "secret-repo")):
            with self.subTest(extra=extra):
                posts = self.api.token_posts
                proc = self.gh("get", *self.gh_args(*extra), expect=3)
                self.assertIn("HTTP 422", proc.stderr)
                self.assertIn(DOCS, proc.stderr)
                self.assertEqual(self.api.token_posts, posts + 1)
        for bad in (("--permissions", "contents"), ("--permissions", "contents:owner"), ("--repositories", "o/r")):
            with self.subTest(bad=bad):
                proc = self.gh("get", *self.gh_args(*bad), expect=2)
                self.assertIn(f"key '{bad[0][2:]}'", proc.stderr)

    def test_github_error_bodies_are_clear_refusals_never_retried(self):
        other = GithubApp.create(self.home)  # a key GitHub does not know for this App
        cases = {
            "wrong key": (self.gh_args("--private-key-file", other.key_file), 401,
                          "A JSON web token could not be decoded", "check app_id"),
            "wrong app id": (self.gh_args(issuer=("--app-id", "999")), 401, "Integration not found", "check app_id"),
            "no such installation": (self.gh_args(installation=("--installation-id", "99")), 404, "Not Found",
                                     "installation_id"),
            "not installed there": (self.gh_args(installation=("--repository", "elsewhere/x")), 404, "Not Found",
                                    "install the App"),
        }
        self.api.install(5, "suspended-org", suspended=True)
        cases["suspended"] = (self.gh_args(installation=("--installation-id", "5")), 403,
                              "This installation has been suspended", "suspended")
        for name, (args, status, message, hint) in cases.items():
            with self.subTest(name):
                self.api.requests.clear()
                proc = self.gh("get", *args, expect=3)
                self.assertIn(f"HTTP {status}: {message} ({DOCS})", proc.stderr)
                self.assertIn("hint:", proc.stderr)
                self.assertIn(hint, proc.stderr)
                self.assertEqual(len(self.api.requests), 1, "a refusal is not retried")
                # Not kept as an outage: the next call asks again.
                self.gh("get", *args, expect=3)
                self.assertEqual(len(self.api.requests), 2)

    def test_rate_limits_and_server_errors_are_outages(self):
        reset = str(int(time.time()) + 3600)
        self.api.fault(403, "API rate limit exceeded for installation ID 42.",
                       headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
        proc = self.gh("get", *self.gh_args(), expect=4)
        self.assertIn("API rate limit exceeded", proc.stderr)
        self.assertIn("rate limited", proc.stderr)
        # An outage is kept for failure_cache: the next caller is answered without a request.
        posts = self.api.token_posts
        proc = self.gh("get", *self.gh_args(), expect=4)
        self.assertEqual(self.api.token_posts, posts)
        self.assertIn("rate limited", self.status()["last_error"]["message"])
        # A secondary limit's 429 with Retry-After and a 502 are retried within the deadline.
        self.cache = os.path.join(self.home, "cache2")  # the rate limit is kept for the first one
        self.api.fault(429, "You have exceeded a secondary rate limit.", headers={"retry-after": "1"})
        self.api.fault(502, "Server Error")
        posts = self.api.token_posts
        self.assertTrue(self.gh("get", *self.gh_args()).stdout.startswith("ghs_"))
        self.assertEqual(self.api.token_posts, posts + 3)

    def test_fifty_callers_on_an_expired_entry_cause_one_post(self):
        self.gh("get", *self.gh_args())
        self.edit_entry(expires_in=-10)
        self.api.latency = 0.3
        posts = self.api.token_posts
        procs = [subprocess.Popen([TOK, "get", *self.gh_args()], env=self.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) for _ in range(50)]
        outs = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
        self.assertEqual({rc for _, _, rc in outs}, {0}, [err for _, err, rc in outs if rc][:2])
        self.assertEqual(len({out.strip() for out, _, _ in outs}), 1)
        self.assertEqual(self.api.token_posts, posts + 1)

    def test_the_credential_helper_answers_for_the_apis_host_by_default(self):
        config = os.path.join(self.home, "config")
        with open(config, "w") as f:
            f.write(f"[other]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = x\n"
                    f"[gh]\nprovider = github-app\napi_url = {self.api.url}\napp_id = {APP.app_id}\n"
                    f"private_key_file = {self.key}\ninstallation_id = 42\n")
        env = dict(self.env, TOK_CONFIG=config, TOK_CACHE_DIR=self.cache)
        ask = lambda host: subprocess.run([TOK, "git-credential", "get"], input=f"protocol=http\nhost={host}\n\n",
                                          env=env, capture_output=True, text=True, timeout=60)
        proc = ask(f"127.0.0.1:{self.api.port}")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("username=x-access-token\n", proc.stdout)
        self.assertIn(f"password={self.api.tokens[0]}\n", proc.stdout)
        self.assertEqual(ask("127.0.0.1:1").stdout, "", "another host is not this profile's")

    def test_a_key_that_is_not_private_or_not_rsa(self):
        os.chmod(self.key, 0o644)
        proc = self.gh("get", *self.gh_args(), expect=2)
        self.assertIn("key 'private_key_file'", proc.stderr)
        os.chmod(self.key, 0o600)
        with open(self.key, "w") as f:
            f.write("not a key\n")
        proc = self.gh("get", *self.gh_args(), expect=2)
        self.assertIn("cannot sign the App's JWT", proc.stderr)
        self.assertEqual(self.api.requests, [])


class ServerClockBehind(GithubCase):
    """GitHub's clock 30 s behind this machine's: a JWT with iat = now would be in its future."""
    skew = -30

    def test_the_jwt_is_still_accepted(self):
        self.assertTrue(self.gh("get", *self.gh_args()).stdout.startswith("ghs_"))
        self.assertEqual(self.api.token_posts, 1)

    def test_the_stand_in_does_refuse_a_jwt_issued_now(self):
        # The check above means something: the stand-in refuses what a naive client sends.
        now = int(time.time())
        enc = lambda doc: base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
        signing_input = enc({"alg": "RS256", "typ": "JWT"}) + "." + enc({"iat": now, "exp": now + 600, "iss": APP.app_id})
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", APP.key_file], input=signing_input.encode(),
                                   capture_output=True, check=True).stdout
        jwt = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
        proc = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--noproxy", "*",
                               "-H", f"Authorization: Bearer {jwt}", "-H", "Accept: application/vnd.github+json",
                               "-H", "X-GitHub-Api-Version: 2022-11-28",
                               self.api.url + "/app/installations/42/access_tokens"], capture_output=True, text=True)
        self.assertEqual(proc.stdout, "401")


if __name__ == "__main__":
    unittest.main()

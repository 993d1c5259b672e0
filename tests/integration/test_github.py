"""GitHub, end to end with the real binary: `provider = github-app` against a loopback stand-in of
GitHub's API that checks what GitHub checks (tests/support/github_api.py: the App JWT's RS256
signature, iss, iat and exp against its own clock; the installation routes; the narrowing body;
GitHub's error bodies; long tokens), and `tok exec --git` / `tok env --git` putting the token on
git's very first request, with real git cloning a public repository over smart HTTP."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from git_http_server import GitHttpServer
from github_api import DOCS, GithubApi, GithubApp
from harness import TOK, TokCase, path_with_tok, readme_block, require_program, write_program

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


class GitCase(GithubCase):
    """With a public repository on a loopback smart-HTTP git server."""

    def setUp(self):
        super().setUp()
        require_program("git")
        self.root = os.path.join(self.home, "srv")
        os.mkdir(self.root)
        work = os.path.join(self.home, "work")
        git_env = dict(self.env, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
                       GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_NOSYSTEM="1")
        for cmd in (["git", "init", "-q", "-b", "main", work], ["git", "-C", work, "commit", "-q", "--allow-empty", "-m", "one"],
                    ["git", "clone", "-q", "--bare", work, os.path.join(self.root, "repo.git")]):
            subprocess.run(cmd, env=git_env, check=True, capture_output=True)
        self.git = GitHttpServer(self.root).start()
        self.addCleanup(self.git.stop)
        self.git.public = True
        # No helper, no prompt, nothing of the machine's git configuration.
        self.env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false")


class GitFirstRequest(GitCase):
    """tok exec --git: the token on git's first request to a public repository."""

    def clone(self, *tok_args, expect=0, env=None):
        dest = tempfile.mkdtemp(prefix="clone-", dir=self.home)
        shutil.rmtree(dest)
        proc = self.gh("exec", *tok_args, "--", "git", "clone", "-q", self.git.url + "/repo.git", dest, expect=expect,
                       env=env)
        return proc, dest

    def test_the_first_request_carries_the_token_and_none_without_git(self):
        args = self.gh_args("--git-hosts", self.git.url)
        token = self.gh("get", *args).stdout.strip()
        self.git.accept(token)
        _, dest = self.clone("--git", *args)
        self.assertTrue(os.path.isdir(os.path.join(dest, ".git")))
        expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
        self.assertEqual(self.git.requests[0][2], [expected], "the very first request carries the token")
        self.assertTrue(all(auth == [expected] for _, _, auth in self.git.requests), self.git.requests)
        self.assertEqual(self.git.rejections, 0)
        # Nothing written to a file: the clone's configuration holds no token.
        with open(os.path.join(dest, ".git", "config")) as f:
            self.assertNotIn(token, f.read())
        # Without --git, git goes out anonymous (what GitHub now throttles).
        self.git.requests.clear()
        self.clone(*args)
        self.assertTrue(self.git.requests)
        self.assertTrue(all(auth == [] for _, _, auth in self.git.requests), self.git.requests)

    def test_the_callers_git_config_variables_are_kept_and_an_old_header_reset(self):
        args = self.gh_args("--git-hosts", self.git.url)
        token = self.gh("get", *args).stdout.strip()
        self.git.accept(token)
        env = dict(self.env, GIT_CONFIG_COUNT="2", GIT_CONFIG_KEY_0="user.name", GIT_CONFIG_VALUE_0="Kept Name",
                   GIT_CONFIG_KEY_1=f"http.{self.git.url}/.extraHeader",
                   GIT_CONFIG_VALUE_1="Authorization: Basic c3RhbGU6dG9rZW4=")
        proc = self.gh("exec", "--git", *args, "--", "git", "config", "user.name", env=env)
        self.assertEqual(proc.stdout.strip(), "Kept Name")
        proc = self.gh("exec", "--git", *args, "--", "sh", "-c", 'echo "$GIT_CONFIG_COUNT"', env=env)
        self.assertEqual(proc.stdout.strip(), "4")
        self.clone("--git", *args, env=env)
        expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
        self.assertEqual(self.git.requests[0][2], [expected], "only tok's header: the caller's stale one is reset")
        proc = self.gh("exec", "--git", *args, "--", "git", "config", "user.name", expect=2,
                       env=dict(env, GIT_CONFIG_COUNT="two"))
        self.assertIn("GIT_CONFIG_COUNT", proc.stderr)

    def test_env_git_and_the_default_host_of_a_github_app(self):
        token = self.gh("get", *self.gh_args()).stdout.strip()
        proc = self.gh("env", "--git", *self.gh_args())
        key = f"http.http://127.0.0.1:{self.api.port}/.extraHeader"
        self.assertIn("export GIT_CONFIG_COUNT='2'\n", proc.stdout)
        self.assertIn(f"export GIT_CONFIG_KEY_0='{key}'\n", proc.stdout)
        self.assertIn("export GIT_CONFIG_VALUE_0=''\n", proc.stdout)
        header = "Authorization: Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
        self.assertIn(f"export GIT_CONFIG_VALUE_1='{header}'\n", proc.stdout)
        # What a shell makes of it is what git reads.
        script = f'eval "$("$TOK" env --git {" ".join(self.gh_args())})" && git config --get-all "{key}"'
        out = subprocess.run(["sh", "-c", script], env=dict(self.env, TOK=TOK), capture_output=True, text=True)
        self.assertEqual(out.stdout.split("\n")[:2], ["", header], out.stderr)
        # GitHub Actions: masks for the token and for its base64 form in the header.
        github_env = os.path.join(self.home, "github_env")
        proc = self.gh("env", "--git", "--shell", "github", *self.gh_args(), env=dict(self.env, GITHUB_ENV=github_env))
        self.assertIn(f"::add-mask::{token}\n", proc.stdout)
        self.assertIn(f"::add-mask::{header.split()[-1]}\n", proc.stdout)
        with open(github_env) as f:
            self.assertIn(f"GIT_CONFIG_VALUE_1={header}\n", f.read())

    def test_plain_http_only_to_loopback_and_a_profile_needs_git_hosts(self):
        proc = self.gh("exec", "--git", *self.gh_args("--git-hosts", "http://git.example.com"), "--", "true", expect=2)
        self.assertIn("plain http only to this machine", proc.stderr)
        oauth = ["--provider", "oauth", "--token-url", self.server.token_url, "--client-id", "ci",
                 "--cache-dir", self.cache]
        proc = self.gh("exec", "--git", *oauth, "--", "true", expect=2,
                       env=dict(self.env, TOK_CLIENT_SECRET="s"))
        self.assertIn("key 'git_hosts'", proc.stderr)
        # https entries, with a path prefix, and the profile's git_username.
        proc = self.gh("env", "--git", *self.gh_args("--git-hosts", "github.com/octo-org, ghe.example.com:8443",
                                                     "--git-username", "bot"))
        self.assertIn("export GIT_CONFIG_KEY_1='http.https://github.com/octo-org/.extraHeader'", proc.stdout)
        self.assertIn("export GIT_CONFIG_KEY_3='http.https://ghe.example.com:8443/.extraHeader'", proc.stdout)
        token = self.api.tokens[-1]
        self.assertIn(base64.b64encode(f"bot:{token}".encode()).decode(), proc.stdout)

    def test_min_valid_defaults_to_ten_minutes_with_git(self):
        args = self.gh_args("--git-hosts", self.git.url)
        self.gh("get", *args)
        self.edit_entry(expires_in=8 * 60, stale_in=3600)
        self.gh("exec", *args, "--", "true")
        self.assertEqual(self.api.token_posts, 1, "without --git, 8 minutes left is enough")
        self.gh("exec", "--git", *args, "--", "true")
        self.assertEqual(self.api.token_posts, 2, "--git asks for 10 minutes")
        self.edit_entry(expires_in=8 * 60, stale_in=3600)
        self.gh("exec", "--git", "--min-valid", "1m", *args, "--", "true")
        self.assertEqual(self.api.token_posts, 2)


class ReadmeGithub(GitCase):
    """The README's GitHub blocks, run against the stand-ins."""

    def readme_config(self):
        self.api.install(42, "my-org", repos=["my-repo"])
        profile = readme_block("GitHub App profile").replace("/run/secrets/app.pem", self.key)
        profile += f"api_url = {self.api.url}\ngit_hosts = {self.git.url}\n"
        config = os.path.join(self.home, "config")
        with open(config, "w") as f:
            f.write(profile + profile.replace("[github]", "[ghes]"))
        self.env.update(TOK_CONFIG=config, TOK_CACHE_DIR=self.cache)

    def test_readme_github_app_profile(self):
        self.readme_config()
        token = self.gh("get", "-p", "github").stdout.strip()
        self.assertTrue(token.startswith("ghs_"))
        self.assertEqual(self.api.requests[0], ("GET", "/repos/my-org/my-repo/installation"))
        self.assertEqual(json.loads(self.api.bodies[0]), {"permissions": {"contents": "read"}})

    def test_readme_git_and_gh_lines(self):
        self.readme_config()
        token = self.gh("get", "-p", "github").stdout.strip()
        self.git.accept(token)
        bin_dir = os.path.join(self.home, "bin")
        os.mkdir(bin_dir)
        write_program(bin_dir, "gh", 'echo "gh $*: GH_TOKEN=${GH_TOKEN:-} GH_ENTERPRISE_TOKEN=${GH_ENTERPRISE_TOKEN:-} '
                                     'GH_HOST=${GH_HOST:-}"')
        block = readme_block("GitHub: git and gh").replace("https://github.com/my-org/my-repo.git",
                                                            self.git.url + "/repo.git")
        work = tempfile.mkdtemp(dir=self.home)
        github_env = os.path.join(self.home, "github_env")
        env = path_with_tok(dict(self.env, GITHUB_ENV=github_env))
        env["PATH"] = bin_dir + os.pathsep + env["PATH"]
        proc = subprocess.run(["sh", "-ec", block], env=env, cwd=work, capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(os.path.isdir(os.path.join(work, "repo", ".git")))
        self.assertTrue(self.git.requests[0][2], "the clone's first request carries the token")
        lines = proc.stdout.splitlines()
        self.assertIn(f"gh pr list: GH_TOKEN={token} GH_ENTERPRISE_TOKEN= GH_HOST=", lines)
        ghes = [l for l in lines if l.startswith("gh api user")][0]
        self.assertIn("GH_HOST=github.example.com", ghes)
        self.assertIn("GH_ENTERPRISE_TOKEN=ghs_", ghes)
        self.assertIn(f"::add-mask::{token}", lines)
        with open(github_env) as f:
            written = f.read()
        self.assertIn(f"GH_TOKEN={token}\n", written)
        self.assertIn("GIT_CONFIG_COUNT=2\n", written)


if __name__ == "__main__":
    unittest.main()

"""The secrets sweep (issue 11, docs/reliability.md): the suite's main scenarios run once more
with a distinctive client secret and distinctive tokens, and every byte tok lets out is searched.

- The client secret (raw, form-encoded, JSON-escaped: its alphanumeric core is in all three; and
  the Basic credential built from it) is in no stdout, stderr, `-v` log, cache file name or
  content, `tok status` or `tok profiles` output, `tok serve` answer or log, and in no argument
  list: not tok's, not the detached background refresher's, not a token command's.
- A token (every token here starts with TOKEN_MARK, the ones the server issues and the ones its
  faulty answers echo) is printed only where that is the job: stdout of `get`, the helpers, `env`,
  a 200 of `tok serve`; the environment of `exec`'s child; the cache entry. Nowhere else."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import TOK, TokCase, detached_refreshers, write_program
from login_server import LoginServer
from serve_harness import ServeCase

CORE = "Sw33pC0re9x"
SWEEP_SECRET = CORE + '/+= "q"&%\\Zq'
TOKEN_MARK = "Tk7sweep"
GIT_REQUEST = b"protocol=https\nhost=git.example.com\n\n"
RESOURCE = "https://management.azure.com/"
IMDS_QUERY = "api-version=2018-02-01&resource=" + urllib.parse.quote(RESOURCE, safe="")


def basic_credential(client_id):
    """What an Authorization: Basic header carries for CLIENT_ID and the secret (RFC 6749 2.3.1)."""
    raw = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(SWEEP_SECRET)}"
    return base64.b64encode(raw.encode()).decode()


SECRET_FORMS = {
    "raw": SWEEP_SECRET,
    "form-encoded": urllib.parse.quote_plus(SWEEP_SECRET),
    "JSON-escaped": json.dumps(SWEEP_SECRET)[1:-1],
    "core": CORE,
    "Basic credential of ws": basic_credential("ws"),
    "Basic credential of post": basic_credential("post"),
}

# Faulty answers that echo what the server was sent or what it would have issued (issue 11.2-3).
ECHOES = {
    "400 quoting the secret in JSON": dict(status=400, json={
        "error": "invalid_client", "error_description": f"secret {SWEEP_SECRET} is not this client's"}),
    "401 echoing the form": dict(status=401, content_type="text/plain", body=(
        "bad request: grant_type=client_credentials&client_id=post&client_secret="
        + urllib.parse.quote_plus(SWEEP_SECRET))),
    "401 echoing the Authorization header": dict(status=401, content_type="text/plain", body=(
        f"rejected: Authorization: Basic {basic_credential('ws')}")),
    "400 HTML with the raw secret": dict(status=400, content_type="text/html", body=(
        f"<html><body><p>client_secret was: {SWEEP_SECRET}</p></body></html>")),
    "200 with a split token and an injected header": dict(status=200, json={
        "access_token": TOKEN_MARK + "X1|\\/z", "token_type": "Bearer\r\nX-Injected: 1", "expires_in": 3600}),
    "200 with a short token holding a space": dict(status=200, json={
        "access_token": TOKEN_MARK + " x2", "token_type": "Bearer", "expires_in": 3600}),
    "200 with a token and no expiry of a number": dict(status=200, json={
        "access_token": TOKEN_MARK + "X3", "token_type": "Bearer", "expires_in": "soon"}),
    "503 echoing the secret and a token": dict(status=503, times=10, content_type="text/plain", body=(
        f"overloaded while serving secret={SWEEP_SECRET} token={TOKEN_MARK}X4.{'ab' * 12}")),
}




def fetch(url, headers):
    """(status, body) from a loopback URL, never through a proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Sweep:
    """Mixed into a TokCase: the checks and the profiles."""

    def setUp(self):
        super().setUp()
        self.checked = []
        self.server.state.clients = {"ws": SWEEP_SECRET, "post": SWEEP_SECRET}
        self.server.control(token_prefix=TOKEN_MARK)
        self.bin = os.path.join(self.home, "bin")
        os.mkdir(self.bin)
        secret_file = os.path.join(self.home, "secret")
        with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(SWEEP_SECRET + "\n")
        # Records its argv and its parent's (tok, or tok's detached refresher), prints a token.
        self.command = write_program(self.bin, "get-token", f"""
printf '%s\\0' "$0" "$@" > "{self.bin}/argv.$$"
cat /proc/$PPID/cmdline > "{self.bin}/parent-argv.$$"
echo '{{"access_token": "{TOKEN_MARK}C'$$'", "expires_in": 600}}'
""")
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w") as f:
            f.write(f"""[ws]
provider = oauth
token_url = {self.server.token_url}
client_id = ws
client_secret_env = SWEEP_SECRET
scopes = api:read
host = https://ws.example.com
resource = {RESOURCE}
git_hosts = git.example.com
docker_registries = registry.example.com

[post]
provider = oauth
token_url = {self.server.token_url}
client_id = post
auth_method = post
client_secret_file = {secret_file}

[cmd]
provider = command
command = ["{self.command}", "--for", "sweep"]
""")
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache, "TOK_CLIENT_SECRET": SWEEP_SECRET,
                         "SWEEP_SECRET": SWEEP_SECRET})

    # -- the checks ---------------------------------------------------------------------------

    def check(self, where, data, token_ok=False):
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        for form, value in SECRET_FORMS.items():
            self.assertNotIn(value, text, f"the client secret ({form}) in {where}: {text[:400]!r}")
        if not token_ok:
            self.assertNotIn(TOKEN_MARK, text, f"a token in {where}: {text[:400]!r}")
        self.checked.append(where)

    def tok(self, *args, stdin=b"", expect=0, token_out=False, env=None):
        """tok ARGS; both streams swept (the token allowed on stdout when TOKEN_OUT)."""
        proc = subprocess.run([TOK, *args], input=stdin, env=env or self.env, capture_output=True, timeout=60)
        self.check(f"stdout of tok {' '.join(args)}", proc.stdout, token_ok=token_out)
        self.check(f"stderr of tok {' '.join(args)}", proc.stderr)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, f"tok {args}: {proc.stdout!r} {proc.stderr!r}")
        return proc

    def sweep_cache_and_status(self, *profiles):
        """File names and contents under the cache directory (an entry holds its token, never the
        secret), and `tok status` in both formats."""
        for root, dirs, files in os.walk(self.cache):
            for name in dirs + files:
                self.check(f"the cache file name {name}", name)
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.check(f"the cache file {name}", f.read(), token_ok=True)
        for profile in profiles:
            self.tok("status", "-p", profile)
            self.tok("status", "-p", profile, "--format", "json")
        self.tok("profiles")

    def check_argv_records(self, at_least):
        """The argv the token command saw, and its parent's (tok's) /proc/PID/cmdline."""
        records = [n for n in os.listdir(self.bin) if "argv." in n]
        self.assertGreaterEqual(len([n for n in records if n.startswith("parent-")]), at_least, records)
        for name in records:
            with open(os.path.join(self.bin, name), "rb") as f:
                self.check(f"the argument list recorded in {name}", f.read())


class Scenarios(Sweep, TokCase):
    def test_get_in_every_format_refresh_status_and_profiles(self):
        for profile in ("ws", "post", "cmd"):
            with self.subTest(profile=profile):
                for fmt in ("token", "json", "header"):
                    proc = self.tok("get", "-v", "-p", profile, "--format", fmt, token_out=True)
                    self.assertIn(TOKEN_MARK, proc.stdout.decode())
                self.tok("get", "-v", "-p", profile, "--force-refresh", token_out=True)
                self.tok("refresh", "-v", "-p", profile, token_out=True)
                self.tok("get", "-v", "-p", profile, "--no-async", "--min-valid", "1s", token_out=True)
        self.assertEqual({r["auth_method"] for r in self.server.state.stats()["requests"]}, {"basic", "post"})
        self.sweep_cache_and_status("ws", "post", "cmd")
        self.check_argv_records(at_least=3)

    def test_a_secret_given_to_a_flag_that_does_not_exist_is_not_echoed(self):
        for args in (["--client-secret", SWEEP_SECRET], [f"--client-secret={SWEEP_SECRET}"], ["--", SWEEP_SECRET],
                     [SWEEP_SECRET]):
            with self.subTest(args=len(args)):
                proc = self.tok("get", "-p", "ws", *args, expect=2)
                self.assertIn(b"not shown", proc.stderr)

    def test_servers_that_echo_the_secret_or_a_token_in_their_errors(self):
        for name, fault in ECHOES.items():
            for profile in ("ws", "post"):
                with self.subTest(fault=name, profile=profile):
                    self.tok("clear", "-p", profile)
                    self.server.control(reset=True)
                    self.server.fault(**fault)
                    proc = self.tok("get", "-v", "-p", profile, "--refresh-timeout", "10s", expect=None)
                    self.assertIn(proc.returncode, (3, 4), proc.stderr)
                    self.assertEqual(proc.stdout, b"")
        self.server.control(reset=True)
        self.sweep_cache_and_status("ws", "post")

    def test_a_background_failure_keeps_the_secret_out_of_the_entry_and_out_of_status(self):
        args = ["-p", "ws", "--cache-dir", self.cache]  # named in argv: the refresher is found by it
        old = self.tok("get", *args, token_out=True).stdout.decode().strip()
        self.edit_entry_of(args, stale_in=-1)
        # The refresher runs long enough to be seen, then meets an answer quoting the secret and
        # the cached token itself.
        self.server.control(reset=True, latency=1.0)
        self.server.fault(status=503, times=20, content_type="text/plain",
                          body=f"cannot renew {old} for client_secret={SWEEP_SECRET}")
        proc = self.tok("get", "-v", *args, token_out=True)
        self.assertIn(b"started a background refresh", proc.stderr)
        self.wait_until(lambda: detached_refreshers(self.cache, cmdlines=True), what="the detached refresher")
        for pid, argv in detached_refreshers(self.cache, cmdlines=True):
            self.check(f"/proc/{pid}/cmdline of the detached refresher", argv)
        self.wait_until(lambda: not detached_refreshers(self.cache, cmdlines=True), timeout=30, what="the refresher to end")
        status = json.loads(self.tok("status", "--format", "json", *args).stdout)
        self.assertIsNotNone(status["last_error"], "the failure was recorded")
        # The token served during the cooldown (with a warning that quotes the recorded error,
        # where tok warns) and its -v log: without the secret or a token.
        for extra in ([], ["-v"]):
            proc = self.tok("get", *extra, *args, token_out=True)
            self.assertEqual(proc.stdout.decode().strip(), old)
        self.sweep_cache_and_status("ws")

    def test_the_command_provider_and_its_background_refresher_see_no_secret_in_argv(self):
        args = ["-p", "cmd", "--cache-dir", self.cache]
        self.tok("get", *args, token_out=True)
        self.edit_entry_of(args, stale_in=-1)
        self.tok("get", *args, token_out=True)
        self.wait_until(lambda: len([n for n in os.listdir(self.bin) if n.startswith("parent-")]) >= 2,
                        what="the background run of the command")
        self.wait_until(lambda: not detached_refreshers(self.cache, cmdlines=True), what="the refresher to end")
        self.check_argv_records(at_least=2)
        self.sweep_cache_and_status("cmd")

    def test_credential_helpers(self):
        proc = self.tok("git-credential", "get", stdin=GIT_REQUEST, token_out=True)
        self.assertIn(b"password=" + TOKEN_MARK.encode(), proc.stdout)
        self.tok("-v", "git-credential", "get", stdin=GIT_REQUEST, token_out=True)
        self.tok("git-credential", "erase", stdin=GIT_REQUEST + b"password=x\n")
        proc = self.tok("docker-credential", "get", stdin=b"https://registry.example.com/v2/\n", token_out=True)
        self.assertIn(TOKEN_MARK, json.loads(proc.stdout)["Secret"])
        self.tok("docker-credential", "list")
        for info in (None, json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                                       "spec": {"interactive": False}})):
            env = dict(self.env, **({"KUBERNETES_EXEC_INFO": info} if info else {}))
            proc = self.tok("kube-credential", "-v", "-p", "ws", env=env, token_out=True)
            self.assertIn(TOKEN_MARK, json.loads(proc.stdout)["status"]["token"])
        # The paths issue 17 added: url= with user info (its password is a token git was given; -v
        # shows the request's protocol, host and path, never the user info), plain http refused,
        # $TOK_MIN_VALID, kube-credential asked twice by one caller (a new token, and the
        # `.kube` record beside the entry, which holds no token), --min-valid/--force-refresh.
        url = f"url=https://x-access-token:{TOKEN_MARK}Old@git.example.com/org/repo.git\n\n".encode()
        self.tok("-v", "git-credential", "get", stdin=url, token_out=True)
        self.tok("-v", "git-credential", "erase", stdin=url)
        proc = self.tok("-v", "git-credential", "get", stdin=b"protocol=http\nhost=git.example.com\n\n")
        self.assertEqual(proc.stdout, b"")
        self.tok("-v", "-p", "ws", "git-credential", "get", stdin=b"protocol=http\nhost=git.example.com\n\n")
        self.tok("-v", "docker-credential", "get", stdin=b"http://registry.example.com\n", expect=1)
        self.tok("-v", "git-credential", "get", stdin=GIT_REQUEST, token_out=True,
                 env=dict(self.env, TOK_MIN_VALID="2h"))
        info = json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                           "spec": {"interactive": False, "cluster": {"certificate-authority-data": "QUJD" * 20000}}})
        for _ in range(3):
            self.tok("kube-credential", "-v", "-p", "ws", env=dict(self.env, KUBERNETES_EXEC_INFO=info), token_out=True)
        self.tok("kube-credential", "-v", "-p", "ws", "--min-valid", "2h", token_out=True)
        self.tok("kube-credential", "-v", "-p", "ws", "--force-refresh", token_out=True)
        records = [n for n in os.listdir(self.cache) if n.endswith(".kube")]
        self.assertEqual(len(records), 1, os.listdir(self.cache))
        with open(os.path.join(self.cache, records[0]), "rb") as f:
            self.check(f"the kubectl call record {records[0]}", f.read())
        # Failing helpers quote nothing of what the server said.
        self.tok("clear", "--all")
        self.server.fault(**ECHOES["400 quoting the secret in JSON"], times=3)
        self.tok("git-credential", "get", stdin=GIT_REQUEST, expect=None)
        self.tok("docker-credential", "get", stdin=b"registry.example.com\n", expect=None)
        self.tok("kube-credential", "-p", "ws", expect=3)
        self.sweep_cache_and_status("ws")

    def test_exec_and_env(self):
        record = os.path.join(self.bin, "exec-argv")
        proc = self.tok("exec", "-v", "-p", "ws", "--", "sh", "-c",
                        'cat /proc/$$/cmdline > "$0"; printf %s "$TOK_TOKEN"', record, token_out=True)
        self.assertTrue(proc.stdout.startswith(TOKEN_MARK.encode()), "the child has the token in its environment")
        with open(record, "rb") as f:
            self.check("the argument list of exec's child", f.read())
        for shell in ("sh", "fish", "gitlab"):
            proc = self.tok("env", "-v", "-p", "ws", "--shell", shell, token_out=True)
            self.assertIn(TOKEN_MARK, proc.stdout.decode())
        self.tok("env", "-v", "-p", "ws", "--force-refresh", token_out=True)
        self.tok("exec", "-v", "-p", "ws", "--min-valid", "2h", "--", "true")
        self.tok("clear", "--all")
        self.server.fault(**ECHOES["401 echoing the form"])
        self.tok("exec", "-p", "ws", "--", "true", expect=3)
        self.sweep_cache_and_status("ws")

    def edit_entry_of(self, args, stale_in):
        path = json.loads(self.tok("status", "--format", "json", *args).stdout)["cache_file"]
        with open(path) as f:
            entry = json.load(f)
        entry["stale_after_ms"] = int((time.time() + stale_in) * 1000)
        with open(path + ".test", "w") as f:
            json.dump(entry, f)
        os.chmod(path + ".test", 0o600)
        os.replace(path + ".test", path)


class Serve(Sweep, ServeCase):
    def test_serve_with_verbose_log_answers_and_failures(self):
        proc = self.start_serve(verbose=True)
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            self.check("the argument list of tok serve", f.read())
        databricks = (self.databricks_url[len(self.base):], {"X-Databricks-Metadata-Version": "1",
                                            "X-Databricks-Host": "https://ws.example.com"})
        imds = (f"/metadata/identity/oauth2/token?{IMDS_QUERY}", {"Metadata": "true"})
        gcp = ("/computeMetadata/v1/instance/service-accounts/default/token", {"Metadata-Flavor": "Google"})
        # First a token server that refuses and echoes the secret: every protocol answers an error
        # (the token fetched at start forgotten, so that each request asks).
        self.wait_for_warm_up()
        self.forget_token()
        self.server.fault(**ECHOES["400 quoting the secret in JSON"], times=10)
        for path, headers in (databricks, imds, gcp):
            status, body = fetch(self.base + path, headers)
            self.assertNotEqual(status, 200)
            self.check(f"the {status} answer of tok serve to {path}", body)
        self.server.control(reset=True)
        for path, headers in (databricks, imds, gcp):
            status, body = fetch(self.base + path, headers)
            self.assertEqual(status, 200, body)
            self.assertIn(TOKEN_MARK, body.decode())
            self.check(f"the 200 answer of tok serve to {path}", body, token_ok=True)
        # Requests it refuses name nothing of the token either.
        status, body = fetch(self.base + databricks[0], {"X-Databricks-Metadata-Version": "1"})
        self.assertNotEqual(status, 200)
        self.check(f"the {status} answer of tok serve to a request without its header", body)
        self.check("the -v log of tok serve", self.serve_log())
        self.assertIn("/databricks/SECRET/token", self.serve_log(), "the -v log names the requests it swept")
        self.assertNotIn(self.databricks_url, self.serve_log(), "the URL's secret segment stays out of the log")


class LoginSweep(unittest.TestCase):
    """A person's login (issue 26): its device code, access and refresh tokens all start with
    TOKEN_MARK and its client is confidential (the sweep's secret): neither the login, its
    refresh, nor the errors of a token endpoint, a device answer or a metadata document that echo
    them let one out, except a token on `get`'s stdout."""

    def setUp(self):
        if not TOK or not os.access(TOK, os.X_OK):
            raise AssertionError("TOK_BIN must point at the tok binary under test")
        self.home = tempfile.mkdtemp(prefix="tok-login-sweep-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.idp = LoginServer(token_prefix=TOKEN_MARK).start()
        self.addCleanup(self.idp.stop)
        self.idp.device_code = TOKEN_MARK + "dc" + "5e" * 12
        self.cache = os.path.join(self.home, "cache")
        config = os.path.join(self.home, "config")
        with open(config, "w") as f:
            f.write(f"[me]\nprovider = oauth\nissuer = {self.idp.url}\nclient_id = ws\n"
                    "client_secret_env = SWEEP_SECRET\ngrant = device_code\ntoken_storage = file\n")
        self.env = {"HOME": self.home, "PATH": "/usr/bin:/bin", "LC_ALL": "C", "TOK_CONFIG": config,
                    "TOK_CACHE_DIR": self.cache, "SWEEP_SECRET": SWEEP_SECRET}

    def check(self, where, data, token_ok=False):
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        for form, value in SECRET_FORMS.items():
            self.assertNotIn(value, text, f"the client secret ({form}) in {where}: {text[:400]!r}")
        if not token_ok:
            self.assertNotIn(TOKEN_MARK, text, f"a token or the device code in {where}: {text[:400]!r}")

    def tok(self, *args, expect=0, token_out=False):
        proc = subprocess.run([TOK, *args], env=self.env, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.check(f"stdout of tok {' '.join(args)}", proc.stdout, token_ok=token_out)
        self.check(f"stderr of tok {' '.join(args)}", proc.stderr)
        self.assertEqual(proc.returncode, expect, f"tok {args}: {proc.stdout!r} {proc.stderr!r}")
        return proc

    def refresh_token(self):
        names = [n for n in os.listdir(self.cache) if n.endswith(".json")]
        with open(os.path.join(self.cache, names[0])) as f:
            return json.load(f)["token"].get("fields", {}).get("refresh_token")

    def test_login_refresh_and_the_errors_that_echo_them(self):
        self.idp.device_errors = ["authorization_pending"]
        self.tok("login", "-v", "-p", "me")
        self.assertIn(TOKEN_MARK, self.tok("get", "-v", "-p", "me", "--force-refresh", token_out=True).stdout.decode())
        self.tok("status", "-p", "me")
        self.tok("status", "-p", "me", "--format", "json")
        rt = self.refresh_token()
        self.assertTrue(rt.startswith(TOKEN_MARK))
        # Token endpoint errors quoting the refresh token and the secret it was sent with.
        echo = f"refresh_token={rt} client_secret={SWEEP_SECRET}"
        self.idp.refresh_faults = [(401, {"error": "invalid_client", "error_description": echo})]
        self.tok("get", "-v", "-p", "me", "--force-refresh", expect=3)
        self.idp.refresh_faults = [(503, "overloaded: " + echo)] * 5
        self.tok("get", "-v", "-p", "me", "--force-refresh", "--refresh-timeout", "20s", expect=4)
        self.idp.refresh_faults = [(400, {"error": "invalid_grant", "error_description": echo})]
        self.tok("get", "-v", "-p", "me", "--force-refresh", expect=3)
        self.assertIsNone(self.refresh_token(), "the login ended")
        # A device login whose polling ends in an error echoing the device code and the secret.
        self.idp.device_errors = [{"error": "invalid_request", "error_description":
                                   f"device_code={self.idp.device_code} client_secret={SWEEP_SECRET}"}]
        self.tok("login", "-v", "-p", "me", expect=3)
        # Device answers out of bounds, quoted without their device code.
        for change in ({"expires_in": 10 ** 9}, {"interval": 10 ** 9}, {"verification_uri": "ftp://x"}):
            self.idp.device = change
            self.tok("login", "-v", "-p", "me", expect=4)
        self.idp.device = {}
        # Metadata documents that are refused, one holding a token-like value.
        for change in ({"issuer": "https://idp.example"}, {"token_endpoint": None, "x": TOKEN_MARK + "J" * 40}):
            self.idp.discovery = change
            shutil.rmtree(self.cache, ignore_errors=True)  # discovery again, not the kept endpoints
            self.tok("login", "-v", "-p", "me", expect=4)
        for root, dirs, files in os.walk(self.cache):
            for name in files:
                self.check(f"the cache file name {name}", name)


class GithubApp(TokCase):
    """provider = github-app: the App's JWT and its private key are in no output, -v log, argument
    list (tok's, the detached refresher's, exec's child's) or cache file, even when GitHub quotes
    the JWT back."""

    def setUp(self):
        super().setUp()
        from github_api import GithubApi, GithubApp as App
        self.app = App.create(self.home)
        self.api = GithubApi(self.app).start()
        self.addCleanup(self.api.stop)
        self.api.install(42, "octo-org", repos=["tok"])
        with open(self.app.key_file) as f:
            lines = f.read().splitlines()
        # The key's body, line by line (any one is enough to leak it), and all of it.
        self.key_parts = [l for l in lines if not l.startswith("-----")] + [self.app.private_key()]
        self.args = ["-p", "gh", "--cache-dir", self.cache]
        config = os.path.join(self.home, "config")
        with open(config, "w") as f:
            f.write(f"[gh]\nprovider = github-app\napi_url = {self.api.url}\napp_id = {self.app.app_id}\n"
                    f"private_key_file = {self.app.key_file}\nrepository = octo-org/tok\n"
                    f"git_hosts = https://github.com\n"
                    f"[gh-env]\nprovider = github-app\napi_url = {self.api.url}\napp_id = {self.app.app_id}\n"
                    f"private_key_env = GH_APP_KEY\ninstallation_id = 42\n")
        self.env.update(TOK_CONFIG=config, GH_APP_KEY=self.app.private_key())

    def check(self, where, data):
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        self.assertTrue(self.api.jwts, "the stand-in saw JWTs")
        for jwt in self.api.jwts:
            self.assertNotIn(jwt, text, f"the App's JWT in {where}")
            self.assertNotIn(jwt.split(".")[2], text, f"the JWT's signature in {where}")
        for part in self.key_parts:
            self.assertNotIn(part, text, f"the App's private key in {where}")

    def tok(self, *args, expect=0):
        proc = subprocess.run([TOK, *args], env=self.env, capture_output=True, timeout=60)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, proc.stderr)
        self.last = proc
        return proc

    def sweep(self, procs):
        for i, proc in enumerate(procs):
            self.check(f"stdout of call {i}", proc.stdout)
            self.check(f"stderr of call {i}", proc.stderr)
        for root, dirs, files in os.walk(self.cache):
            for name in dirs + files:
                self.check(f"the cache file name {name}", name)
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.check(f"the cache file {name}", f.read())

    def test_jwt_and_key_in_no_output_log_argv_or_cache(self):
        record = os.path.join(self.home, "child-argv")
        procs = [self.tok("get", "-v", *self.args), self.tok("get", "-v", "--format", "json", *self.args),
                 self.tok("get", "-v", "--force-refresh", "-p", "gh-env", "--cache-dir", self.cache),
                 self.tok("refresh", "-v", *self.args), self.tok("status", "-v", *self.args),
                 self.tok("status", "--format", "json", *self.args), self.tok("profiles", "-v"),
                 self.tok("env", "-v", "--git", *self.args),
                 self.tok("exec", "-v", "--git", *self.args, "--", "sh", "-c", 'cat /proc/$$/cmdline > "$0"', record)]
        with open(record, "rb") as f:
            self.check("the argument list of exec's child", f.read())
        # A background refresh: the detached refresher's argument list, while it waits on GitHub.
        self.api.latency = 1.0
        path = json.loads(self.tok("status", "--format", "json", *self.args).stdout)["cache_file"]
        with open(path) as f:
            entry = json.load(f)
        entry["stale_after_ms"] = int((time.time() - 1) * 1000)
        with open(path + ".test", "w") as f:
            json.dump(entry, f)
        os.chmod(path + ".test", 0o600)
        os.replace(path + ".test", path)
        procs.append(self.tok("get", "-v", *self.args))
        self.wait_until(lambda: detached_refreshers(self.cache, cmdlines=True), what="the detached refresher")
        for pid, argv in detached_refreshers(self.cache, cmdlines=True):
            self.check(f"/proc/{pid}/cmdline of the detached refresher", argv)
        self.wait_until(lambda: not detached_refreshers(self.cache, cmdlines=True), timeout=30, what="the refresher")
        self.api.latency = 0
        # GitHub quoting the JWT it was sent, in the foreground and with -v.
        self.api.faults.append({"echo_jwt": True})
        procs.append(self.tok("get", "-v", "--force-refresh", *self.args, expect=3))
        self.assertIn(b"cannot use the JWT", procs[-1].stderr)
        self.sweep(procs)


if __name__ == "__main__":
    unittest.main()

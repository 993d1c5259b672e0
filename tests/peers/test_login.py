#!/usr/bin/python3
"""Peer test: `tok login` (device code, RFC 8628) against the real oidc-provider, and what a
login is for afterwards: refresh tokens rotated under tok's cross-process lock, logout, status,
and the credential helpers on a profile nobody logged in to (docs/login.md).

The person at the browser is Debian's chromium driven by playwright-core (browser.mjs, the
$BROWSER tok opens) for the browser login, and oidc_pages.py, which fills oidc-provider's own
device, login and consent pages over plain HTTP, for the device logins and the bad callbacks.

Environment: TOK_BIN (required: the test fails, never skips, without it), NODE (optional).
Run: TOK_BIN=build/tok /usr/bin/python3 -m unittest -v tests/peers/test_login.py
"""

import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oidc_pages  # noqa: E402
from oidc_peer import OidcPeer  # noqa: E402

CLI = "cli"               # the login client: public, device code, refresh tokens
SHORT = "cli-short"       # the same, with device codes that live 2 s
RS, RS_SECRET = "rs", "rs-secret"  # a resource server: introspects the tokens
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOGIN_TTL = 41            # a login's first access token: expired (40 s buffer) a second later
CALLERS = 200
CHROMIUM = "/usr/bin/chromium"
RUN_TIMEOUT = 60
MALLORY = 65534           # another account of the machine (setpriv; the tests run as root)

# Run as MALLORY: a crowd of connections to tok's login listener that send half a request and
# wait, then mallory's own login at the issuer with the victim's authorization URL (read from
# the browser's command line), which the issuer redirects to the victim's listener.
MALLORY_SCRIPT = r'''
import select, socket, sys, time, urllib.parse
sys.path.insert(0, sys.argv[1])
import oidc_pages
url = sys.argv[2]
port = urllib.parse.urlparse(urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["redirect_uri"][0]).port
crowd = []
for _ in range(100):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /callback HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    except OSError:
        pass
    crowd.append(s)
time.sleep(1)
closed = 0
for s in crowd:
    if select.select([s], [], [], 0)[0]:
        try:
            closed += s.recv(1) == b""
        except OSError:
            closed += 1
print("closed", closed)
try:
    oidc_pages.approve_login(url, "mallory")
    print("answered")
except Exception as e:
    print("refused", type(e).__name__)
'''


class LoginPeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tok = os.environ.get("TOK_BIN")
        if not tok or not os.access(tok, os.X_OK):
            raise AssertionError("TOK_BIN must name the tok binary under test")
        cls.tok = os.path.abspath(tok)
        cls.tmp = tempfile.mkdtemp(prefix="tok-login-peer-")
        grants = [DEVICE_GRANT, "authorization_code", "refresh_token"]
        login_client = {"token_endpoint_auth_method": "none", "grant_types": grants,
                        "redirect_uris": ["http://127.0.0.1/callback"]}
        cls.peer = OidcPeer({
            "port": 0, "ttl": 600, "login_ttl": LOGIN_TTL, "device_interval": 1, "scopes": ["api:read"],
            "clients": [{"client_id": RS, "client_secret": RS_SECRET},
                        {"client_id": CLI, **login_client},
                        {"client_id": SHORT, "device_ttl": 2, **login_client}],
        }, cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if not self.peer.alive():
            self.fail(f"the oidc-provider peer is not running: {self.peer.log()}")
        self.home = tempfile.mkdtemp(prefix="home-", dir=self.tmp)
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w", encoding="utf-8") as f:
            for name, client, grant, extra in (("me", CLI, "device_code", "git_hosts = git.example.com\n"),
                                               ("short", SHORT, "device_code", ""),
                                               ("kr", CLI, "device_code", "token_storage = keyring\n"),
                                               ("web", CLI, "authorization_code", "")):
                f.write(f"[{name}]\nprovider = oauth\nissuer = {self.peer.issuer}\nclient_id = {client}\n"
                        f"grant = {grant}\nscopes = openid api:read\n{extra}\n")
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                    "TOK_CONFIG": self.config, "TOK_CACHE_DIR": os.path.join(self.home, "cache"),
                    "LC_ALL": "C.UTF-8"}

    # ------------------------------------------------------------------ helpers

    def run_tok(self, *args, input=None, timeout=RUN_TIMEOUT):
        return subprocess.run([self.tok, *args], env=self.env, input=input, capture_output=True, text=True,
                              timeout=timeout)

    def start_login(self, profile="me", env=None, args=()):
        """tok login running, and the URL it told the user to open (verification_uri_complete)."""
        proc = subprocess.Popen([self.tok, "login", "-p", profile, *args], env=env or self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"or open (\S+)", line)
            if m:
                return proc, m.group(1), lines
        proc.wait(timeout=10)
        self.fail(f"tok login showed no code (exit {proc.returncode}): {''.join(lines)}")

    def finish(self, proc, lines):
        """The exit code, stdout, and all of stderr. The rest is read through proc.stderr itself: the
        line loop that found the URL may have buffered the lines after it, and communicate() reads
        the descriptor beneath that buffer, so it would lose them."""
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            out, err = pool.submit(proc.stdout.read), pool.submit(proc.stderr.read)
            try:
                proc.wait(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
            return proc.returncode, out.result(), "".join(lines) + err.result()

    def login(self, profile="me", user="alice", env=None, args=()):
        proc, url, lines = self.start_login(profile, env, args)
        oidc_pages.approve_device(url, user)
        code, _, err = self.finish(proc, lines)
        self.assertEqual(code, 0, err)
        self.assertIn(f"tok: {profile}: logged in as {user}", err)
        return err

    def entry(self):
        """The cache entry (the test reads the refresh token there; tok never prints it)."""
        cache = self.env["TOK_CACHE_DIR"]
        names = [n for n in os.listdir(cache) if n.endswith(".json")]
        self.assertEqual(len(names), 1, names)
        with open(os.path.join(cache, names[0]), encoding="utf-8") as f:
            return json.load(f)

    def refresh_token(self):
        return self.entry()["token"]["fields"]["refresh_token"]

    def entries_of(self, profile):
        """The profile's cache entries (`PROFILE-HASH.json`), parsed."""
        cache = self.env["TOK_CACHE_DIR"]
        found = []
        for name in sorted(os.listdir(cache) if os.path.isdir(cache) else []):
            if re.fullmatch(re.escape(profile) + r"-[0-9a-f]{16}\.json", name):
                with open(os.path.join(cache, name), encoding="utf-8") as f:
                    found.append(json.load(f))
        return found

    def active(self, token):
        return self.peer.introspect(token, RS, RS_SECRET)

    def wait_expired(self):
        time.sleep(1.5)  # LOGIN_TTL - the 40 s expiry_buffer, and a little more

    def grants(self, name):
        return self.peer.stats()["grants"].get(name, 0)

    # ------------------------------------------------------------------ tests

    def test_device_login_then_get_status_and_no_secret_printed(self):
        shown = self.login(user="alice")
        self.assertRegex(shown, r"tok: me: to log in, open http://127\.0\.0\.1:\d+/device and enter the code "
                                r"[A-Z]{4}-[A-Z]{4}")
        got = self.run_tok("get", "-p", "me")
        self.assertEqual(got.returncode, 0, got.stderr)
        token = got.stdout.strip()
        info = self.active(token)
        self.assertTrue(info["active"], info)
        self.assertEqual(info["sub"], "alice")
        refresh = self.refresh_token()
        self.assertTrue(self.active(refresh)["active"])
        status = self.run_tok("status", "-p", "me")
        self.assertIn("login:        alice since ", status.stdout)
        self.assertIn("(refresh token kept)", status.stdout)
        as_json = self.run_tok("status", "-p", "me", "--format", "json")
        login = json.loads(as_json.stdout)["login"]
        self.assertEqual(login["subject"], "alice")
        self.assertIs(login["refresh_token"], True)
        verbose = self.run_tok("get", "-p", "me", "-v", "--force-refresh", "--format", "json")
        self.assertEqual(verbose.returncode, 0, verbose.stderr)
        for run in (got, status, as_json, verbose):
            self.assertNotIn(refresh, run.stdout + run.stderr)
        self.assertNotIn(self.refresh_token(), verbose.stdout + verbose.stderr)
        self.assertNotIn(refresh, shown)

    def test_200_callers_one_refresh_then_200_without_a_lock_lose_the_grant(self):
        self.login()
        old_refresh = self.refresh_token()
        self.wait_expired()
        before = self.grants("refresh_token")
        procs = [subprocess.Popen([self.tok, "get", "-p", "me"], env=self.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(CALLERS)]
        results = [(p.communicate(timeout=RUN_TIMEOUT), p.returncode) for p in procs]
        failures = [(rc, err) for (out, err), rc in results if rc != 0]
        self.assertEqual(failures, [])
        tokens = {out.strip() for (out, _), _ in results}
        self.assertEqual(len(tokens), 1, "every caller gets the same token")
        self.assertEqual(self.grants("refresh_token") - before, 1, "exactly one refresh_token grant")
        new_refresh = self.refresh_token()
        self.assertNotEqual(new_refresh, old_refresh, "oidc-provider rotated it")
        self.assertTrue(self.active(new_refresh)["active"], "the grant is alive")
        self.assertTrue(self.active(tokens.pop())["active"])

        # The same herd through a client without a lock, as CLIs without one behave: each caller
        # reads the refresh token and uses it. The second use of a consumed refresh token is
        # taken for theft and the whole grant is revoked.
        start = self.peer.post("/device/auth", {"client_id": CLI, "scope": "openid api:read"})[1]
        oidc_pages.approve_device(start["verification_uri_complete"], "bob")
        status, first = self.peer.post("/token", {"grant_type": DEVICE_GRANT, "device_code": start["device_code"],
                                                  "client_id": CLI})
        self.assertEqual(status, 200, first)
        shared = first["refresh_token"]

        def unlocked_refresh(_):
            return self.peer.post("/token", {"grant_type": "refresh_token", "refresh_token": shared,
                                             "client_id": CLI})

        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(unlocked_refresh, range(CALLERS)))
        refused = [body for status, body in answers if status != 200]
        self.assertTrue(refused, "some callers sent the consumed refresh token")
        self.assertTrue(all(body.get("error") == "invalid_grant" for body in refused), refused[:3])
        issued = [body["refresh_token"] for status, body in answers if status == 200]
        self.assertTrue(issued)
        self.assertFalse(any(self.active(r)["active"] for r in issued), "the grant was revoked")
        # ...while tok's login (another grant) lives on.
        self.assertTrue(self.active(new_refresh)["active"])

    def test_a_revoked_login_exits_3_once_and_is_not_retried(self):
        self.login()
        status, _ = self.peer.post("/token/revocation", {"token": self.refresh_token(), "client_id": CLI})
        self.assertEqual(status, 200)
        self.wait_expired()
        before = self.grants("refresh_token")
        ended = self.run_tok("get", "-p", "me")
        self.assertEqual(ended.returncode, 3, ended.stderr)
        self.assertIn("the login has ended", ended.stderr)
        self.assertIn("invalid_grant", ended.stderr)
        self.assertIn("run tok login -p me", ended.stderr)
        again = self.run_tok("get", "-p", "me")
        self.assertEqual(again.returncode, 3)
        self.assertEqual(again.stderr, "tok: me: not logged in: run tok login -p me\n")
        self.assertEqual(self.grants("refresh_token") - before, 1, "the dead refresh token is never sent again")
        self.assertIn("(no refresh token: run tok login -p me)", self.run_tok("status", "-p", "me").stdout)

    def test_not_logged_in_get_exits_3_and_git_gets_nothing(self):
        got = self.run_tok("get", "-p", "me")
        self.assertEqual(got.returncode, 3)
        self.assertEqual(got.stdout, "")
        self.assertEqual(got.stderr, "tok: me: not logged in: run tok login -p me\n")
        git = shutil.which("git")
        self.assertIsNotNone(git, "git is needed for this test")
        env = dict(self.env, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
        fill = subprocess.run([git, "-c", f"credential.helper=!{self.tok} git-credential", "credential", "fill"],
                              input="protocol=https\nhost=git.example.com\n\n", env=env, capture_output=True,
                              text=True, timeout=RUN_TIMEOUT)
        self.assertNotIn("password=", fill.stdout)
        self.assertIn("tok: me: not logged in: run tok login -p me", fill.stderr)
        # Logged in, git gets the user's token.
        self.login()
        fill = subprocess.run([git, "-c", f"credential.helper=!{self.tok} git-credential", "credential", "fill"],
                              input="protocol=https\nhost=git.example.com\n\n", env=env, capture_output=True,
                              text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(fill.returncode, 0, fill.stderr)
        password = re.search(r"^password=(.+)$", fill.stdout, re.M).group(1)
        self.assertEqual(self.active(password)["sub"], "alice")

    def test_logout_revokes_and_forgets(self):
        self.login()
        refresh = self.refresh_token()
        out = self.run_tok("logout", "-p", "me")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("logged out (refresh token revoked)", out.stderr)
        self.assertFalse(self.active(refresh)["active"])
        self.assertEqual(self.run_tok("get", "-p", "me").returncode, 3)
        self.assertIn("not logged in", self.run_tok("logout", "-p", "me").stderr)

    def test_logout_keeps_what_it_could_not_revoke_unless_forced(self):
        env = self.start_keyring()
        self.login("me", env=dict(env, DBUS_SESSION_BUS_ADDRESS=""))  # in the file
        self.login("kr", env=env)                                       # in the keyring
        in_file = self.entries_of("me")[0]["token"]["fields"]["refresh_token"]
        in_keyring = self.keyring_refresh_token(env)
        self.assertTrue(in_file and in_keyring)
        self.peer.fail_revocation(503)
        self.addCleanup(self.peer.fail_revocation, 0)
        for profile in ("me", "kr"):
            out = subprocess.run([self.tok, "logout", "-p", profile], env=env, capture_output=True, text=True,
                                 timeout=RUN_TIMEOUT)
            self.assertNotEqual(out.returncode, 0, out.stderr)
            self.assertIn(f"tok: {profile}: still logged in: the refresh token could not be revoked, so it is kept",
                          out.stderr)
            self.assertIn("--force", out.stderr)
            self.assertNotIn("logged out", out.stderr)
            self.assertNotIn(in_file, out.stderr)
            self.assertNotIn(in_keyring, out.stderr)
            self.assertEqual(len(self.entries_of(profile)), 1, "the entry is kept")
            got = subprocess.run([self.tok, "get", "-p", profile, "--force-refresh"], env=env, capture_output=True,
                                 text=True, timeout=RUN_TIMEOUT)
            self.assertEqual(got.returncode, 0, f"{profile} is still logged in: {got.stderr}")
        self.assertTrue(self.keyring_refresh_token(env), "the keyring's item is kept")
        # --force forgets it everywhere, and says the token was not revoked.
        for profile in ("me", "kr"):
            out = subprocess.run([self.tok, "logout", "-p", profile, "--force"], env=env, capture_output=True,
                                 text=True, timeout=RUN_TIMEOUT)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("logged out (refresh token NOT revoked)", out.stderr)
            self.assertIn("forgotten anyway (--force)", out.stderr)
            self.assertEqual(self.entries_of(profile), [])
        self.assertEqual(self.keyring_refresh_token(env), "")
        self.assertEqual(self.keyring_items(env), 0)

    def test_serve_uses_the_login_on_disk(self):
        self.login(user="alice")
        token = self.run_tok("get", "-p", "me").stdout.strip()
        serve = subprocess.Popen([self.tok, "serve", "--gcp", "me", "--listen", "127.0.0.1:0"], env=self.env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = serve.stdout.readline()
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            self.assertIsNotNone(m, line + serve.stderr.read() if serve.poll() is not None else line)
            url = m.group(1) + "/computeMetadata/v1/instance/service-accounts/default/token"

            def ask():
                request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})
                try:
                    with urllib.request.urlopen(request, timeout=30) as r:
                        return r.status, json.load(r)
                except urllib.error.HTTPError as e:
                    return e.code, e.read().decode()

            status, body = ask()
            self.assertEqual(status, 200, body)
            self.assertEqual(body["access_token"], token, "the same entry as tok get, not a second login")
            self.assertEqual(self.run_tok("logout", "-p", "me").returncode, 0)
            status, body = ask()
            self.assertNotEqual(status, 200)
            self.assertIn("not logged in", str(body))
        finally:
            serve.terminate()
            serve.communicate(timeout=RUN_TIMEOUT)

    # ------------------------------------------------------------------ the keyring

    def start_keyring(self):
        """A private session bus (dbus-run-session) with gnome-keyring-daemon's Secret Service,
        unlocked: the environment that reaches it."""
        for program in ("dbus-run-session", "gnome-keyring-daemon", "secret-tool"):
            self.assertIsNotNone(shutil.which(program), f"{program} is needed for this test")
        bus = subprocess.Popen(["dbus-run-session", "--", "sh", "-c", 'echo "$DBUS_SESSION_BUS_ADDRESS"; exec sleep 600'],
                               env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self.addCleanup(lambda: (os.killpg(bus.pid, signal.SIGTERM), bus.communicate(timeout=10)))
        env = dict(self.env, DBUS_SESSION_BUS_ADDRESS=bus.stdout.readline().strip(),
                   XDG_RUNTIME_DIR=tempfile.mkdtemp(prefix="run-", dir=self.home))
        daemon = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                                  env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, text=True)
        daemon.stdin.write("test-password")
        daemon.stdin.close()
        self.addCleanup(lambda: (daemon.terminate(), daemon.wait(timeout=10)))
        self.keyring_daemon = daemon
        # Until the daemon owns the name, a client's call would make the bus start another daemon
        # (D-Bus activation), which hangs the call for seconds on a loaded machine: ask the bus
        # first, without activating anything.
        deadline = time.monotonic() + 30
        self.assertIsNotNone(shutil.which("dbus-send"), "dbus-send is needed for this test (Debian package dbus-bin)")
        owner = ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                 "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"]
        while "boolean true" not in subprocess.run(owner, env=env, capture_output=True, text=True, timeout=10).stdout:
            self.assertIsNone(daemon.poll(), "gnome-keyring-daemon exited")
            self.assertLess(time.monotonic(), deadline, "gnome-keyring-daemon did not take its bus name")
            time.sleep(0.1)
        while subprocess.run(["secret-tool", "store", "--label", "probe", "tok-test", "probe"], input="x", env=env,
                             capture_output=True, text=True, timeout=10).returncode != 0:
            self.assertLess(time.monotonic(), deadline, "gnome-keyring-daemon did not come up")
            time.sleep(0.2)
        return env

    def keyring_items(self, env, profile="kr"):
        """How many items of the profile the keyring holds."""
        out = subprocess.run(["secret-tool", "search", "--all", "tok-profile", profile], env=env,
                             capture_output=True, text=True, timeout=10)
        return sum(1 for line in (out.stdout + out.stderr).splitlines() if line.startswith("[/"))

    def lock_keyring(self, env):
        """Locks the default collection, as a screen lock or `Lock` in seahorse does (there is no
        prompter here to unlock it again)."""
        self.assertIsNotNone(shutil.which("gdbus"), "gdbus is needed for this test (Debian package libglib2.0-bin)")
        service = ["gdbus", "call", "--session", "--dest", "org.freedesktop.secrets", "--object-path",
                   "/org/freedesktop/secrets", "--method"]
        alias = subprocess.run(service + ["org.freedesktop.Secret.Service.ReadAlias", "default"], env=env,
                               capture_output=True, text=True, timeout=10)
        path = re.search(r"objectpath '([^']+)'", alias.stdout)
        self.assertIsNotNone(path, alias.stdout + alias.stderr)
        locked = subprocess.run(service + ["org.freedesktop.Secret.Service.Lock", f"['{path.group(1)}']"], env=env,
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(locked.returncode, 0, locked.stderr)

    def keyring_refresh_token(self, env, profile="kr"):
        return subprocess.run(["secret-tool", "lookup", "tok-profile", profile], env=env, capture_output=True,
                              text=True, timeout=10).stdout

    def test_keyring_holds_the_refresh_token_and_the_file_does_not(self):
        env = self.start_keyring()
        self.login("kr", env=env)
        in_keyring = self.keyring_refresh_token(env)
        self.assertTrue(in_keyring)
        self.assertTrue(self.active(in_keyring)["active"])
        self.assertEqual(self.refresh_token(), "", "the entry only says a refresh token exists")
        with open(os.path.join(self.env["TOK_CACHE_DIR"], [n for n in os.listdir(self.env["TOK_CACHE_DIR"])
                                                           if n.endswith(".json")][0])) as f:
            self.assertNotIn(in_keyring, f.read())
        self.assertIn("(refresh token kept)", self.run_tok("status", "-p", "kr").stdout)
        self.wait_expired()
        got = subprocess.run([self.tok, "get", "-p", "kr"], env=env, capture_output=True, text=True,
                             timeout=RUN_TIMEOUT)
        self.assertEqual(got.returncode, 0, got.stderr)
        rotated = self.keyring_refresh_token(env)
        self.assertNotEqual(rotated, in_keyring)
        self.assertTrue(self.active(rotated)["active"])
        self.assertEqual(self.refresh_token(), "")
        out = subprocess.run([self.tok, "logout", "-p", "kr"], env=env, capture_output=True, text=True,
                             timeout=RUN_TIMEOUT)
        self.assertIn("logged out (refresh token revoked)", out.stderr)
        self.assertEqual(self.keyring_refresh_token(env), "")
        self.assertFalse(self.active(rotated)["active"])

    def test_no_keyring_reachable_falls_back_to_the_file_unless_asked_for(self):
        shown = self.login("me")  # no session bus in self.env
        self.assertIn("warning: no D-Bus session bus", shown)
        self.assertTrue(self.refresh_token(), "the refresh token is in the file")
        dead = dict(self.env, DBUS_SESSION_BUS_ADDRESS=f"unix:path={self.home}/no-bus")
        started = time.monotonic()
        explicit = subprocess.run([self.tok, "login", "-p", "kr"], env=dead, capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT)
        self.assertLess(time.monotonic() - started, 3.5)
        self.assertEqual(explicit.returncode, 5, explicit.stderr)
        self.assertIn("token_storage = keyring, but", explicit.stderr)
        self.assertNotIn("enter the code", explicit.stderr, "no login was started")

    def test_one_keyring_item_per_entry_and_cache_directory(self):
        """Entries of one profile with other scopes, or in another cache directory, are other
        logins: each has its own refresh token, never another's."""
        env = self.start_keyring()
        other_dir = dict(env, TOK_CACHE_DIR=os.path.join(self.home, "other-cache"))
        self.login("kr", user="alice", env=env)
        self.login("kr", user="bob", env=env, args=("--scopes", "openid"))
        self.login("kr", user="carol", env=other_dir)
        self.assertEqual(self.keyring_items(env), 3, "one item per entry and cache directory")
        self.wait_expired()
        for who, run_env, args in (("alice", env, ()), ("bob", env, ("--scopes", "openid")),
                                   ("carol", other_dir, ())):
            got = subprocess.run([self.tok, "get", "-p", "kr", *args], env=run_env, capture_output=True, text=True,
                                 timeout=RUN_TIMEOUT)
            self.assertEqual(got.returncode, 0, got.stderr)
            self.assertEqual(self.active(got.stdout.strip()).get("sub"), who, f"the entry {args} refreshed as {who}")
        # Logging one out leaves the others' logins alone.
        out = subprocess.run([self.tok, "logout", "-p", "kr", "--scopes", "openid"], env=env, capture_output=True,
                             text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.keyring_items(env), 2)
        got = subprocess.run([self.tok, "get", "-p", "kr", "--force-refresh"], env=env, capture_output=True,
                             text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(self.active(got.stdout.strip()).get("sub"), "alice")

    def test_a_hung_keyring_holds_a_refresh_no_longer_than_refresh_timeout(self):
        env = self.start_keyring()
        self.login("kr", env=env)
        self.wait_expired()
        os.kill(self.keyring_daemon.pid, signal.SIGSTOP)  # answers nothing, as a hung service
        self.addCleanup(os.kill, self.keyring_daemon.pid, signal.SIGCONT)
        started = time.monotonic()
        got = subprocess.run([self.tok, "get", "-p", "kr", "--refresh-timeout", "3s"], env=env, capture_output=True,
                             text=True, timeout=RUN_TIMEOUT)
        elapsed = time.monotonic() - started
        self.assertNotEqual(got.returncode, 0, got.stderr)
        self.assertIn("no answer from the Secret Service", got.stderr)
        self.assertLess(elapsed, 8, f"the refresh took {elapsed:.1f}s with refresh_timeout = 3s (libsecret waits 25 s)")

    def test_a_locked_keyring_is_found_before_the_login_starts(self):
        env = self.start_keyring()
        self.lock_keyring(env)
        started = time.monotonic()
        explicit = subprocess.run([self.tok, "login", "-p", "kr"], env=env, capture_output=True, text=True,
                                  timeout=20)
        self.assertLess(time.monotonic() - started, 8)
        self.assertEqual(explicit.returncode, 5, explicit.stderr)
        self.assertIn("token_storage = keyring, but cannot write to the Secret Service", explicit.stderr)
        self.assertIn("locked", explicit.stderr)
        self.assertNotIn("enter the code", explicit.stderr, "no login was started")
        # Unset token_storage: the file, with a warning.
        shown = self.login("me", env=env)
        self.assertIn("warning: cannot write to the Secret Service", shown)
        self.assertTrue(self.entries_of("me")[0]["token"]["fields"]["refresh_token"])

    def test_a_login_the_keyring_cannot_keep_is_revoked(self):
        env = self.start_keyring()
        proc, url, lines = self.start_login("kr", env)  # the write check passed
        self.lock_keyring(env)                           # locked while the user logs in
        before = self.peer.stats()["revocations"]
        oidc_pages.approve_device(url, "alice")
        code, _, err = self.finish(proc, lines)
        self.assertEqual(code, 5, err)
        self.assertIn("the login cannot be kept: cannot store the refresh token in the Secret Service", err)
        self.assertIn("its refresh token was revoked at the provider", err)
        self.assertEqual(self.peer.stats()["revocations"] - before, 1, "the grant nobody holds was revoked")
        self.assertEqual(self.run_tok("get", "-p", "kr").returncode, 3, "nothing was kept")

    def test_a_killed_login_loses_nothing(self):
        self.login(user="alice")
        before = self.entry()
        proc, _, lines = self.start_login()
        proc.kill()  # kill -9 while it polls
        proc.communicate(timeout=RUN_TIMEOUT)
        self.assertEqual(self.entry(), before)
        got = self.run_tok("get", "-p", "me")
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(self.active(got.stdout.strip())["sub"], "alice")

    def test_device_login_denied(self):
        proc, url, lines = self.start_login()
        oidc_pages.deny_device(url)
        code, _, err = self.finish(proc, lines)
        self.assertEqual(code, 3, err)
        self.assertIn("the login was denied at the provider (access_denied)", err)
        self.assertEqual(self.run_tok("get", "-p", "me").returncode, 3)

    def test_device_code_expires(self):
        proc, _, lines = self.start_login("short")
        code, _, err = self.finish(proc, lines)
        self.assertEqual(code, 3, err)
        self.assertIn("the device code expired before the login was approved", err)

    # -------------------------------------------------- authorization code (PKCE, loopback)

    def start_web_login(self, *flags):
        """tok login --no-browser running, and the authorization URL it printed."""
        proc = subprocess.Popen([self.tok, "login", "-p", "web", "--no-browser", *flags], env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(self.peer.issuer + "/auth?"):
                return proc, line.strip(), lines
        proc.wait(timeout=10)
        self.fail(f"tok login printed no URL (exit {proc.returncode}): {''.join(lines)}")

    def callback(self, url, **params):
        """What tok's listener answers a callback with these parameters: (status, body)."""
        query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
        target = query["redirect_uri"][0] + "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(target, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_browser_login_in_chromium_with_pkce_on_a_loopback_listener(self):
        if not os.access(CHROMIUM, os.X_OK):
            self.fail(f"{CHROMIUM} is needed for this test (Debian package chromium)")
        env = dict(self.env, BROWSER=os.path.join(HERE, "browser.mjs"), BROWSER_USER="carol", CHROMIUM=CHROMIUM)
        login = subprocess.run([self.tok, "login", "-p", "web"], env=env, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT)
        self.assertEqual(login.returncode, 0, login.stderr)
        self.assertIn("tok: web: logged in as carol", login.stderr)
        got = self.run_tok("get", "-p", "web")
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(self.active(got.stdout.strip())["sub"], "carol")

    def test_browser_login_url_and_bad_callbacks(self):
        proc, url, lines = self.start_web_login()
        query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
        self.assertEqual(query["code_challenge_method"], ["S256"])
        self.assertRegex(query["code_challenge"][0], r"^[A-Za-z0-9_-]{43}$")
        self.assertRegex(query["redirect_uri"][0], r"^http://127\.0\.0\.1:\d+/callback$")
        # Someone else's answer (wrong state) is refused and changes nothing...
        status, body = self.callback(url, code="forged", state="not-ours")
        self.assertEqual(status, 400)
        self.assertIn("does not belong to the login", body)
        # ...the real login goes through...
        oidc_pages.approve_login(url, "dave")
        # ...and a second callback, even with our state, changes nothing: while the listener is
        # still up (it redeems the first code) it answers 409, after that nothing listens.
        state = query["state"][0]
        try:
            status, body = self.callback(url, code="second", state=state)
            self.assertEqual(status, 409, body)
            self.assertIn("already finished", body)
        except urllib.error.URLError as e:
            self.assertIsInstance(e.reason, ConnectionRefusedError, e)
        code, _, err = self.finish(proc, lines)
        self.assertEqual(code, 0, err)
        self.assertIn("logged in as dave", err)
        got = self.run_tok("get", "-p", "web")
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(self.active(got.stdout.strip())["sub"], "dave", "the first callback's login, not the second")

    def test_another_user_cannot_answer_the_login_listener(self):
        """Mallory reads the authorization URL, logs in at the issuer as herself, and her browser
        is sent to the victim's listener: refused unread, as is her crowd of half-sent requests,
        and the victim's own login completes."""
        if shutil.which("setpriv") is None:
            self.fail("setpriv (util-linux) is needed to run a client as another user")
        if os.geteuid() != 0:
            self.fail("this test runs a client as uid 65534 with setpriv: run it as root (CI does)")
        proc, url, lines = self.start_web_login()
        mallory = subprocess.run(["setpriv", f"--reuid={MALLORY}", f"--regid={MALLORY}", "--clear-groups",
                                  sys.executable, "-c", MALLORY_SCRIPT, HERE, url], capture_output=True, text=True,
                                 timeout=RUN_TIMEOUT, env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
        self.assertEqual(mallory.returncode, 0, mallory.stderr)
        self.assertIn("closed 100", mallory.stdout, "mallory's connections are closed unread")
        self.assertIn("refused", mallory.stdout, "mallory's callback never reaches tok")
        self.assertNotIn("AssertionError", mallory.stdout, "mallory's login at the issuer went through")
        self.assertIsNone(proc.poll(), "tok login still waits for its own user")
        # The user's own browser, with a few idle connections of its own open.
        own = [socket.create_connection(("127.0.0.1", int(re.search(r":(\d+)/callback",
                                                                      urllib.parse.unquote(url)).group(1))))
               for _ in range(8)]
        self.addCleanup(lambda: [s.close() for s in own])
        started = time.monotonic()
        oidc_pages.approve_login(url, "alice")
        self.assertLess(time.monotonic() - started, 10)
        code, _, err = self.finish(proc, lines)
        self.assertEqual(code, 0, err)
        self.assertIn("tok: web: logged in as alice", err)
        self.assertNotIn("mallory", err)
        self.assertIn(f"the login listener refused a connection from uid {MALLORY}", err)
        got = self.run_tok("get", "-p", "web")
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(self.active(got.stdout.strip())["sub"], "alice")

    def test_browser_login_error_callback(self):
        proc, url, lines = self.start_web_login()
        state = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["state"][0]
        status, body = self.callback(url, error="access_denied", error_description="no thanks", state=state)
        self.assertEqual(status, 200)
        self.assertIn("close this tab", body)
        code, _, err = self.finish(proc, lines)
        self.assertEqual(code, 3, err)
        self.assertIn("the provider ended the login: access_denied: no thanks", err)
        self.assertEqual(self.run_tok("get", "-p", "web").returncode, 3, "nothing was stored")

    def test_browser_login_times_out(self):
        proc, url, lines = self.start_web_login("--timeout", "1s")
        code, _, err = self.finish(proc, lines)
        self.assertEqual(code, 3, err)  # the user's time ran out, as a device code's does
        self.assertIn("no answer from the browser within 1s", err)
        self.assertIn("(Ctrl-C to stop; --device on a machine without a browser)", err)


if __name__ == "__main__":
    unittest.main()

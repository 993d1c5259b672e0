"""`tok login` and a login's refresh against a stand-in identity provider on 127.0.0.1
(login_server.py) that says what a real one would not: an error whose description names another
code, a metadata document of another issuer or with control characters in its URLs, a device
answer with "interval": 0; and a machine without a browser (docs/login.md)."""
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import TOK, write_program
from login_server import LoginServer

FORGED = "\r\ntok: me: logged in as admin\x1b[0m"


class LoginCase(unittest.TestCase):
    def setUp(self):
        if not TOK or not os.access(TOK, os.X_OK):
            raise AssertionError("TOK_BIN must point at the tok binary under test")
        self.home = tempfile.mkdtemp(prefix="tok-login-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.idp = LoginServer().start()
        self.addCleanup(self.idp.stop)
        self.bin = os.path.join(self.home, "bin")
        os.mkdir(self.bin)
        self.config = os.path.join(self.home, "config")
        self.write_config(self.idp.url)
        self.env = {"HOME": self.home, "PATH": self.bin, "LC_ALL": "C", "TOK_CONFIG": self.config,
                    "TOK_CACHE_DIR": os.path.join(self.home, "cache")}

    def write_config(self, issuer):
        with open(self.config, "w") as f:
            for name, grant in (("me", "device_code"), ("web", "authorization_code")):
                f.write(f"[{name}]\nprovider = oauth\nissuer = {issuer}\nclient_id = cli\ngrant = {grant}\n"
                        "scopes = openid offline_access\ntoken_storage = file\n\n")

    def tok(self, *args, expect=None, timeout=60, env=None):
        proc = subprocess.run([TOK, *args], env=env or self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, errors="surrogateescape")
        if expect is not None:
            self.assertEqual(proc.returncode, expect, f"tok {args}: {proc.stdout!r} {proc.stderr!r}")
        return proc

    def login(self, profile="me"):
        proc = self.tok("login", "-p", profile, expect=0)
        self.assertIn(f"tok: {profile}: logged in as alice", proc.stderr)
        self.assertNotIn("waiting for the approval", proc.stderr, "no waiting line when stderr is no terminal")
        return proc

    def entry(self):
        cache = self.env["TOK_CACHE_DIR"]
        names = [n for n in os.listdir(cache) if n.endswith(".json")]
        self.assertEqual(len(names), 1, names)
        with open(os.path.join(cache, names[0])) as f:
            return json.load(f)

    def refresh_token(self):
        return self.entry()["token"].get("fields", {}).get("refresh_token")

    def assert_terminal_safe(self, text, profile="me"):
        """Nothing the provider sent reached the terminal raw: no carriage return, no escape, and
        no line of its own that looks like tok's."""
        self.assertNotIn("\r", text)
        self.assertNotIn("\x1b", text)
        for line in text.split("\n"):
            self.assertFalse(line.startswith(f"tok: {profile}: logged in"), text)


class NotALoginProfile(LoginCase):
    def test_the_refusal_names_help_an_installed_tok_has(self):
        with open(self.config, "a") as f:
            f.write("[machine]\nprovider = oauth\ntoken_url = http://127.0.0.1:9/token\nclient_id = ci\n")
        proc = self.tok("login", "-p", "machine", expect=2)
        self.assertIn("not a login profile", proc.stderr)
        self.assertIn("'tok help keys oauth'", proc.stderr)
        self.assertIn("'man tok'", proc.stderr)
        self.assertNotIn("docs/", proc.stderr, "an installed tok has no checkout to read")


class OAuthErrorCodes(LoginCase):
    """Issue 26.4: the login ends on the code invalid_grant from the answer's JSON, never on text."""

    def test_an_invalid_client_whose_description_names_invalid_grant_keeps_the_login(self):
        self.login()
        kept = self.refresh_token()
        self.assertTrue(kept)
        self.idp.refresh_faults.append((401, {"error": "invalid_client", "error_description":
                                              "client authentication failed: invalid_grant_type is not allowed"}))
        proc = self.tok("get", "-p", "me", "--force-refresh", expect=3)
        self.assertIn("invalid_client", proc.stderr)
        self.assertNotIn("the login has ended", proc.stderr)
        self.assertEqual(self.refresh_token(), kept, "the refresh token was kept")
        # The login goes on with the same refresh token once the client is fixed.
        self.tok("get", "-p", "me", "--force-refresh", expect=0)
        refreshes = self.idp.token_requests("refresh_token")
        self.assertEqual([r["refresh_token"] for r in refreshes], [kept, kept])

    def test_an_error_description_that_looks_like_invalid_grant_keeps_the_login(self):
        self.login()
        kept = self.refresh_token()
        self.idp.refresh_faults.append((400, {"error": "invalid_request", "error_description": "x: invalid_grant: y"}))
        proc = self.tok("get", "-p", "me", "--force-refresh", expect=3)
        self.assertNotIn("the login has ended", proc.stderr)
        self.assertEqual(self.refresh_token(), kept)

    def test_invalid_grant_still_ends_the_login(self):
        self.login()
        self.idp.refresh_faults.append((400, {"error": "invalid_grant", "error_description": "grant revoked"}))
        proc = self.tok("get", "-p", "me", "--force-refresh", expect=3)
        self.assertIn("the login has ended", proc.stderr)
        self.assertIn("run tok login -p me", proc.stderr)
        self.assertIsNone(self.refresh_token(), "the refresh token was forgotten")
        before = len(self.idp.token_requests("refresh_token"))
        proc = self.tok("get", "-p", "me", "--force-refresh", expect=3)
        self.assertIn("not logged in", proc.stderr)
        self.assertEqual(len(self.idp.token_requests("refresh_token")), before, "no request sent it again")


class Discovery(LoginCase):
    """Issue 26.5: the metadata's issuer must be the configured one, and no URL it names reaches
    the terminal raw."""

    def test_a_document_of_another_issuer_is_refused(self):
        self.idp.discovery["issuer"] = "https://idp.example"
        proc = self.tok("login", "-p", "me", expect=4)
        self.assertIn("the document is the issuer 'https://idp.example''s, not", proc.stderr)
        self.assertIn("RFC 8414", proc.stderr)
        self.assertEqual(self.idp.requests, [], "nothing was asked of an endpoint it named")

    def test_a_document_without_an_issuer_is_refused(self):
        self.idp.discovery["issuer"] = None
        proc = self.tok("login", "-p", "me", expect=4)
        self.assertIn("names no issuer", proc.stderr)

    def test_the_issuer_is_compared_exactly_a_trailing_slash_included(self):
        self.write_config(self.idp.url + "/")
        proc = self.tok("login", "-p", "me", expect=4)
        self.assertIn(f"set issuer = {self.idp.url} exactly as it names itself", proc.stderr)
        self.assertEqual(self.idp.requests, [])
        # And the other way round: an issuer that names itself with the slash is configured with it.
        self.idp.discovery["issuer"] = self.idp.url + "/"
        self.login()

    def test_control_characters_in_endpoints_never_reach_the_terminal(self):
        for key, profile in (("token_endpoint", "me"), ("device_authorization_endpoint", "me"),
                             ("authorization_endpoint", "web"), ("revocation_endpoint", "me")):
            with self.subTest(key=key):
                self.idp.discovery = {key: self.idp.url + "/x" + FORGED}
                proc = self.tok("login", "-p", profile, "--no-browser", "--timeout", "1s")
                self.assertEqual(proc.returncode, 4, proc.stderr)
                self.assertIn(f"{key} '", proc.stderr)
                self.assertIn("control character", proc.stderr)
                self.assert_terminal_safe(proc.stderr, profile)
        # Not an http(s) URL at all: the refusal quotes it, printable.
        self.idp.discovery = {"token_endpoint": "javascript:" + FORGED}
        proc = self.tok("login", "-p", "me", expect=4)
        self.assertIn("is not an http(s) URL", proc.stderr)
        self.assert_terminal_safe(proc.stderr)

    def test_control_characters_in_the_device_answer_never_reach_the_terminal(self):
        self.idp.device = {"verification_uri": self.idp.url + "/activate" + FORGED}
        proc = self.tok("login", "-p", "me", expect=4)
        self.assertIn("malformed answer (verification_uri)", proc.stderr)
        self.assert_terminal_safe(proc.stderr)
        self.idp.device = {"user_code": "AB" + FORGED, "verification_uri_complete": self.idp.url + "/a" + FORGED}
        proc = self.tok("login", "-p", "me", expect=0)
        self.assert_terminal_safe(proc.stderr.replace("tok: me: logged in as alice\n", ""))
        self.assertNotIn("or open", proc.stderr, "an unusable verification_uri_complete is not shown")


class DevicePolling(LoginCase):
    """Issue 26.5: the device answer's interval has a floor, slow_down adds 5 s, and the wait is
    bounded by expires_in."""

    def run_login(self, expect):
        started = time.monotonic()
        proc = self.tok("login", "-p", "me", expect=expect)
        return proc, started

    def test_interval_zero_waits_the_default_five_seconds(self):
        self.idp.device["interval"] = 0
        proc, started = self.run_login(0)
        self.assertEqual(len(self.idp.polls), 1)
        self.assertGreaterEqual(self.idp.polls[0] - started, 4.5, "interval 0 polled at once")

    def test_interval_zero_never_polls_in_a_loop(self):
        # Pending for ever, a code that lives 3 s: before, ~1,400 polls a second until it expired.
        self.idp.device.update({"interval": 0, "expires_in": 3})
        self.idp.device_errors = ["authorization_pending"] * 100000
        proc, started = self.run_login(3)
        self.assertIn("the device code expired", proc.stderr)
        self.assertLessEqual(len(self.idp.polls), 1, "polled without pause")
        self.assertLess(time.monotonic() - started, 10, "waited past the code's expiry")

    def test_a_negative_interval_is_the_default(self):
        self.idp.device.update({"interval": -1, "expires_in": 2})
        self.idp.device_errors = ["authorization_pending"] * 1000
        proc, _ = self.run_login(3)
        self.assertIn("the device code expired", proc.stderr)
        self.assertEqual(self.idp.polls, [])

    def test_slow_down_adds_five_seconds(self):
        self.idp.device["interval"] = 1
        self.idp.device_errors = ["slow_down"]
        self.run_login(0)
        self.assertEqual(len(self.idp.polls), 2)
        self.assertGreaterEqual(self.idp.polls[1] - self.idp.polls[0], 5.5, "slow_down did not add 5 s")

    def test_an_unbounded_answer_is_refused(self):
        for change, why in (({"expires_in": 10 ** 9}, "expires_in"), ({"interval": 10 ** 9}, "interval"),
                            ({"device_code": "d" * 5000}, "device_code")):
            with self.subTest(change=change):
                self.idp.device = change
                proc = self.tok("login", "-p", "me", expect=4)
                self.assertIn(f"malformed answer ({why}", proc.stderr)
        self.assertEqual(self.idp.polls, [])

    def test_a_waiting_line_on_a_terminal(self):
        self.idp.device_errors = ["authorization_pending"]
        master, slave = os.openpty()
        proc = subprocess.Popen([TOK, "login", "-p", "me"], env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        out = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every writer has gone
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        os.close(master)
        self.assertEqual(proc.wait(timeout=30), 0, out)
        proc.stdout.close()
        text = out.decode(errors="replace")
        self.assertRegex(text, r"\rtok: me: waiting for the approval\.\.\. [0-9hms ]+ left \(Ctrl-C to stop\)")
        self.assertIn("tok: me: logged in as alice", text)
        # The line is erased before the result: the result starts a line of its own.
        self.assertRegex(text, r"\r *\rtok: me: logged in as alice")


class NoBrowser(LoginCase):
    """Issue 26.7: a machine without a browser is noticed, told what to do, and the wait that
    runs out is the user's (exit 3), not an unavailable issuer."""

    def expect_url_and_hint(self, err):
        self.assertRegex(err, r"tok: web: to log in, open this URL in a browser:\n" + re.escape(self.idp.url) +
                         r"/authorize\?response_type=code&\S+\n")
        self.assertIn("tok: web: waiting for the login in the browser... (Ctrl-C to stop; --device on a machine "
                      "without a browser)", err)
        self.assertIn("tok: web: no answer from the browser within 2s", err)

    def test_a_failing_xdg_open_is_noticed(self):
        write_program(self.bin, "xdg-open", "echo 'xdg-open: no method available for opening it' >&2\nexit 3\n")
        started = time.monotonic()
        proc = self.tok("login", "-p", "web", "--timeout", "2s", expect=3)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn("tok: web: warning: no browser opened: xdg-open exited with status 3", proc.stderr)
        self.expect_url_and_hint(proc.stderr)
        self.assertNotIn("no method available", proc.stderr, "the opener's own output is for -v")
        self.assertEqual(proc.stdout, "")
        verbose = self.tok("login", "-v", "-p", "web", "--timeout", "2s", expect=3)
        self.assertIn("no method available", verbose.stderr)

    def test_a_browser_that_is_killed_is_noticed(self):
        write_program(self.bin, "opener", "kill -9 $$\n")
        env = dict(self.env, BROWSER=os.path.join(self.bin, "opener"))
        proc = self.tok("login", "-p", "web", "--timeout", "2s", expect=3, env=env)
        self.assertIn("opener was killed by signal 9", proc.stderr)
        self.expect_url_and_hint(proc.stderr)

    def test_no_opener_at_all(self):
        proc = self.tok("login", "-p", "web", "--timeout", "2s", expect=3)
        self.assertIn("cannot run xdg-open", proc.stderr)
        self.expect_url_and_hint(proc.stderr)

    def test_no_browser_flag_times_out_as_the_user(self):
        proc = self.tok("login", "-p", "web", "--no-browser", "--timeout", "2s", expect=3)
        self.expect_url_and_hint(proc.stderr)
        self.assertIn("--device to log in with a code", proc.stderr)


if __name__ == "__main__":
    unittest.main()

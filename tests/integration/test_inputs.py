"""Inputs tok does not choose (issue 26, item 11), against the real binary: a FIFO where a cache
entry or lock belongs, a password in a configured URL, an empty profile name, a request to
`tok serve` with two Host headers or a NUL in one, a signal while a `provider = command` program
runs, and `tok clear` next to a login made with another config file."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import TOK, TokCase, process_state, write_program
from serve_harness import ServeCase

GCP_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"
PASSWORD = "pw-Zq81xS3cretInUrl"


class FifoInTheCache(TokCase):
    """A FIFO has no writer: opening it for reading would wait forever."""

    def run_bounded(self, *args):
        try:
            return self.run_tok(*args, timeout=20)
        except subprocess.TimeoutExpired:
            self.fail(f"tok {args[0]} still waiting on a FIFO after 20 s")

    def test_a_fifo_at_the_entry_path_is_refused_at_once(self):
        self.get()
        path = self.entry_path()
        os.unlink(path)
        os.mkfifo(path, 0o600)
        for command in ("get", "status"):
            with self.subTest(command=command):
                started = time.monotonic()
                proc = self.run_bounded(command, *self.profile_args())
                self.assertLess(time.monotonic() - started, 10)
                self.assertNotEqual(proc.returncode, 0, proc.stdout)
                self.assertIn(f"refusing to use {path}: it is not a regular file", proc.stderr)
        self.assertTrue(os.path.exists(path), "the FIFO is the user's to remove")

    def test_a_fifo_at_the_lock_path_is_refused_at_once(self):
        self.get()
        lock = self.entry_path()[:-len(".json")] + ".lock"
        if os.path.exists(lock):
            os.unlink(lock)
        os.mkfifo(lock, 0o600)
        for command in ("status", "refresh"):
            with self.subTest(command=command):
                proc = self.run_bounded(command, *self.profile_args())
                self.assertNotEqual(proc.returncode, 0, proc.stdout)
                self.assertIn(f"refusing to use {lock}: it is not a regular file", proc.stderr)


class PasswordInUrl(TokCase):
    """`https://user:pass@host/...` is accepted (and sent); the password is never shown."""

    def setUp(self):
        super().setUp()
        self.url = self.server.token_url.replace("http://", f"http://alice:{PASSWORD}@", 1)
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w") as f:
            f.write(f"[pw]\nprovider = oauth\ntoken_url = {self.url}\nclient_id = ci\n"
                    f"[closed]\nprovider = oauth\ntoken_url = http://alice:{PASSWORD}@127.0.0.1:1/token\nclient_id = ci\n"
                    f"[far]\nprovider = oauth\ntoken_url = http://alice:{PASSWORD}@example.invalid/token\nclient_id = ci\n"
                    f"[disco]\nprovider = oauth\nissuer = http://alice:{PASSWORD}@127.0.0.1:1\nclient_id = ci\n")
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache})

    def outputs(self, *args):
        proc = self.run_tok(*args)
        for stream in (proc.stdout, proc.stderr):
            self.assertNotIn(PASSWORD, stream, f"tok {' '.join(args)} printed the URL's password")
        return proc

    def test_the_password_is_never_printed(self):
        for verbose in ((), ("-v",)):
            for args in (("get",), ("get", "--format", "json"), ("status",), ("status", "--format", "json"),
                         ("refresh",), ("profiles",), ("profiles", "--format", "json"),
                         ("profiles", "--state"), ("status", "--all"), ("status", "--all", "--format", "json")):
                with self.subTest(args=args, verbose=verbose):
                    proc = self.outputs(*args, "-p", "pw", *verbose)
                    self.assertEqual(proc.returncode, 0, proc.stderr)
        # The user name stays: which account the URL names is worth knowing.
        status = json.loads(self.outputs("status", "-p", "pw", "--format", "json").stdout)
        self.assertIn("alice:[redacted]@127.0.0.1", status["endpoint"])
        profiles = self.outputs("profiles").stdout
        self.assertIn("alice:[redacted]@", profiles)
        # Errors: a refused fetch, a failed connection, a refused URL, a failed discovery; and
        # status after each (what a failure left behind is shown there).
        for profile in ("pw", "closed", "far", "disco"):
            for args in (("refresh",), ("refresh", "-v"), ("get", "--force-refresh", "--format", "json"),
                         ("status",), ("status", "--format", "json")):
                with self.subTest(profile=profile, args=args):
                    if profile == "pw":
                        self.server.fault(status=400, json={"error": "invalid_request", "error_description": "no"})
                    proc = self.outputs(*args, "-p", profile)
                    if args[0] != "status":
                        self.assertNotEqual(proc.returncode, 0, proc.stdout)
                        self.assertIn("alice:[redacted]@", proc.stderr)


class EmptyProfileName(TokCase):
    def test_an_empty_profile_name_is_a_usage_error(self):
        # (`--profile=` is CLI11's "no value", already a usage error.)
        for args in (("get", "-p", ""), ("-p", "", "get"), ("--profile", "", "get"), ("get", "-p", "", "-v"),
                     ("status", "-p", ""), ("git-credential", "get", "-p", ""), ("clear", "-p", "")):
            with self.subTest(args=args):
                proc = self.run_tok(*args, *self.oauth_args())
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("empty profile name", proc.stderr)
                self.assertEqual(proc.stdout, "")
        self.assertEqual(self.server.token_requests, 0)

    def test_an_empty_tok_profile_counts_as_unset(self):
        env = dict(self.env, TOK_PROFILE="")
        proc = self.run_tok("get", *self.oauth_args(), env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(self.run_tok("status", "--format", "json", *self.oauth_args(), env=env).stdout)
                         ["profile"], "default")


def raw_request(authority, head):
    """The status of one raw request (bytes up to the blank line), or None when closed unanswered."""
    host, port = authority.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head + b"\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if not data.startswith(b"HTTP/1."):
        return None, data
    return int(data.split(b" ", 2)[1]), data


class ServeHostHeaders(ServeCase):
    def test_two_hosts_or_a_nul_in_host_are_refused(self):
        self.start_serve(protocols=("--gcp", "ws"), verbose=True)
        own = self.authority.encode()
        line = f"GET {GCP_TOKEN} HTTP/1.1\r\n".encode()
        flavor = b"Metadata-Flavor: Google\r\n"
        status, _ = raw_request(self.authority, line + b"Host: " + own + b"\r\n" + flavor)
        self.assertEqual(status, 200, "the plain request works")
        cases = {
            "own then foreign": b"Host: " + own + b"\r\nHost: evil.example\r\n",
            "foreign then own": b"Host: evil.example\r\nHost: " + own + b"\r\n",
            "twice the same": b"Host: " + own + b"\r\nHost: " + own + b"\r\n",
            "NUL then foreign": b"Host: " + own + b"\x00.evil.example\r\n",
            "NUL then one byte": b"Host: " + own + b"\x00x\r\n",
            "NUL before the port": b"Host: 127.0.0.1\x00:" + own.split(b":")[1] + b"\r\n",
        }
        for name, hosts in cases.items():
            with self.subTest(case=name):
                status, data = raw_request(self.authority, line + hosts + flavor)
                # libmicrohttpd may refuse a malformed header line itself (400), never answer it.
                self.assertIn(status, (400, None), data[:200])
                self.assertNotIn(b"access_token", data)
        self.assertEqual(self.server.token_requests, 1, "refusals never cost a fetch")
        log = self.serve_log()
        self.assertIn("more than one Host header", log)
        self.assertIn("a control character in the Host header", log)


SLOW_COMMAND = """
echo $$ > "{pidfile}"
exec sleep 30
"""


class CommandEndsWithTok(ServeCase):
    """A command runs in its own process group: a signal to tok does not reach it, so tok ends it."""

    def setUp(self):
        super().setUp()
        self.pidfile = os.path.join(self.home, "command.pid")
        prog = write_program(self.home, "slow-token", SLOW_COMMAND.format(pidfile=self.pidfile))
        with open(self.config, "a") as f:
            f.write(f"[slow]\nprovider = command\ncommand = {prog}\ncommand_timeout = 120s\n")

    def command_pid(self):
        def written():
            try:
                with open(self.pidfile) as f:
                    return f.read().strip() != ""
            except FileNotFoundError:
                return False

        self.wait_until(written, what="the command to start")
        with open(self.pidfile) as f:
            pid = int(f.read())
        self.addCleanup(lambda: process_state(pid) and os.kill(pid, signal.SIGKILL))
        return pid

    def assert_gone_within(self, pid, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if process_state(pid) in (None, "Z"):
                return
            time.sleep(0.05)
        self.fail(f"the command (pid {pid}) still runs {seconds} s after tok was told to stop")

    def test_sigterm_to_serve_ends_the_command(self):
        proc = self.start_serve(protocols=("--gcp", "slow"))

        def ask():
            try:
                raw_request(self.authority, f"GET {GCP_TOKEN} HTTP/1.1\r\nHost: {self.authority}\r\n"
                                            "Metadata-Flavor: Google\r\n".encode())
            except OSError:
                pass

        threading.Thread(target=ask, daemon=True).start()
        pid = self.command_pid()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        self.assert_gone_within(pid, 3)

    def test_a_signal_to_tok_get_ends_the_command(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig):
                if os.path.exists(self.pidfile):
                    os.unlink(self.pidfile)
                proc = subprocess.Popen([TOK, "get", "-p", "slow", "--no-async"], env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                pid = self.command_pid()
                proc.send_signal(sig)
                proc.communicate(timeout=10)
                self.assertEqual(proc.returncode, -sig, "tok ends as the signal says")
                self.assert_gone_within(pid, 2)


class ClearKeepsLogins(TokCase):
    """A login made with the global config, and a project config that does not name it."""

    def setUp(self):
        super().setUp()
        base = self.server.token_url[:-len("/token")]
        os.makedirs(os.path.join(self.home, ".config", "tok"))
        self.global_config = os.path.join(self.home, ".config", "tok", "config")
        with open(self.global_config, "w") as f:
            f.write(f"[me]\nprovider = oauth\ngrant = device_code\nissuer = {base}\nclient_id = cli\n")
        self.project = os.path.join(self.home, "project.ini")
        with open(self.project, "w") as f:
            f.write(f"[ci]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n")
        self.env.update({"TOK_CACHE_DIR": self.cache})
        # A login's entry as `tok login` leaves it: a token, its refresh token, who and since when.
        self.assertEqual(self.run_tok("--config", self.project, "get", "-p", "ci").returncode, 0)
        self.login_entry = json.loads(self.run_tok("status", "-p", "me", "--format", "json").stdout)["cache_file"]
        ci = json.loads(self.run_tok("--config", self.project, "status", "-p", "ci", "--format", "json").stdout)
        with open(ci["cache_file"]) as f:
            entry = json.load(f)
        entry["token"].setdefault("fields", {})["refresh_token"] = "rt-of-a-live-login"
        entry["memo"] = {"login_since": "2026-01-01T00:00:00Z", "login_subject": "me@example.com"}
        with open(self.login_entry, "w") as f:
            json.dump(entry, f)
        os.chmod(self.login_entry, 0o600)
        self.ci_entry = ci["cache_file"]

    def test_clear_unused_with_a_project_config_keeps_the_global_login(self):
        proc = self.run_tok("--config", self.project, "clear", "--unused")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(os.path.exists(self.login_entry), "the global login's entry was deleted unrevoked")
        self.assertIn("kept 1 entry holding a login's refresh token", proc.stderr)
        self.assertIn("tok logout", proc.stderr)
        self.assertTrue(os.path.exists(self.ci_entry), "the project's own entry is in use")

    def test_clear_all_keeps_the_login_and_removes_the_rest(self):
        proc = self.run_tok("--config", self.project, "clear", "--all")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("removed 1 cache entry", proc.stdout)
        self.assertTrue(os.path.exists(self.login_entry))
        self.assertFalse(os.path.exists(self.ci_entry))
        self.assertIn("tok logout", proc.stderr)

    def test_clear_of_a_login_profile_is_refused_with_advice(self):
        proc = self.run_tok("clear", "-p", "me")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("holds a login", proc.stderr)
        self.assertIn("tok logout -p me", proc.stderr)
        self.assertTrue(os.path.exists(self.login_entry))
        # A profile without a login is cleared as before.
        proc = self.run_tok("--config", self.project, "clear", "-p", "ci")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse(os.path.exists(self.ci_entry))


if __name__ == "__main__":
    unittest.main()

"""What tok let slip when tried as an attacker and a careless user would (issue 11), against the
real binary: a proxy in the environment, secrets echoed back by a server, what a server sends
printed as is."""
import ctypes
import json
import os
import socket
import threading
import unittest

from harness import SECRET, TOK, TokCase
from token_server import TokenServer


class RecordingProxy:
    """A TCP listener that records every connection (and what was sent on it) and answers 502."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.seen = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(65536))
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        self.sock.close()


class Proxy(TokCase):
    def test_loopback_never_goes_through_a_proxy(self):
        proxy = RecordingProxy()
        self.addCleanup(proxy.close)
        other = TokenServer(host="127.0.0.2").start()  # loopback, but not a name a no_proxy list holds
        self.addCleanup(other.stop)
        env = dict(self.env)
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            env[name] = proxy.url
        for name in ("no_proxy", "NO_PROXY"):
            env.pop(name, None)
        for server in (self.server, other):
            with self.subTest(url=server.token_url):
                proc = self.run_tok("get", "--provider", "oauth", "--token-url", server.token_url, "--client-id", "ci",
                                    "--cache-dir", self.cache, "--force-refresh", env=env)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(server.token_requests, 1)
        self.assertEqual(proxy.seen, [], "a loopback request went to the proxy")


class Redaction(TokCase):
    def test_a_server_echoing_the_secret_never_gets_it_printed(self):
        # Raw, form-encoded (with + and %20 for spaces) and JSON-escaped (with \\/ for slashes).
        encoded = "".join(c if c.isalnum() else "%%%02X" % ord(c) for c in SECRET)
        echoes = [
            {"status": 400, "json": {"error": "invalid_client", "error_description": f"secret {SECRET} is wrong"}},
            {"status": 401, "body": f"grant_type=client_credentials&client_secret={encoded}",
             "content_type": "text/plain"},
            {"status": 401, "body": "client_secret=" + encoded.replace("%20", "+"), "content_type": "text/plain"},
            {"status": 400, "body": json.dumps({"error": "invalid_request", "error_description": SECRET}).replace("/", "\\/")},
        ]
        for fault in echoes:
            with self.subTest(fault=fault["status"]):
                self.server.fault(**fault)
                proc = self.get("--auth-method", "post", expect=3)
                self.assertIn("[redacted]", proc.stderr)
                for needle in (SECRET, encoded, encoded.replace("%20", "+"), json.dumps(SECRET)[1:-1]):
                    self.assertNotIn(needle, proc.stderr)

    def test_a_malformed_answer_never_prints_the_token_however_short_or_split(self):
        for token in ("ab|cd", "short", "a/b/c\\/d"):
            with self.subTest(token=token):
                self.server.fault(status=200, json={"access_token": token, "expires_in": "soon"})
                proc = self.get(expect=4)
                self.assertIn("malformed", proc.stderr)
                self.assertNotIn(json.dumps(token)[1:-1], proc.stderr)
                self.assertNotIn(token, proc.stderr)


class HostileAnswers(TokCase):
    def test_header_injection_and_control_characters_are_malformed(self):
        for fields in ({"token_type": "Bearer\r\nX-Injected: 1"}, {"access_token": "tok\nX-Injected: 1"},
                       {"access_token": "\x1b]0;owned\x07tok"}, {"token_type": "Bea rer"}):
            with self.subTest(fields=fields):
                self.server.control(fields=fields)
                proc = self.run_tok("get", "--format", "header", *self.oauth_args("--force-refresh"))
                self.assertEqual(proc.returncode, 4, proc.stderr)
                self.assertEqual(proc.stdout, "")
                # Quoted, the body may mention it, but it can never start a line of its own.
                self.assertNotIn("\r", proc.stderr)
                self.assertNotIn("\x1b", proc.stderr)
                self.assertNotIn("\x07", proc.stderr)
                self.assertTrue(all(line.startswith("tok: ") for line in proc.stderr.splitlines()), proc.stderr)
        self.server.control(fields={})


class CacheDirectorySwap(TokCase):
    """Issue 11, finding 5: the cache directory swapped for a symlink to a directory holding a
    planted entry, over and over, while 600 `tok get` run. tok opens the directory once
    (O_DIRECTORY|O_NOFOLLOW), checks that descriptor and works relative to it, so whatever a
    caller sees (the real entry, no directory, a refused symlink), it never prints the plant."""

    def test_a_planted_token_is_never_printed_while_the_directory_is_swapped(self):
        real = self.get()
        entry = self.read_entry()
        planted = os.path.join(self.home, "planted")
        os.mkdir(planted, 0o700)
        entry["token"]["access_token"] = "PLANTED.token"
        name = os.path.basename(self.entry_path())
        with open(os.open(os.path.join(planted, name), os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            json.dump(entry, f)
        link = self.cache + ".link"
        os.symlink(planted, link)
        # renameat2(RENAME_EXCHANGE): the name is always there, a directory or the symlink, never
        # missing (so no caller creates a directory of its own meanwhile).
        libc = ctypes.CDLL(None, use_errno=True)
        exchange = lambda: libc.renameat2(-100, self.cache.encode(), -100, link.encode(), 2)  # noqa: E731
        stop = threading.Event()
        swaps = [0]

        def swap():
            while not stop.is_set():
                if exchange() != 0 or exchange() != 0:
                    raise OSError(ctypes.get_errno(), "renameat2(RENAME_EXCHANGE)")
                swaps[0] += 1

        swapper = threading.Thread(target=swap)
        swapper.start()
        outputs, codes = [], set()
        try:
            for _ in range(12):
                for code, out, err in self.spawn_many(50):
                    outputs.append(out)
                    codes.add(code)
                    self.assertNotIn("PLANTED", err)
        finally:
            stop.set()
            swapper.join()
        self.assertGreater(swaps[0], 100, "the swap must race the callers")
        self.assertNotIn("PLANTED.token", outputs, f"exit codes seen: {sorted(codes)}")
        self.assertIn(real, outputs, "some callers did read the real entry")


if __name__ == "__main__":
    unittest.main()

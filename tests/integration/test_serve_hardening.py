"""tok serve on a shared host, tried as an attacker would (issue 16): another account of the same
machine, a web page reaching loopback by DNS rebinding, clients that are slow on purpose, a huge
request body, and the kept-alive connection SDKs use. The real binary, loopback only."""
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import time
import unittest

from harness import TOK, TokCase  # noqa: F401 (TOK: the binary under test)
from serve_harness import HOST, RESOURCE, ServeCase

GOOGLE = {"Metadata-Flavor": "Google"}
GCP_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"
IMDS_TOKEN = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + RESOURCE
PYTHON = "/usr/bin/python3"
NOBODY = 65534

# A client run under another uid: prints the status and body it got, or the error.
CLIENT = """
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Metadata-Flavor": "Google"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except Exception as e:
    print("refused", type(e).__name__)
"""


def request(authority, path, headers=None, method="GET", host=None):
    """(status, headers, body) of one request on a fresh connection, Host as given."""
    conn = http.client.HTTPConnection(authority, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read().decode()
    finally:
        conn.close()


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")


class OtherUsers(ServeCase):
    """Loopback is shared by every account of the host: only the server's own uid is answered."""

    def setUp(self):
        super().setUp()
        if shutil.which("setpriv") is None:
            self.fail("setpriv (util-linux) is needed to run a client as another user")
        if os.geteuid() != 0:
            self.fail("these tests run a client as uid 65534 with setpriv: run them as root (CI does)")

    def as_user(self, uid, url):
        proc = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", PYTHON, "-c", CLIENT,
                               url], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def test_another_uid_gets_no_token_and_the_same_uid_does(self):
        self.start_serve(verbose=True)
        self.wait_for_warm_up()
        url = self.base + GCP_TOKEN
        got = self.as_user(NOBODY, url)
        self.assertTrue(got.startswith("refused"), got)
        self.assertEqual(self.server.token_requests, 1)
        got = self.as_user(os.geteuid(), url)
        self.assertTrue(got.startswith("200 "), got)
        self.assertIn("access_token", got)
        self.assertIn(f"refused a connection from uid {NOBODY}", self.serve_log())

    def test_allow_user_admits_the_named_user_by_name_or_uid(self):
        name = pwd.getpwuid(NOBODY).pw_name
        for allowed in (name, str(NOBODY)):
            with self.subTest(allowed=allowed):
                proc = self.start_serve("--allow-user", allowed)
                got = self.as_user(NOBODY, self.base + GCP_TOKEN)
                self.assertTrue(got.startswith("200 "), got)
                self.stop_serve(proc)

    def test_an_unknown_user_is_a_usage_error(self):
        proc = self.run_tok("serve", "--listen", "127.0.0.1:0", "--gcp", "ws", "--allow-user", "no-such-user-here")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--allow-user", proc.stderr)


class Banner(ServeCase):
    def test_secrets_are_not_printed_to_a_socket_such_as_the_journal(self):
        # systemd's StandardOutput=journal hands the service a socket; the journal keeps its lines.
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        argv = [TOK, "serve", "--listen", "127.0.0.1:0", "--databricks", "ws", "--azure-imds", "ws"]
        proc = subprocess.Popen(argv, env=self.env, stdout=theirs, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        theirs.close()
        self.addCleanup(self.stop_serve, proc)
        banner = b""
        ours.settimeout(20)
        while banner.count(b"\n") < 3:
            part = ours.recv(4096)
            if not part:
                break
            banner += part
        text = banner.decode()
        self.assertIn("IDENTITY_ENDPOINT=", text)
        self.assertIn("secret not printed", text)
        self.assertNotRegex(text, r"[0-9a-f]{32}")


class OwnHostNames(ServeCase):
    """DNS rebinding: a page on evil.example rebound to 127.0.0.1 sends its own name as Host."""

    def test_foreign_host_refused_on_every_protocol_and_no_cors_anywhere(self):
        self.start_serve()
        port = self.authority.split(":")[1]
        databricks = self.databricks_url[len(self.base):]
        requests = [
            (databricks, {"X-Databricks-Metadata-Version": "1", "X-Databricks-Host": HOST}),
            (IMDS_TOKEN, {"Metadata": "true"}),
            (self.identity_endpoint[len(self.base):] + "?api-version=2019-08-01&resource=" + RESOURCE,
             {"X-IDENTITY-HEADER": self.identity_header}),
            (GCP_TOKEN, GOOGLE),
            ("/", GOOGLE),
        ]
        foreign = ["evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", f"localhost.evil.example:{port}",
                   "127.0.0.1:80@evil.example", ""]
        for path, headers in requests:
            for host in foreign:
                with self.subTest(path=path, host=host):
                    status, resp_headers, body = request(self.authority, path, dict(headers, Origin="http://evil.example"),
                                                         host=host)
                    self.assertEqual(status, 403, body)
                    self.assertNotIn("access_token", body)
                    self.assertFalse([k for k, _ in resp_headers if k.lower().startswith("access-control-")])
            for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", "127.0.0.1"):
                with self.subTest(path=path, host=host):
                    status, resp_headers, body = request(self.authority, path, dict(headers, Origin="http://evil.example"),
                                                         host=host)
                    self.assertEqual(status, 200, body)
                    self.assertFalse([k for k, _ in resp_headers if k.lower().startswith("access-control-")])
            # A browser's preflight gets nothing that would let the page read an answer.
            status, resp_headers, _ = request(self.authority, path, {"Origin": "http://evil.example",
                                                                     "Access-Control-Request-Method": "GET"},
                                              method="OPTIONS", host=f"127.0.0.1:{port}")
            self.assertEqual(status, 405)
            self.assertFalse([k for k, _ in resp_headers if k.lower().startswith("access-control-")])
        self.assertEqual(self.server.token_requests, 1, "refusals never cost a fetch")


class NeverStalled(ServeCase):
    def half_sent(self, count):
        """`count` connections, each with a request line and one header but never the end."""
        socks = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", int(self.authority.split(":")[1])), timeout=10)
            s.sendall(f"GET {GCP_TOKEN} HTTP/1.1\r\nHost: {self.authority}\r\n".encode())
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])
        return socks

    def test_200_idle_half_sent_requests_do_not_delay_a_real_client(self):
        self.start_serve()
        request(self.authority, GCP_TOKEN, GOOGLE)  # the token is cached: only the server is measured
        socks = self.half_sent(200)
        for _ in range(3):
            for s in socks[:64]:  # some of them keep trickling header lines, as slowloris does
                s.sendall(b"X-Slow: 1\r\n")
            started = time.monotonic()
            status, _, body = request(self.authority, GCP_TOKEN, GOOGLE)
            elapsed = time.monotonic() - started
            self.assertEqual(status, 200, body)
            self.assertLess(elapsed, 1.0, "a real client is answered while 200 others hold connections")

    def test_sigterm_with_slow_clients_connected_exits_0_within_2_s(self):
        proc = self.start_serve()
        request(self.authority, GCP_TOKEN, GOOGLE)
        self.half_sent(64)
        # And one kept-alive connection that has been answered and stays open.
        kept = http.client.HTTPConnection(self.authority, timeout=10)
        kept.request("GET", GCP_TOKEN, headers=GOOGLE)
        kept.getresponse().read()
        self.addCleanup(kept.close)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - started, 2.0)

    def test_sigterm_while_the_token_source_hangs_exits_0_within_2_s(self):
        proc = self.start_serve()
        self.wait_for_warm_up()
        self.forget_token()  # the request below must fetch
        self.server.control(latency=20.0)
        conn = http.client.HTTPConnection(self.authority, timeout=30)
        conn.request("GET", GCP_TOKEN, headers=GOOGLE)
        self.addCleanup(conn.close)
        self.wait_until(lambda: self.server.token_requests == 2, what="the request to reach the token server")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - started, 2.0)

    def test_a_100_mib_body_is_refused_unread(self):
        proc = self.start_serve()
        request(self.authority, GCP_TOKEN, GOOGLE)
        before = vm_hwm_kib(proc.pid)
        size = 100 << 20
        for method, path, framing in (("POST", self.databricks_url[len(self.base):], "length"),
                                      ("GET", GCP_TOKEN, "length"), ("POST", GCP_TOKEN, "chunked")):
            with self.subTest(method=method, framing=framing):
                s = socket.create_connection(("127.0.0.1", int(self.authority.split(":")[1])), timeout=10)
                head = f"{method} {path} HTTP/1.1\r\nHost: {self.authority}\r\nMetadata-Flavor: Google\r\n"
                head += f"Content-Length: {size}\r\n\r\n" if framing == "length" else "Transfer-Encoding: chunked\r\n\r\n"
                s.sendall(head.encode())
                chunk = b"x" * (1 << 20)
                if framing == "chunked":
                    chunk = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                sent = 0
                try:
                    while sent < size:
                        s.sendall(chunk)
                        sent += len(chunk)
                except OSError:
                    pass  # the server answered and closed: the rest was never going to be read
                answer = b""
                try:
                    while True:
                        part = s.recv(65536)
                        if not part:
                            break
                        answer += part
                except OSError:
                    pass
                s.close()
                if answer:
                    self.assertRegex(answer.split(b"\r\n")[0], rb"HTTP/1\.[01] (413|405)")
                self.assertLess(sent, size, "the server stopped reading before the whole body")
        grown = vm_hwm_kib(proc.pid) - before
        self.assertLess(grown, 8 << 10, f"peak RSS grew by {grown} KiB")
        if not os.environ.get("TOK_TEST_SANITIZE"):  # sanitizer runtimes have their own footprint
            self.assertLess(vm_hwm_kib(proc.pid), 32 << 10)
        self.assertEqual(request(self.authority, GCP_TOKEN, GOOGLE)[0], 200, "and it still serves")

    def test_a_kept_alive_connection_answers_without_the_nagle_stall(self):
        self.start_serve()
        conn = http.client.HTTPConnection(self.authority, timeout=10)
        self.addCleanup(conn.close)
        times = []
        for _ in range(25):
            started = time.monotonic()
            conn.request("GET", GCP_TOKEN, headers=GOOGLE)
            response = conn.getresponse()
            response.read()
            times.append(time.monotonic() - started)
            self.assertEqual(response.status, 200)
        # Nagle against delayed ACK costs ~40 ms per answer; loopback without it, well under 1 ms.
        self.assertLess(statistics.median(times[1:]), 0.015, times)


class Log(ServeCase):
    def test_verbose_lines_are_printable_and_say_why(self):
        proc = self.start_serve(verbose=True)
        request(self.authority, "/computeMetadata/v1/instance/service-accounts/default/%1b%5b31mred", GOOGLE)
        request(self.authority, GCP_TOKEN)  # no Metadata-Flavor
        request(self.authority, GCP_TOKEN, GOOGLE, host="evil.example")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        log = self.serve_log()
        self.assertNotIn("\x1b", log)
        self.assertRegex(log, r"GET /computeMetadata/v1/instance/service-accounts/default/token 403 [0-9.]+ms "
                              r"\(Missing required header: Metadata-Flavor: Google\)")
        self.assertRegex(log, r"403 [0-9.]+ms \(Host must name this server")


if __name__ == "__main__":
    unittest.main()

"""Starts and stops tests/peers/oidc_server.mjs (oidc-provider on loopback) for a test class,
and asks it what a test needs to check: introspection, the per-grant request counts.

    peer = OidcPeer(config_dict, tmp_dir)   # raises AssertionError naming what is missing
    peer.issuer, peer.stats(), peer.introspect(token, client_id, secret)
    peer.stop()
"""

import base64
import json
import os
import select
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_SCRIPT = os.path.join(HERE, "oidc_server.mjs")
START_TIMEOUT = 30


class OidcPeer:
    def __init__(self, config, tmp):
        node = os.environ.get("NODE") or shutil.which("node")
        if not node:
            raise AssertionError("node not found on PATH (needed for the oidc-provider peer)")
        if not os.path.isdir(os.path.join(HERE, "node_modules", "oidc-provider")):
            raise AssertionError(f"oidc-provider is not installed: run `npm ci` in {HERE} "
                                 "(scripts/install-deps.sh does this)")
        config_path = os.path.join(tmp, "oidc-peer.json")
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config, f)
        self.log_path = os.path.join(tmp, "oidc-peer.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([node, SERVER_SCRIPT, config_path], cwd=HERE, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._log, start_new_session=True)
        try:
            self.port = self._wait_listening()
        except BaseException:
            self.stop()
            raise
        self.issuer = f"http://127.0.0.1:{self.port}"

    def _wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"oidc_server.mjs did not say LISTENING in {START_TIMEOUT}s: {self.log()}")
            if not select.select([fd], [], [], left)[0]:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                self.proc.wait(timeout=5)
                raise AssertionError(f"oidc_server.mjs exited ({self.proc.returncode}): {self.log()}")
            buf += chunk
        parts = buf.split(b"\n", 1)[0].decode().split()
        if len(parts) != 2 or parts[0] != "LISTENING":
            raise AssertionError(f"unexpected first line from oidc_server.mjs: {parts!r}")
        return int(parts[1])

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            proc.stdout.close()
        self._log.close()

    def stats(self):
        with urllib.request.urlopen(f"{self.issuer}/__peer/stats", timeout=10) as r:
            return json.load(r)

    def fail_revocation(self, status):
        """The revocation endpoint answers `status` (unread) from now on; 0: oidc-provider answers."""
        with urllib.request.urlopen(f"{self.issuer}/__peer/revocation?status={int(status)}", timeout=10) as r:
            return json.load(r)

    def post(self, path, form, basic=None):
        """(status, JSON body) of a form POST; `basic` = (client_id, secret)."""
        request = urllib.request.Request(f"{self.issuer}{path}", data=urllib.parse.urlencode(form).encode())
        if basic:
            pair = f"{urllib.parse.quote_plus(basic[0])}:{urllib.parse.quote_plus(basic[1])}"
            request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                body = r.read()
                return r.status, json.loads(body) if body else {}
        except urllib.error.HTTPError as e:
            body = e.read()
            return e.code, json.loads(body) if body else {}

    def introspect(self, token, client_id, secret):
        status, body = self.post("/token/introspection", {"token": token}, basic=(client_id, secret))
        if status != 200:
            raise AssertionError(f"introspection answered {status}: {body}")
        return body

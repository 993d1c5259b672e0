"""Starting the real `tok serve` for tests: a config with one profile against the loopback token
server, a listen port picked by the system, and the URLs its clients use."""
import os
import re
import signal
import subprocess
import time

from harness import TOK, TokCase

HOST = "https://ws.example.com"
RESOURCE = "https://management.azure.com/"


class ServeCase(TokCase):
    engine_keys = ""  # extra profile lines, e.g. "expiry_buffer = 1s"

    def setUp(self):
        super().setUp()
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w") as f:
            f.write(f"[ws]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n"
                    f"host = {HOST}\nresource = {RESOURCE}\nscopes = api:read\n{self.engine_keys}\n")
        self.env = dict(self.env, TOK_CONFIG=self.config, TOK_CACHE_DIR=self.cache)

    def start_serve(self, *args, protocols=("--databricks", "ws", "--azure-imds", "ws", "--gcp", "ws"),
                    verbose=False, env=None):
        argv = [TOK, "serve", "--listen", "127.0.0.1:0", *protocols, *args] + (["-v"] if verbose else [])
        self.serve_err = open(os.path.join(self.home, f"serve-{time.monotonic_ns()}.err"), "w+")
        proc = subprocess.Popen(argv, env=env or self.env, stdout=subprocess.PIPE, stderr=self.serve_err, text=True,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(self.stop_serve, proc)
        line = proc.stdout.readline()
        match = re.search(r"listening on http://(127\.0\.0\.1:\d+)", line)
        if not match:
            proc.kill()
            self.serve_err.seek(0)
            self.fail(f"tok serve did not start: {line!r} {self.serve_err.read()!r}")
        self.authority = match.group(1)
        self.base = "http://" + self.authority
        self.banner = line + "".join(proc.stdout.readline() for _ in range(len(protocols) // 2))
        # The per-run secrets the banner gives: the Databricks URL's path, App Service's header.
        found = re.search(r"DATABRICKS_METADATA_SERVICE_URL=(\S+)", self.banner)
        self.databricks_url = found.group(1) if found else None
        found = re.search(r"IDENTITY_ENDPOINT=(\S+) IDENTITY_HEADER=(\S+)", self.banner)
        self.identity_endpoint, self.identity_header = found.groups() if found else (None, None)
        return proc

    def wait_for_warm_up(self, requests=1):
        """tok serve fetches each profile's token at start: wait until the token server saw it."""
        self.wait_until(lambda: self.server.token_requests >= requests, what="tok serve's warm-up fetch")
        time.sleep(0.1)
        self.assertEqual(self.server.token_requests, requests)

    def forget_token(self, profile="ws"):
        """Removes the profile's cache entry (tok clear), so that the next request fetches."""
        proc = subprocess.run([TOK, "clear", "-p", profile], env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def stop_serve(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def serve_log(self):
        self.serve_err.flush()
        self.serve_err.seek(0)
        return self.serve_err.read()

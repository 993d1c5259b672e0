#!/usr/bin/env python3
"""make try: tok against a token server and an OpenID provider on loopback, to try by hand.

    scripts/try.py [BUILD_DIR]     (make try installs what it needs and builds tok first)

Starts the bundled token server (tests/support/token_server.py, client credentials) and
oidc-provider (tests/peers/oidc_server.mjs, npm: device logins), writes a throw-away config with
one profile for each into a temporary directory, prints the commands to run in another shell and
"ready", then approves every device login started against its provider, as the user "demo",
within a second. Ctrl-C (or SIGTERM, SIGHUP) stops both servers and removes the directory.

The servers stay in this program's process group, so a terminal's Ctrl-C reaches them too, and
each is also stopped by this program (and told to stop by the kernel should this program die).
Everything listens on 127.0.0.1 only; nothing is written outside the temporary directory.
"""
import ctypes
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "tests", "peers")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, PEERS)
from token_server import TokenServer  # noqa: E402
import oidc_pages  # noqa: E402

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
START_TIMEOUT = 30
USER = "demo"
PR_SET_PDEATHSIG = 1


def die(message):
    print(f"try: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def stop_with_parent():
    """In the child before exec: SIGTERM when this program dies, however it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class OidcProvider:
    """tests/peers/oidc_server.mjs with one public client allowed device logins."""

    def __init__(self, workdir, client_id, stopping):
        node = shutil.which("node")
        if not node:
            die("node is not installed: run scripts/install-deps.sh --try (make try does)")
        if not os.path.isdir(os.path.join(PEERS, "node_modules", "oidc-provider")):
            die("oidc-provider (npm) is not installed: run scripts/install-deps.sh --try (make try does)")
        config = os.path.join(workdir, "oidc-provider.json")
        with open(config, "w", encoding="utf-8") as f:
            json.dump({"port": 0, "ttl": 900, "device_interval": 1, "scopes": ["api:read"],
                       "clients": [{"client_id": client_id, "token_endpoint_auth_method": "none",
                                    "grant_types": [DEVICE_GRANT, "refresh_token"]}]}, f)
        self.log_path = os.path.join(workdir, "oidc-provider.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([node, os.path.join(PEERS, "oidc_server.mjs"), config], cwd=PEERS,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                         preexec_fn=stop_with_parent)
        self.url = f"http://127.0.0.1:{self.wait_listening(stopping)}"

    def wait_listening(self, stopping):
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"oidc-provider did not start in {START_TIMEOUT}s: {self.log()}")
            if stopping.is_set():
                raise RuntimeError("stopped before oidc-provider was ready")
            if select.select([fd], [], [], min(left, 0.2))[0]:
                chunk = os.read(fd, 256)
                if not chunk:
                    raise RuntimeError(f"oidc-provider exited ({self.proc.wait()}): {self.log()}")
                line += chunk
        words = line.decode().split()
        if len(words) != 2 or words[0] != "LISTENING":
            raise RuntimeError(f"oidc-provider said {line!r}")
        return int(words[1])

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()[-2000:]

    def started_logins(self):
        with urllib.request.urlopen(f"{self.url}/__peer/devices", timeout=5) as r:
            return json.load(r)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def approve_logins(idp, stopping):
    """The person at the browser: every device login started at `idp` approved as USER."""
    while not stopping.wait(0.25):
        try:
            started = idp.started_logins()
        except OSError:
            continue
        for login in started:
            code = login.get("user_code")
            try:
                oidc_pages.approve_device(login["verification_uri_complete"], USER)
                print(f"try: approved the device login with code {code} as '{USER}'", flush=True)
            except Exception as e:  # a code that expired or was denied meanwhile: say so, go on
                print(f"try: could not approve the device login with code {code}: {e}", flush=True)


def write_config(workdir, token_url, secret, issuer, login_client):
    secret_file = os.path.join(workdir, "client-secret")
    with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(secret)
    config = os.path.join(workdir, "config")
    with open(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(f"""; Written by make try; removed when it stops.

[service]
provider = oauth                  ; client credentials
token_url = {token_url}
client_id = try-client
client_secret_file = {secret_file}
scopes = api:read

[me]
provider = oauth                  ; a person's login, approved in a browser
grant = device_code
issuer = {issuer}
client_id = {login_client}
scopes = openid api:read
token_storage = file              ; the refresh token stays in this directory, not your keyring
""")
    return config


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    tok = os.path.abspath(os.path.join(build, "tok"))
    if not os.access(tok, os.X_OK):
        die(f"no tok in {build}: build it first (make try does)")

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())

    workdir = tempfile.mkdtemp(prefix="tok-try.")
    idp = token_server = approver = None
    try:
        idp = OidcProvider(workdir, "tok-try", stopping)
        secret = secrets.token_urlsafe(18)
        token_server = TokenServer(lifetime=900, clients={"try-client": secret}).start()
        config = write_config(workdir, token_server.token_url, secret, idp.url, "tok-try")
        bin_dir = os.path.join(workdir, "bin")
        os.mkdir(bin_dir)
        os.symlink(tok, os.path.join(bin_dir, "tok"))
        approver = threading.Thread(target=approve_logins, args=(idp, stopping), daemon=True)
        approver.start()

        print(f"""tok try: everything on loopback, in {workdir}
  token server     {token_server.token_url}   profile 'service' (client credentials)
  OpenID provider  {idp.url}         profile 'me' (device login; this window approves it as '{USER}')

In another shell:

  export TOK_CONFIG={config} TOK_CACHE_DIR={workdir}/cache PATH="{bin_dir}:$PATH"
  tok get -p service     # a token from the token server; again: from the cache, no request
  tok login -p me        # a device login, approved here within a second
  tok status --all       # both profiles: state, expiry, never the token

ready (Ctrl-C stops both servers and removes {workdir})""", flush=True)
        while not stopping.wait(0.5):
            if idp.proc.poll() is not None:
                raise RuntimeError(f"oidc-provider exited ({idp.proc.returncode}): {idp.log()}")
        print("\ntry: stopping", flush=True)
        return 0
    except RuntimeError as e:
        print(f"try: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        stopping.set()
        if approver:
            approver.join(timeout=5)
        if token_server:
            token_server.stop()
        if idp:
            idp.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Peer test: a login's ID token (docs/login.md, "ID tokens") against the real oidc-provider, and
real kubectl logging in to an OIDC cluster with it (docs/integrations.md, "kubectl with OIDC").

The API server is a loopback HTTPS stand-in that validates the bearer as Kubernetes' OIDC
authenticator does (--oidc-issuer-url, --oidc-client-id): RS256 signature by a key of the issuer's
JWKS (verified here with the key's n and e and pow(), stdlib only), iss, aud, exp; it answers
/version and a SelfSubjectReview (`kubectl auth whoami`'s request) with the user `oidc:SUB`.

Environment: TOK_BIN (required: the test fails, never skips, without it), NODE (optional).
"""

import base64
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oidc_pages  # noqa: E402
from oidc_peer import OidcPeer  # noqa: E402

CLI = "cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ID_TTL = 30     # the ID tokens' lifetime: expired by the profile's 5 s buffer 25 s after issue
KUBECTLS = 20
RUN_TIMEOUT = 60
# DER of SHA-256's DigestInfo: what an RS256 (RSASSA-PKCS1-v1_5) signature wraps around the hash.
SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_id_token(token, jwks, issuer, audience, now=None):
    """The claims of an ID token that verifies, else AssertionError saying why."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AssertionError("not a JWS")
    header, claims = json.loads(b64url(parts[0])), json.loads(b64url(parts[1]))
    if header.get("alg") != "RS256":
        raise AssertionError(f"alg {header.get('alg')}")
    keys = [k for k in jwks["keys"] if k.get("kty") == "RSA" and k.get("kid") == header.get("kid")]
    if len(keys) != 1:
        raise AssertionError(f"no JWKS key with kid {header.get('kid')}")
    n = int.from_bytes(b64url(keys[0]["n"]), "big")
    e = int.from_bytes(b64url(keys[0]["e"]), "big")
    size = (n.bit_length() + 7) // 8
    digest_info = SHA256_PREFIX + hashlib.sha256((parts[0] + "." + parts[1]).encode()).digest()
    expected = b"\x00\x01" + b"\xff" * (size - 3 - len(digest_info)) + b"\x00" + digest_info
    if pow(int.from_bytes(b64url(parts[2]), "big"), e, n).to_bytes(size, "big") != expected:
        raise AssertionError("bad signature")
    if claims.get("iss") != issuer:
        raise AssertionError(f"iss {claims.get('iss')}")
    aud = claims.get("aud")
    if audience not in (aud if isinstance(aud, list) else [aud]):
        raise AssertionError(f"aud {aud}")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= (now or time.time()):
        raise AssertionError("expired")
    return claims


class _OidcApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def user(self):
        owner = self.server.owner
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        try:
            claims = verify_id_token(token, owner.jwks, owner.issuer, owner.client_id)
        except (AssertionError, ValueError, KeyError, TypeError) as e:
            with owner.lock:
                owner.refused.append(str(e))
            self.answer(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized",
                              "reason": "Unauthorized", "code": 401})
            return None
        with owner.lock:
            owner.accepted.append(token)
        return "oidc:" + claims["sub"]

    def do_GET(self):
        if self.user() is not None:
            self.answer(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-tok-oidc"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        user = self.user()
        if user is None:
            return
        if self.path.split("?")[0] != "/apis/authentication.k8s.io/v1/selfsubjectreviews":
            return self.answer(404, {"kind": "Status", "code": 404})
        self.answer(201, {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                          "metadata": {"creationTimestamp": None},
                          "status": {"userInfo": {"username": user, "groups": ["system:authenticated"]}}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class OidcApiServer:
    def __init__(self, cert, key, issuer, client_id, jwks):
        self.lock = threading.Lock()
        self.issuer, self.client_id, self.jwks = issuer, client_id, jwks
        self.accepted, self.refused = [], []
        self.httpd = _Server(("127.0.0.1", 0), _OidcApi)
        self.httpd.owner = self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def require(name):
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"{name} not found on PATH (this peer test needs it)")
    return path


class IdTokenPeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tok = os.environ.get("TOK_BIN")
        if not tok or not os.access(tok, os.X_OK):
            raise AssertionError("TOK_BIN must name the tok binary under test")
        cls.tok = os.path.abspath(tok)
        cls.kubectl = require("kubectl")
        openssl = require("openssl")
        cls.tmp = tempfile.mkdtemp(prefix="tok-idtoken-peer-")
        cls.peer = OidcPeer({
            "port": 0, "ttl": 600, "login_ttl": 600, "id_ttl": ID_TTL, "device_interval": 1, "scopes": ["api:read"],
            "clients": [{"client_id": CLI, "token_endpoint_auth_method": "none",
                         "grant_types": [DEVICE_GRANT, "authorization_code", "refresh_token"],
                         "redirect_uris": ["http://127.0.0.1/callback"]}],
        }, cls.tmp)
        with urllib.request.urlopen(cls.peer.issuer + "/.well-known/openid-configuration", timeout=10) as r:
            jwks_uri = json.load(r)["jwks_uri"]
        with urllib.request.urlopen(jwks_uri, timeout=10) as r:
            cls.jwks = json.load(r)
        cert, key = os.path.join(cls.tmp, "cert.pem"), os.path.join(cls.tmp, "key.pem")
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        cls.api = OidcApiServer(cert, key, cls.peer.issuer, CLI, cls.jwks)

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()
        cls.peer.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if not self.peer.alive():
            self.fail(f"the oidc-provider peer is not running: {self.peer.log()}")
        self.home = tempfile.mkdtemp(prefix="home-", dir=self.tmp)
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w", encoding="utf-8") as f:
            # A fixed 6 s stale window with a 5 s buffer: the ID token goes stale 24 s after issue
            # and expires (for tok) a second later.
            f.write(f"[me]\nprovider = oauth\nissuer = {self.peer.issuer}\nclient_id = {CLI}\n"
                    f"grant = device_code\nscopes = openid api:read\ntoken_storage = file\n"
                    f"expiry_buffer = 5s\nstale_window = 6s\nkube_token = id_token\n")
        bindir = os.path.join(self.home, "bin")
        os.mkdir(bindir)
        os.symlink(self.tok, os.path.join(bindir, "tok"))
        self.env = {"PATH": bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                    "TOK_CONFIG": self.config, "TOK_CACHE_DIR": os.path.join(self.home, "cache"),
                    "LC_ALL": "C.UTF-8"}

    def run_tok(self, *args):
        return subprocess.run([self.tok, *args], env=self.env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              stdin=subprocess.DEVNULL)

    def login(self, user="alice"):
        proc = subprocess.Popen([self.tok, "login", "-p", "me"], env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"or open (\S+)", line)
            if m:
                oidc_pages.approve_device(m.group(1), user)
                break
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        self.assertEqual(proc.returncode, 0, "".join(lines) + err)

    def id_token(self):
        proc = self.run_tok("get", "-p", "me", "--id-token", "--format", "json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def refresh_grants(self):
        return self.peer.stats()["grants"].get("refresh_token", 0)

    def kubeconfig(self):
        path = os.path.join(self.home, "kubeconfig")
        with open(path, "w") as f:
            f.write("apiVersion: v1\nkind: Config\n"
                    f"clusters:\n- name: oidc\n  cluster:\n    server: {self.api.url}\n"
                    "    insecure-skip-tls-verify: true\n"
                    "contexts:\n- name: oidc\n  context:\n    cluster: oidc\n    user: me\n"
                    "current-context: oidc\n"
                    "users:\n- name: me\n  user:\n    exec:\n"
                    "      apiVersion: client.authentication.k8s.io/v1\n      command: tok\n"
                    "      args: [kube-credential, -p, me]\n      interactiveMode: Never\n")
        return path

    def kubectl_run(self, kubeconfig, *args):
        return subprocess.Popen([self.kubectl, "--kubeconfig", kubeconfig, *args], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)

    def test_the_id_token_verifies_against_the_issuers_jwks(self):
        self.login("alice")
        doc = self.id_token()
        claims = verify_id_token(doc["id_token"], self.jwks, self.peer.issuer, CLI)
        self.assertEqual(claims["sub"], "alice")
        self.assertEqual(doc["expires_at"], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"])))
        self.assertLessEqual(claims["exp"] - claims["iat"], ID_TTL, "the peer's IdToken TTL is what tok keeps")
        # Never printed by status, nor by a plain get.
        for args in (("status", "-p", "me"), ("status", "-p", "me", "--format", "json"), ("get", "-p", "me")):
            proc = self.run_tok(*args)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertNotIn(doc["id_token"], proc.stdout + proc.stderr)

    def test_kubectl_logs_in_with_the_id_token_and_a_herd_after_expiry_costs_one_refresh(self):
        self.login("alice")
        kubeconfig = self.kubeconfig()
        review = os.path.join(self.home, "review.json")
        with open(review, "w") as f:
            json.dump({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, f)
        whoami = self.kubectl_run(kubeconfig, "create", "--raw", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                  "-f", review)
        out, err = whoami.communicate(timeout=RUN_TIMEOUT)
        self.assertEqual(whoami.returncode, 0, err)
        self.assertEqual(json.loads(out)["status"]["userInfo"]["username"], "oidc:alice")
        first = self.id_token()
        self.assertIn(first["id_token"], self.api.accepted)

        # Until the ID token expires (its exp minus the 5 s buffer), then 20 kubectl at once.
        exp = claims_exp(first["id_token"])
        time.sleep(max(0.0, exp - 5 - time.time() + 0.5))
        before = self.refresh_grants()
        accepted_before = len(self.api.accepted)
        procs = [self.kubectl_run(kubeconfig, "get", "--raw", "/version") for _ in range(KUBECTLS)]
        for p in procs:
            out, err = p.communicate(timeout=RUN_TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(json.loads(out)["gitVersion"], "v1.32.0-tok-oidc")
        self.assertEqual(self.refresh_grants() - before, 1, "20 kubectl runs, one refresh_token grant")
        herd = set(self.api.accepted[accepted_before:])
        self.assertEqual(len(herd), 1, "every kubectl sent the one refreshed ID token")
        self.assertNotIn(first["id_token"], herd)
        self.assertEqual(self.api.refused, [])
        second = self.id_token()
        self.assertEqual(herd, {second["id_token"]})
        verify_id_token(second["id_token"], self.jwks, self.peer.issuer, CLI)


def claims_exp(token):
    return json.loads(b64url(token.split(".")[1]))["exp"]


if __name__ == "__main__":
    unittest.main()

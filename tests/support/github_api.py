"""A loopback stand-in of GitHub's REST API for GitHub App tokens, checking what GitHub checks.

    app = GithubApp.create(directory)        # an RSA key pair made by the openssl command
    with GithubApi(app) as api:              # api.url: http://127.0.0.1:<port>
        api.install(42, "octo-org", repos=["tok", "docs"], permissions={"contents": "write"})
        POST {api.url}/app/installations/42/access_tokens   (Authorization: Bearer <App JWT>)

Every App request must carry a JWT signed RS256 with the App's private key (verified here with
the public key's numbers and pow(), no third-party module), whose `iss` is the App's id or its
client ID, whose `iat` is not in the server's future and whose `exp` is at most 10 minutes in the
server's future (`skew` seconds are added to the server's clock: -30 runs it 30 s behind; its
Date header too). Otherwise it answers as GitHub does: 401 with {"message",
"documentation_url"}. `api_headers` records the Accept and X-GitHub-Api-Version of each.

Routes (also under /api/v3, as on Enterprise Server): GET /repos/{owner}/{repo}/installation, /orgs/{org}/installation,
/users/{user}/installation; POST /app/installations/{id}/access_tokens (optional JSON body
{"repositories": [names], "permissions": {name: level}}: 422 for what the installation lacks);
GET /user with an installation token (for gh). Tokens are in the long format (`ghs_` and 200
more characters). `faults`: answers the next access-token requests give instead
({"status", "body", "headers"}, or "echo_jwt": a 401 quoting the request's JWT). `requests`: (method, path) of each; `jwts`: every JWT seen;
`tokens`: every token issued.
"""
import base64
import hashlib
import json
import os
import re
import secrets
import string
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from threaded_server import ServedInThread

DOCS = "https://docs.github.com/rest"
# DigestInfo of SHA-256 (RFC 8017 9.2, note 1).
SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
LEVELS = {"read": 1, "write": 2, "admin": 3}


class GithubApp:
    """An App: its id, client ID and RSA key pair (PKCS#1 PEM, as GitHub hands it out)."""

    def __init__(self, app_id, client_id, key_file, modulus, exponent):
        self.app_id = app_id
        self.client_id = client_id
        self.key_file = key_file
        self.n = modulus
        self.e = exponent

    @classmethod
    def create(cls, directory, app_id="123456", client_id="Iv23liTokTestClient", bits=2048):
        key = os.path.join(directory, "app.private-key.pem")
        try:
            subprocess.run(["openssl", "genrsa", "-traditional", "-out", key, str(bits)], check=True,
                           capture_output=True)
            text = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-text"], check=True,
                                  capture_output=True, text=True).stdout
        except FileNotFoundError:
            raise AssertionError("the openssl command is needed to make the App's key")
        os.chmod(key, 0o600)
        modulus = re.search(r"modulus:\s*\n((?:\s+[0-9a-f:]+\n)+)", text).group(1)
        n = int(re.sub(r"[\s:]", "", modulus), 16)
        e = int(re.search(r"publicExponent: (\d+)", text).group(1))
        return cls(app_id, client_id, key, n, e)

    def private_key(self):
        with open(self.key_file) as f:
            return f.read()

    def verify(self, signing_input, signature):
        """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2)."""
        k = (self.n.bit_length() + 7) // 8
        if len(signature) != k:
            return False
        em = pow(int.from_bytes(signature, "big"), self.e, self.n).to_bytes(k, "big")
        t = SHA256_PREFIX + hashlib.sha256(signing_input).digest()
        return em == b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


def _b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def date_time_string(self, timestamp=None):
        # The Date header from the server's own (possibly skewed) clock, as clients read it.
        return super().date_time_string(self.server.owner.now() if timestamp is None else timestamp)

    def route(self):
        # GitHub Enterprise Server serves the same API under /api/v3.
        return self.path[len("/api/v3"):] if self.path.startswith("/api/v3/") else self.path

    def answer(self, status, doc, headers=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, status, message):
        self.answer(status, {"message": message, "documentation_url": DOCS})
        return False

    def check_app_jwt(self):
        """True when the request carries a JWT GitHub would take; else False, the refusal sent."""
        api = self.server.owner
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":  # schemes are case-insensitive (octokit sends "bearer")
            return self.refuse(401, "A JSON web token could not be decoded")
        self.jwt = token
        with api.lock:
            api.jwts.append(token)
        parts = token.split(".")
        try:
            header, claims = json.loads(_b64url(parts[0])), json.loads(_b64url(parts[1]))
            signature = _b64url(parts[2])
        except (ValueError, IndexError):
            return self.refuse(401, "A JSON web token could not be decoded")
        if len(parts) != 3 or header.get("alg") != "RS256" or not api.app.verify(
                (parts[0] + "." + parts[1]).encode(), signature):
            return self.refuse(401, "A JSON web token could not be decoded")
        now = api.now()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now:
            return self.refuse(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past.")
        if not isinstance(exp, int) or exp > now + 600:
            return self.refuse(401, "'Expiration time' claim ('exp') is too far in the future")
        if exp <= now:
            return self.refuse(401, "'Expiration time' claim ('exp') must be a numeric value representing the "
                                    "future time at which the assertion expires")
        if str(claims.get("iss")) not in (api.app.app_id, api.app.client_id):
            return self.refuse(401, "Integration not found")
        with api.lock:
            api.claims.append(claims)
            # GitHub takes older media types and a missing version (octokit sends neither of
            # tok's): recorded for the tests, not refused.
            api.api_headers.append((self.headers.get("Accept"), self.headers.get("X-GitHub-Api-Version")))
        return True

    def do_GET(self):
        api = self.server.owner
        with api.lock:
            api.requests.append(("GET", self.path))
        if self.route() == "/user":
            return self.user()
        match = re.fullmatch(r"/(repos/[^/]+/[^/]+|orgs/[^/]+|users/[^/]+)/installation", self.route())
        if not match:
            return self.refuse(404, "Not Found")
        if not self.check_app_jwt():
            return
        kind, _, name = match.group(1).partition("/")
        owner = name.split("/")[0]
        with api.lock:
            found = [i for i, inst in api.installations.items()
                     if inst["account"].lower() == owner.lower() and
                     (kind != "repos" or name.split("/")[1] in inst["repos"])]
        if not found:
            return self.refuse(404, "Not Found")
        self.answer(200, {"id": found[0], "account": {"login": owner}, "app_id": int(api.app.app_id)})

    def do_POST(self):
        api = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with api.lock:
            api.requests.append(("POST", self.path))
        match = re.fullmatch(r"/app/installations/(\d+)/access_tokens", self.route())
        if not match:
            return self.refuse(404, "Not Found")
        if not self.check_app_jwt():
            return
        with api.lock:
            api.token_posts += 1
            api.bodies.append(body.decode(errors="replace"))
            fault = api.faults.pop(0) if api.faults else None
            latency = api.latency
        if latency:
            time.sleep(latency)
        if fault and fault.get("echo_jwt"):  # a server quoting what it was sent
            return self.answer(fault.get("status", 401), {"message": f"cannot use the JWT {self.jwt}",
                                                          "documentation_url": DOCS, "jwt": self.jwt})
        if fault:
            return self.answer(fault.get("status", 500), fault.get("body", {"message": "Server Error"}),
                               fault.get("headers"))
        with api.lock:
            inst = api.installations.get(int(match.group(1)))
        if inst is None:
            return self.refuse(404, "Not Found")
        if inst.get("suspended"):
            return self.refuse(403, "This installation has been suspended")
        try:
            ask = json.loads(body) if body else {}
        except ValueError:
            return self.refuse(400, "Problems parsing JSON")
        permissions = dict(inst["permissions"])
        selection = inst["selection"]
        if "repositories" in ask:
            missing = [r for r in ask["repositories"] if r not in inst["repos"]]
            if missing:
                return self.refuse(422, "There is at least one repository that does not exist or is not accessible "
                                        "to the parent installation.")
            selection = "selected"
        if "permissions" in ask:
            for name, level in ask["permissions"].items():
                if LEVELS.get(level, 9) > LEVELS.get(permissions.get(name), 0):
                    return self.refuse(422, f"The permissions requested are not granted to this installation.")
            permissions = dict(ask["permissions"])
        token = "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(200))
        expires = api.now() + api.lifetime
        with api.lock:
            api.tokens.append(token)
        self.answer(201, {"token": token,
                          "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
                          "permissions": permissions, "repository_selection": selection})

    def user(self):
        api = self.server.owner
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        with api.lock:
            known = token in api.tokens and scheme.lower() in ("token", "bearer")
            api.user_requests.append(auth)
        if not known:
            return self.refuse(401, "Bad credentials")
        self.answer(200, {"login": "tok-test-app[bot]", "type": "Bot"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class GithubApi(ServedInThread):
    def __init__(self, app, skew=0, tls=None):
        self.app = app
        self.skew = skew
        self.lock = threading.Lock()
        self.installations = {}
        self.faults = []
        self.requests = []
        self.jwts = []
        self.claims = []
        self.api_headers = []  # (Accept, X-GitHub-Api-Version) of each App request
        self.bodies = []
        self.tokens = []
        self.user_requests = []
        self.token_posts = 0
        self.lifetime = 3600
        self.latency = 0.0
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        port = self.httpd.server_address[1]
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            self.url = f"https://127.0.0.1:{port}"
        else:
            self.url = f"http://127.0.0.1:{port}"
        self.port = port

    def now(self):
        return int(time.time()) + self.skew

    def install(self, installation_id, account, repos=(), permissions=None, selection="all", suspended=False):
        with self.lock:
            self.installations[installation_id] = {
                "account": account, "repos": list(repos), "selection": selection, "suspended": suspended,
                "permissions": dict(permissions or {"contents": "read", "metadata": "read"})}

    def fault(self, status, message=None, headers=None, body=None, times=1):
        doc = body if body is not None else {"message": message or "Server Error", "documentation_url": DOCS}
        with self.lock:
            self.faults.extend([{"status": status, "body": doc, "headers": headers}] * times)

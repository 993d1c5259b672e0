"""A loopback stand-in identity provider for `tok login` tests: discovery, RFC 8628 device
authorization, the token endpoint (device_code, authorization_code and refresh_token grants, with
rotation) and RFC 7009 revocation, every answer scriptable, so a test can send what a real
provider would not (a forged issuer, control characters, "interval": 0, a misleading error).

    with LoginServer() as idp:
        idp.discovery["issuer"] = "https://elsewhere.example"   # None removes a member
        idp.device["interval"] = 0
        idp.device_errors = ["authorization_pending", "slow_down"]   # before the approval
        idp.refresh_faults.append((401, {"error": "invalid_client"}))

idp.polls holds the monotonic time of every device_code grant request, idp.requests every token
request's form (client_secret left out)."""
import base64
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from threaded_server import ServedInThread

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, doc):
        body = (doc if isinstance(doc, str) else json.dumps(doc)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        idp = self.server.idp
        path = urllib.parse.urlparse(self.path).path
        if path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            with idp.lock:
                idp.discovery_requests += 1
                doc = idp.discovery_document()
            return self.send_json(200, doc)
        self.send_json(404, {"error": "not_found"})

    def do_POST(self):
        idp = self.server.idp
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urllib.parse.urlparse(self.path).path
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
        with idp.lock:
            idp.requests.append({"path": path, **{k: v for k, v in form.items() if k != "client_secret"}})
        if path == "/device":
            with idp.lock:
                answer = idp.device_answer()
            return self.send_json(200, answer)
        if path == "/revoke":
            return self.send_json(200, {})
        if path != "/token":
            return self.send_json(404, {"error": "not_found"})
        grant = form.get("grant_type")
        with idp.lock:
            if grant == DEVICE_GRANT:
                idp.polls.append(time.monotonic())
                if form.get("device_code") != idp.device_code:
                    return self.send_json(400, {"error": "invalid_grant"})
                if idp.device_errors:
                    error = idp.device_errors.pop(0)
                    return self.send_json(400, error if isinstance(error, dict) else {"error": error})
                return self.send_json(200, idp.issue())
            if grant == "authorization_code":
                return self.send_json(200, idp.issue())
            if grant == "refresh_token":
                if idp.refresh_faults:
                    status, doc = idp.refresh_faults.pop(0)
                    return self.send_json(status, doc)
                if form.get("refresh_token") not in idp.live_refresh_tokens:
                    return self.send_json(400, {"error": "invalid_grant", "error_description": "grant request is invalid"})
                idp.live_refresh_tokens.discard(form["refresh_token"])  # rotation
                return self.send_json(200, idp.issue())
        self.send_json(400, {"error": "unsupported_grant_type"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class LoginServer(ServedInThread):
    def __init__(self, token_prefix="at", subject="alice"):
        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.idp = self
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.token_prefix = token_prefix
        self.subject = subject
        self.discovery = {}       # members to change in the metadata document (None: left out)
        self.device = {}          # members to change in the device authorization answer
        self.device_code = "dc-" + secrets.token_hex(16)
        self.device_errors = []   # what the device_code grant answers before a token: codes, or JSON
        self.refresh_faults = []  # (status, JSON) answers to refresh_token grants, in order
        self.polls = []
        self.requests = []
        self.discovery_requests = 0
        self.issued = []          # (access token, refresh token)
        self.live_refresh_tokens = set()

    def discovery_document(self):
        doc = {"issuer": self.url, "token_endpoint": self.url + "/token",
               "authorization_endpoint": self.url + "/authorize",
               "device_authorization_endpoint": self.url + "/device",
               "revocation_endpoint": self.url + "/revoke"}
        return self.changed(doc, self.discovery)

    def device_answer(self):
        doc = {"device_code": self.device_code, "user_code": "WDJB-MJHT",
               "verification_uri": self.url + "/activate",
               "verification_uri_complete": self.url + "/activate?user_code=WDJB-MJHT",
               "expires_in": 600, "interval": 1}
        return self.changed(doc, self.device)

    @staticmethod
    def changed(doc, changes):
        if isinstance(changes, str):
            return changes  # a raw body
        doc = dict(doc)
        for key, value in changes.items():
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
        return doc

    def issue(self):
        n = len(self.issued) + 1
        access = f"{self.token_prefix}{n:04d}.{secrets.token_hex(12)}"
        refresh = f"{self.token_prefix}R{n:04d}.{secrets.token_hex(16)}"
        self.issued.append((access, refresh))
        self.live_refresh_tokens.add(refresh)
        claims = {"iss": self.url, "sub": self.subject, "preferred_username": self.subject, "aud": "cli",
                  "iat": int(time.time()), "exp": int(time.time()) + 3600}
        id_token = ".".join([b64url(json.dumps({"alg": "none"}).encode()), b64url(json.dumps(claims).encode()),
                             b64url(b"not-verified")])
        return {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh,
                "id_token": id_token}

    def token_requests(self, grant=None):
        with self.lock:
            return [r for r in self.requests if r["path"] == "/token" and (grant is None or r.get("grant_type") == grant)]

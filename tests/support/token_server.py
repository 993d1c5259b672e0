#!/usr/bin/env python3
"""A loopback OAuth 2.0 token server for tok's tests, demo and benchmarks.

Issues client-credentials tokens with a configurable lifetime and latency, counts requests, and
injects faults on demand. Use it in-process (TokenServer) or as a program:

    token_server.py [--port 0] [--lifetime 3600] [--latency 0] [--client ID:SECRET]...

The program prints "LISTENING <port>" once it accepts connections. Control endpoints (loopback
only, like everything here):

    GET  /_stats    {"token_requests": N, "requests": [...]}  (form fields minus secrets)
    POST /_control  JSON: {"lifetime": s, "latency": s, "faults": [...], "reset": true,
                           "token_prefix": "tok" (tokens are PREFIX0001.<24 hex digits>),
                           "rate_limit": n (token requests per second; above it 429 with
                           Retry-After: 1; 0: no limit),
                           "id_token_lifetime": s (refresh_token grants, which any refresh
                           token passes, also answer an unsigned JWT id_token living s seconds;
                           null: none), "refresh_id_token": false (refreshes answer none)}

A fault is consumed by one token request: {"status": 503, "body": "...", "headers": {...},
"retry_after": "1", "hang": seconds, "drip": seconds_per_byte, "reset_connection": true,
"body_bytes": n (a body this large), "body_latin1": "caf\xe9" (one byte per character, so
not UTF-8), "delay": seconds (then a good answer), "times": n}.
"""
import argparse
import base64
import collections
import json
import secrets
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threaded_server import ServedInThread


class State:
    def __init__(self, lifetime=3600, latency=0.0, clients=None):
        self.lock = threading.Lock()
        self.lifetime = lifetime
        self.latency = latency
        self.clients = dict(clients or {})  # id -> secret; empty: accept anyone
        self.faults = []
        self.requests = []
        self.discovery_requests = 0
        self.issued = 0
        self.seen = []  # (method, path) of every request, control endpoints excepted
        self.fields = {}  # extra response fields: {"token_type": "MAC"}; None leaves one out
        self.token_prefix = "tok"
        self.tokens = []  # every access token issued, in order
        self.issued_at = {}  # access token -> time.time() when it was issued
        # OIDC federation: a GitHub-like ID-token endpoint and the ID tokens it (or a test) issued.
        self.id_token_bearer = "github-request-bearer"
        self.id_token_requests = []  # {"audience": ...}
        self.id_tokens = set()  # accepted as subject_token / client_assertion
        self.rate_limit = 0  # token requests per second; 0: none
        self.recent = collections.deque()  # monotonic times of the requests within the last second
        self.id_token_lifetime = None  # refresh answers carry an id_token living this long
        self.refresh_id_token = True

    def control(self, doc):
        with self.lock:
            if doc.get("reset"):
                self.requests.clear()
                self.faults.clear()
                self.discovery_requests = 0
            for key in ("lifetime", "latency", "rate_limit", "id_token_lifetime", "refresh_id_token"):
                if key in doc:
                    setattr(self, key, doc[key])
            if "fields" in doc:
                self.fields = doc["fields"]
            if "token_prefix" in doc:
                self.token_prefix = doc["token_prefix"]
            for t in doc.get("accept_id_tokens", []):
                self.id_tokens.add(t)
            for f in doc.get("faults", []):
                for _ in range(int(f.get("times", 1))):
                    self.faults.append(f)

    def stats(self):
        with self.lock:
            return {
                "token_requests": len(self.requests),
                "discovery_requests": self.discovery_requests,
                "issued": self.issued,
                "tokens": list(self.tokens),
                "seen": list(self.seen),
                "requests": list(self.requests),
                "id_token_requests": list(self.id_token_requests),
            }


def unsigned_jwt(claims):
    """A JWT with alg none: enough for a client that decodes and never verifies."""
    def part(doc):
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
    return part({"alg": "none", "typ": "JWT"}) + "." + part(claims) + ".c2ln"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tok-test-token-server"

    def log_message(self, fmt, *args):  # quiet: tests read stats, not logs
        pass

    def setup(self):
        # TLS: the handshake happens here, in the connection's own thread (a client that refuses
        # the certificate only ends its own connection).
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    @property
    def state(self):
        return self.server.state

    def send_json(self, status, doc, headers=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def base_url(self):
        host, port = self.server.server_address[:2]
        return f"{'https' if self.server.ssl_context else 'http'}://{host}:{port}"

    def note(self, path):
        if not path.startswith("/_"):
            with self.state.lock:
                self.state.seen.append((self.command, path))

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        path = url.path
        self.note(path)
        if path == "/_stats":
            return self.send_json(200, self.state.stats())
        if path == "/github/id-token":
            # Like GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL: the job's bearer, an optional audience.
            if self.headers.get("Authorization") != "Bearer " + self.state.id_token_bearer:
                return self.send_json(401, {"message": "bad request token"})
            query = urllib.parse.parse_qs(url.query)
            token = "eyJ" + secrets.token_urlsafe(24) + "." + secrets.token_urlsafe(48) + "." + secrets.token_urlsafe(32)
            with self.state.lock:
                self.state.id_token_requests.append({"audience": query.get("audience", [None])[0],
                                                     "api-version": query.get("api-version", [None])[0]})
                self.state.id_tokens.add(token)
            return self.send_json(200, {"count": 1, "value": token})
        if path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            with self.state.lock:
                self.state.discovery_requests += 1
            base = self.base_url()
            return self.send_json(200, {"issuer": base, "token_endpoint": base + "/token"})
        self.send_json(404, {"error": "not_found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urllib.parse.urlparse(self.path).path
        self.note(path)
        if path == "/_control":
            self.state.control(json.loads(raw or b"{}"))
            return self.send_json(200, {"ok": True})
        if path != "/token":
            return self.send_json(404, {"error": "not_found"})
        form = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
        form = {k: v[0] for k, v in form.items()}
        client_id, secret, method = None, None, None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            decoded = base64.b64decode(auth[6:]).decode()
            cid, _, sec = decoded.partition(":")
            client_id, secret, method = urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(sec), "basic"
        elif "client_id" in form:
            client_id, secret, method = form.get("client_id"), form.get("client_secret"), "post"
        with self.state.lock:
            record = {k: v for k, v in form.items() if k != "client_secret"}
            record.update({"auth_method": method, "client_id": client_id, "at": time.time(),
                           "user_agent": self.headers.get("User-Agent", "")})
            self.state.requests.append(record)
            if self.state.rate_limit:
                now = time.monotonic()
                while self.state.recent and now - self.state.recent[0] >= 1.0:
                    self.state.recent.popleft()
                if len(self.state.recent) >= self.state.rate_limit:
                    record["status"] = 429
                else:
                    self.state.recent.append(now)
            fault = None
            if "status" not in record:
                fault = self.state.faults.pop(0) if self.state.faults else None
                record["status"] = int(fault.get("status", 500)) if fault and not fault.get("delay") else 200
            latency = self.state.latency
            lifetime = self.state.lifetime
            clients = dict(self.state.clients)
            fields = dict(self.state.fields)
        if record["status"] == 429 and not fault:
            return self.send_json(429, {"error": "temporarily_unavailable", "error_description": "rate limited"},
                                  {"Retry-After": "1"})
        if latency:
            time.sleep(latency)
        if fault and fault.get("delay"):
            time.sleep(fault["delay"])  # a slow but good answer
            fault = None
        if fault:
            return self.apply_fault(fault)
        grant = form.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:token-exchange":
            # RFC 8693: the subject token must be an ID token this server (or the test) vouches for.
            if form.get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt":
                return self.send_json(400, {"error": "invalid_request", "error_description": "subject_token_type"})
            if form.get("subject_token") not in self.state.id_tokens:
                return self.send_json(400, {"error": "invalid_grant", "error_description": "subject token not trusted"})
        elif grant == "refresh_token":
            if not form.get("refresh_token"):
                return self.send_json(400, {"error": "invalid_grant", "error_description": "no refresh token"})
        elif grant != "client_credentials":
            return self.send_json(400, {"error": "unsupported_grant_type"})
        elif form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            # Federated credentials: the assertion must be an ID token this server (or the test)
            # vouches for; a signed private_key_jwt is checked by the oidc-provider peer instead.
            if self.state.id_tokens and form.get("client_assertion") not in self.state.id_tokens:
                return self.send_json(401, {"error": "invalid_client", "error_description": "assertion not trusted"})
        elif clients and clients.get(client_id) != secret:
            return self.send_json(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        with self.state.lock:
            self.state.issued += 1
            n = self.state.issued
            token = f"{self.state.token_prefix}{n:04d}.{secrets.token_hex(12)}"
            self.state.tokens.append(token)
            self.state.issued_at[token] = time.time()
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}
        if grant == "refresh_token":
            doc["refresh_token"] = f"rt{n:04d}.{secrets.token_hex(12)}"
            with self.state.lock:
                id_lifetime, with_id = self.state.id_token_lifetime, self.state.refresh_id_token
            if id_lifetime is not None and with_id:
                doc["id_token"] = unsigned_jwt({"iss": self.base_url(), "aud": client_id, "sub": "alice",
                                                "iat": int(time.time()), "exp": int(time.time()) + id_lifetime,
                                                "n": n})
        if form.get("scope"):
            doc["scope"] = form["scope"]
        for key, value in fields.items():  # None: the field is left out
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
        self.send_json(200, doc)

    def apply_fault(self, fault):
        if fault.get("hang"):
            time.sleep(fault["hang"])
            self.close_connection = True
            return
        if fault.get("reset_connection"):
            # Promise a body, send half of it, then reset (RST via SO_LINGER 0).
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"access_token": "half')
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        status = int(fault.get("status", 500))
        if "body_bytes" in fault:
            body = b'{"access_token": "' + b"x" * int(fault["body_bytes"]) + b'"}'
        elif "json" in fault:
            body = json.dumps(fault["json"]).encode()
        elif "body_latin1" in fault:  # bytes that need not be UTF-8: "caf\xe9"
            body = fault["body_latin1"].encode("latin-1")
        else:
            body = fault.get("body", "").encode()
        self.send_response(status)
        self.send_header("Content-Type", fault.get("content_type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        if "retry_after" in fault:
            self.send_header("Retry-After", str(fault["retry_after"]))
        for k, v in fault.get("headers", {}).items():
            self.send_header(k, v)
        self.end_headers()
        if fault.get("drip"):
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(fault["drip"])
        else:
            self.wfile.write(body)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    ssl_context = None

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_context:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # clients that give up mid-answer (timeouts under test) are expected here


class TokenServer(ServedInThread):
    """In-process server on 127.0.0.1 (or `host`); `with TokenServer() as s: s.url ...`. With
    `tls` (an ssl.SSLContext, see tls.py) it speaks https."""

    def __init__(self, lifetime=3600, latency=0.0, clients=None, port=0, tls=None, host="127.0.0.1"):
        self.state = State(lifetime, latency, clients)
        self.httpd = QuietServer((host, port), Handler)
        self.httpd.state = self.state
        self.httpd.ssl_context = tls
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.token_url = self.url + "/token"

    def control(self, **doc):
        self.state.control(doc)

    def fault(self, **fault):
        self.state.control({"faults": [fault]})

    @property
    def token_requests(self):
        return self.state.stats()["token_requests"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=int, default=3600)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--client", action="append", default=[], help="ID:SECRET")
    args = ap.parse_args()
    clients = dict(c.split(":", 1) for c in args.client)
    server = TokenServer(args.lifetime, args.latency, clients, args.port)
    print(f"LISTENING {server.port}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

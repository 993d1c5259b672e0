#!/usr/bin/env python3
"""Loopback metadata services for tok's tests and benchmarks, one per flavor, that enforce their
protocol the way the real ones do (docs/engine.md, docs/serve.md):

- databricks: GET /token; X-Databricks-Metadata-Version: 1 (else 400) and X-Databricks-Host equal
  to the expected workspace (else 403); answers access_token, token_type, expires_on.
- azure-imds: GET /metadata/identity/oauth2/token; header Metadata: true, no X-Forwarded-For,
  api-version=2018-02-01 and a resource (else 400, IMDS's JSON errors); expires_in/expires_on as
  strings, as IMDS sends them.
- app-service: GET /msi/token; X-IDENTITY-HEADER equal to the secret (else 401), api-version
  2019-08-01 and a resource (else 400).
- gcp: GET /computeMetadata/v1/instance/service-accounts/ACCOUNT/token; Metadata-Flavor: Google
  (else 403); ACCOUNT is default or a known e-mail (else 404); every answer carries
  Metadata-Flavor: Google unless the test turns it off. GET .../ACCOUNT/identity?audience=AUD
  [&format=full] answers an identity token as text: an unsigned JWT with aud, exp (lifetime),
  iat, iss, sub and, with format=full, a `google` claim naming the instance; no audience is 400.
  `identity_answer` replaces that body (a non-JWT answer).

Counts token requests and records them; faults ({"status", "json"|"body", "headers"}) are
consumed one per token request after the protocol checks. As a program (benchmarks):

    metadata_server.py --flavor azure-imds [--port 0] [--lifetime 3600]   # prints LISTENING <port>
"""
import argparse
import base64
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threaded_server import ServedInThread

PATHS = {
    "databricks": "/token",
    "azure-imds": "/metadata/identity/oauth2/token",
    "app-service": "/msi/token",
}
GCP_PREFIX = "/computeMetadata/v1/instance/service-accounts/"


class State:
    def __init__(self, flavor, lifetime, databricks_host, identity_header, accounts):
        self.lock = threading.Lock()
        self.flavor = flavor
        self.lifetime = lifetime
        self.databricks_host = databricks_host
        self.identity_header = identity_header
        self.accounts = set(accounts)
        self.flavor_header = True  # gcp: send Metadata-Flavor: Google on answers
        self.identity_answer = None  # gcp: a body to answer identity requests with instead of a JWT
        self.faults = []
        self.requests = []  # token requests: {"path", "query", "headers"}
        self.issued = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tok-test-metadata-server"

    def log_message(self, fmt, *args):
        pass

    @property
    def state(self):
        return self.server.state

    def reply(self, status, doc=None, body=None, content_type="application/json"):
        data = body.encode() if body is not None else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.state.flavor == "gcp" and self.state.flavor_header:
            self.send_header("Metadata-Flavor", "Google")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        flavor = self.state.flavor
        if flavor == "gcp":
            if not (url.path.startswith(GCP_PREFIX) and url.path.endswith(("/token", "/identity"))):
                return self.reply(404, body="not found")
        elif url.path != PATHS[flavor]:
            return self.reply(404, {"error": "not_found"})
        with self.state.lock:
            self.state.requests.append({"path": url.path, "query": query, "raw_query": url.query,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
        refusal = getattr(self, "check_" + flavor.replace("-", "_"))(url, query)
        if refusal:
            return self.reply(*refusal)
        with self.state.lock:
            fault = self.state.faults.pop(0) if self.state.faults else None
        if fault:
            return self.reply(int(fault.get("status", 500)), fault.get("json"), fault.get("body"))
        with self.state.lock:
            self.state.issued += 1
            token = f"{flavor.replace('-', '')}{self.state.issued:04d}.{time.time_ns() % 10**9:09d}"
            lifetime = self.state.lifetime
        now = int(time.time())
        if flavor == "gcp" and url.path.endswith("/identity"):
            return self.identity(token, query, now, lifetime)
        if flavor == "databricks":
            return self.reply(200, {"access_token": token, "token_type": "Bearer", "expires_on": now + lifetime})
        if flavor in ("azure-imds", "app-service"):
            return self.reply(200, {"access_token": token, "refresh_token": "", "expires_in": str(lifetime),
                                    "expires_on": str(now + lifetime), "not_before": str(now),
                                    "resource": query["resource"], "token_type": "Bearer"})
        return self.reply(200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})

    def identity(self, token, query, now, lifetime):
        if self.state.identity_answer is not None:
            return self.reply(200, body=self.state.identity_answer, content_type="text/html")
        if not query.get("audience"):
            return self.reply(400, body="non-empty audience parameter required", content_type="text/plain")

        def part(doc):
            return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
        claims = {"aud": query["audience"], "azp": "1234567890", "exp": now + lifetime, "iat": now,
                  "iss": "https://accounts.google.com", "sub": "1234567890", "jti": token}
        if query.get("format") == "full":
            claims["google"] = {"compute_engine": {"instance_name": "tok-test", "project_id": "tok-project"}}
        jwt = f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"
        return self.reply(200, body=jwt, content_type="text/html")

    # Each returns (status, json) to refuse the request, or None.

    def check_databricks(self, url, query):
        if self.headers.get("X-Databricks-Metadata-Version") != "1":
            return 400, {"error_code": "BAD_REQUEST", "message": "X-Databricks-Metadata-Version: 1 is required"}
        if self.headers.get("X-Databricks-Host") != self.state.databricks_host:
            return 403, {"error_code": "PERMISSION_DENIED",
                         "message": "X-Databricks-Host does not match this workspace"}
        return None

    def check_azure_imds(self, url, query):
        if self.headers.get("Metadata") != "true":
            return 400, {"error": "invalid_request", "error_description": "Required metadata header not specified"}
        if self.headers.get("X-Forwarded-For"):
            return 400, {"error": "invalid_request", "error_description": "X-Forwarded-For is not allowed"}
        if "api-version" not in query:
            return 400, {"error": "invalid_request",
                         "error_description": "Required query variable 'api-version' is missing"}
        if query["api-version"] != "2018-02-01":
            return 400, {"error": "invalid_request", "error_description": "Invalid version"}
        if not query.get("resource"):
            return 400, {"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}
        return None

    def check_app_service(self, url, query):
        if self.headers.get("X-IDENTITY-HEADER") != self.state.identity_header:
            return 401, {"error": "unauthorized", "error_description": "X-IDENTITY-HEADER is missing or wrong"}
        if query.get("api-version") != "2019-08-01":
            return 400, {"error": "invalid_request", "error_description": "api-version 2019-08-01 is required"}
        if not query.get("resource"):
            return 400, {"error": "invalid_request", "error_description": "resource is required"}
        return None

    def check_gcp(self, url, query):
        if self.headers.get("Metadata-Flavor") != "Google":
            return 403, {"error": "Missing required header: Metadata-Flavor: Google"}
        account = urllib.parse.unquote(url.path[len(GCP_PREFIX):url.path.rindex("/")])
        if account != "default" and account not in self.state.accounts:
            return 404, {"error": f"service account {account} not found"}
        return None


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class MetadataServer(ServedInThread):
    """`with MetadataServer("gcp") as m: m.url ...` on 127.0.0.1. `url` is what a profile's url key
    takes for the flavor: the whole token URL, or the base for gcp."""

    def __init__(self, flavor, lifetime=3600, databricks_host="https://ws.cloud.databricks.com",
                 identity_header="app-service-identity-header-secret", accounts=("tok@localhost",), port=0):
        if flavor not in ("databricks", "azure-imds", "app-service", "gcp"):
            raise ValueError(flavor)
        self.state = State(flavor, lifetime, databricks_host, identity_header, accounts)
        self.httpd = QuietServer(("127.0.0.1", port), Handler)
        self.httpd.state = self.state
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = self.base + PATHS.get(flavor, "")

    def fault(self, times=1, **fault):
        with self.state.lock:
            self.state.faults.extend([fault] * times)

    @property
    def requests(self):
        with self.state.lock:
            return list(self.state.requests)

    @property
    def token_requests(self):
        return len(self.requests)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flavor", required=True, choices=["databricks", "azure-imds", "app-service", "gcp"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=int, default=3600)
    args = ap.parse_args()
    server = MetadataServer(args.flavor, lifetime=args.lifetime, port=args.port)
    print(f"LISTENING {server.port}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

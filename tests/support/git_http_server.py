"""A loopback git server over HTTP for tok's tests: `git http-backend` (git's own smart-HTTP CGI
program) behind a small Python HTTP server that demands Basic authentication with a password the
test sets, the way a forge demands the current access token.

    with GitHttpServer(project_root) as server:
        server.accept("the-token")        # only this password gets through
        server.public = True          # or: anyone may clone; server.requests records each request
        git clone http://127.0.0.1:<port>/repo.git
"""
import base64
import os
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threaded_server import ServedInThread


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def authorized_user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        server = self.server.owner
        with server.lock:
            server.passwords_seen.append(password)
            ok = password in server.accepted
        return user if ok else None

    def serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.server.owner
        with owner.lock:
            owner.requests.append((self.command, self.path, self.headers.get_all("Authorization") or []))
        user = self.authorized_user()
        if user is None and owner.public and "Authorization" not in self.headers:
            user = "anonymous"  # a public repository: anyone may read it
        if user is None:
            with self.server.owner.lock:
                self.server.owner.rejections += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="tok-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        url = urllib.parse.urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.owner.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": urllib.parse.unquote(url.path),
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": self.client_address[0],
        }
        for header in ("Git-Protocol", "Content-Encoding"):
            if header in self.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
        head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class GitHttpServer(ServedInThread):
    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        self.accepted = set()
        self.passwords_seen = []
        self.rejections = 0
        # A public repository (as on GitHub): served without credentials, and a request that
        # brings some is still checked. `requests`: (method, path, [each Authorization header]).
        self.public = False
        self.requests = []
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"http://{self.host}"

    def accept(self, *passwords):
        with self.lock:
            self.accepted = set(passwords)

"""Peer test: the real Docker CLI asking `docker-credential-tok` (the README's credHelpers) for a
loopback registry's credentials. `docker manifest inspect` talks to the registry from the CLI
itself (no daemon): the registry stand-in (TLS, a CA the test makes; Go reads SSL_CERT_FILE)
demands Basic authentication and records what it was sent. Docker names the registry to the
helper as it normalises it (host:port, no scheme): tok must read it the same way."""
import base64
import json
import os
import ssl
import subprocess
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import TokCase, path_with_tok, require_program
from tls import Pki


class _RegistryHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="tok-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with owner.lock:
            owner.credentials.append(base64.b64decode(auth[6:]).decode())
        body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "no such manifest"}]}).encode()
        self.send_response(200 if self.path == "/v2/" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class Registry:
    def __init__(self, context):
        self.lock = threading.Lock()
        self.credentials = []  # "user:password" of every authenticated request
        self.httpd = _Server(("127.0.0.1", 0), _RegistryHandler)
        self.httpd.owner = self
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class DockerPeer(TokCase):
    def setUp(self):
        super().setUp()
        self.docker = require_program("docker")
        pki = Pki(os.path.join(self.home, "pki"))
        self.registry = Registry(pki.context("good"))
        self.addCleanup(self.registry.stop)
        self.config = os.path.join(self.home, "config")
        docker_config = os.path.join(self.home, "docker")
        os.makedirs(docker_config)
        with open(os.path.join(docker_config, "config.json"), "w") as f:
            json.dump({"credHelpers": {self.registry.host: "tok"}}, f)
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache, "DOCKER_CONFIG": docker_config,
                         "SSL_CERT_FILE": pki.ca})
        self.env = path_with_tok({k: v for k, v in self.env.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")})

    def write_config(self, registries):
        with open(self.config, "w") as f:
            f.write(f"[work]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = docker\n"
                    f"docker_registries = {registries}\n")

    def inspect(self):
        return subprocess.run([self.docker, "manifest", "inspect", f"{self.registry.host}/team/app:1"], env=self.env,
                              capture_output=True, text=True, timeout=60)

    def tok_get(self):
        proc = self.run_tok("get", "-p", "work")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def test_docker_gets_the_profiles_token_for_its_registry(self):
        for entry in (self.registry.host, f"https://{self.registry.host}/v2/"):
            with self.subTest(entry=entry):
                self.write_config(entry)
                proc = self.inspect()
                self.assertIn("no such manifest", proc.stderr + proc.stdout)
                self.assertIn(f"oauth2accesstoken:{self.tok_get()}", self.registry.credentials)
                self.assertNotIn(self.tok_get(), proc.stderr + proc.stdout)
        self.assertEqual(self.server.token_requests, 1, "docker's token is tok get's: one cache")

    def test_another_registry_gets_nothing_from_tok(self):
        self.write_config("registry.example.com, 127.0.0.1:1")
        proc = self.inspect()
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(self.registry.credentials, [], "no profile names this registry: Docker got no token")
        self.assertEqual(self.server.token_requests, 0)


if __name__ == "__main__":
    unittest.main()

"""Peer test: real kubectl running `tok kube-credential` from a kubeconfig (the README's
users[].user.exec stanza), against a loopback TLS API server that demands the bearer token.

kubectl runs exec plugins only for https servers: the test makes a self-signed certificate with
openssl and the kubeconfig says insecure-skip-tls-verify."""
import json
import os
import ssl
import subprocess
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import TokCase, path_with_tok, readme_block, require_program

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-tok-test", "platform": "linux/amd64"}


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        auth = self.headers.get("Authorization", "")
        with owner.lock:
            owner.authorizations.append(auth)
            ok = auth == f"Bearer {owner.accepted}" and self.path == "/version"
        if ok:
            body, status = json.dumps(VERSION).encode(), 200
        else:
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Unauthorized",
                               "reason": "Unauthorized", "code": 401}).encode()
            status = 401
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class ApiServer:
    """A loopback HTTPS server answering GET /version for one bearer token."""

    def __init__(self, cert, key):
        self.lock = threading.Lock()
        self.accepted = None
        self.authorizations = []
        self.httpd = _Server(("127.0.0.1", 0), _ApiHandler)
        self.httpd.owner = self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class KubectlPeer(TokCase):
    def setUp(self):
        super().setUp()
        self.kubectl = require_program("kubectl")
        openssl = require_program("openssl")
        cert, key = os.path.join(self.home, "cert.pem"), os.path.join(self.home, "key.pem")
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.api = ApiServer(cert, key)
        self.addCleanup(self.api.stop)
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w") as f:
            f.write(f"[work]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = kube\n")
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache})
        self.env = path_with_tok({k: v for k, v in self.env.items() if k != "KUBECONFIG"})

    def kubeconfig(self, users_stanza):
        path = os.path.join(self.home, "kubeconfig")
        with open(path, "w") as f:
            f.write("apiVersion: v1\nkind: Config\n"
                    f"clusters:\n- name: loopback\n  cluster:\n    server: {self.api.url}\n"
                    "    insecure-skip-tls-verify: true\n"
                    "contexts:\n- name: loopback\n  context:\n    cluster: loopback\n    user: tok\n"
                    "current-context: loopback\n")
            f.write(users_stanza)
        return path

    def kubectl_version(self, kubeconfig):
        return subprocess.run([self.kubectl, "--kubeconfig", kubeconfig, "get", "--raw", "/version"], env=self.env,
                              capture_output=True, text=True, timeout=60)

    def tok_get(self):
        proc = self.run_tok("get", "-p", "work")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def test_kubectl_gets_the_token_from_the_readme_stanza(self):
        stanza = readme_block("kubeconfig: users[].user.exec")
        self.assertIn("interactiveMode: Never", stanza)
        self.api.accepted = self.tok_get()
        proc = self.kubectl_version(self.kubeconfig(stanza))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["gitVersion"], VERSION["gitVersion"])
        self.assertIn(f"Bearer {self.api.accepted}", self.api.authorizations)
        self.assertEqual(self.server.token_requests, 1, "kubectl's token is tok get's: one cache")

    def test_v1beta1_exec_stanzas_get_a_v1beta1_answer(self):
        stanza = readme_block("kubeconfig: users[].user.exec").replace("k8s.io/v1\n", "k8s.io/v1beta1\n")
        self.assertIn("v1beta1", stanza)
        self.api.accepted = self.tok_get()
        proc = self.kubectl_version(self.kubeconfig(stanza))
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_a_token_the_server_refuses_fails_cleanly(self):
        self.api.accepted = "some-other-token"
        proc = self.kubectl_version(self.kubeconfig(readme_block("kubeconfig: users[].user.exec")))
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("Unauthorized", proc.stderr + proc.stdout)
        self.assertNotIn(self.tok_get(), proc.stderr)


if __name__ == "__main__":
    unittest.main()

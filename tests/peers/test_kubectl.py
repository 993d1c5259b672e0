"""Peer test: real kubectl running `tok kube-credential` from a kubeconfig (the README's
users[].user.exec stanza), against a loopback TLS API server that demands the bearer token.

kubectl runs exec plugins only for https servers: the test makes a self-signed certificate with
openssl and the kubeconfig says insecure-skip-tls-verify."""
import base64
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
            accepted = owner.accepted() if callable(owner.accepted) else owner.accepted
            # kubectl asks /version?timeout=5s first (a 401 there makes it run the plugin again).
            ok = auth == f"Bearer {accepted}" and self.path.split("?")[0] == "/version"
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
        self.cert = cert
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

    def kubeconfig(self, users_stanza, ca_data=None):
        path = os.path.join(self.home, "kubeconfig")
        trust = (f"    certificate-authority-data: {ca_data}\n" if ca_data else "    insecure-skip-tls-verify: true\n")
        with open(path, "w") as f:
            f.write("apiVersion: v1\nkind: Config\n"
                    f"clusters:\n- name: loopback\n  cluster:\n    server: {self.api.url}\n" + trust +
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

    def test_a_100_kb_ca_bundle_with_provide_cluster_info_gets_a_token(self):
        # provideClusterInfo puts the cluster, its CA bundle included (base64, as in the kubeconfig),
        # into $KUBERNETES_EXEC_INFO: ~100 KB here, past the 64 KiB tok once refused and under the
        # 128 KiB execve lets through.
        with open(self.cert) as f:
            server_cert = f.read()
        other = os.path.join(self.home, "other.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", os.path.join(self.home, "other.key"), "-out", other, "-days", "1",
                        "-subj", "/CN=another CA in the bundle"], check=True, capture_output=True)
        with open(other) as f:
            filler = f.read()
        bundle = server_cert + filler * (75 * 1024 // len(filler))
        ca_data = base64.b64encode(bundle.encode()).decode()
        self.assertGreater(len(ca_data), 96 * 1024)
        self.assertLess(len(ca_data), 120 * 1024)
        stanza = readme_block("kubeconfig: users[].user.exec").replace(
            "interactiveMode: Never", "interactiveMode: Never\n      provideClusterInfo: true")
        self.assertIn("provideClusterInfo: true", stanza)
        self.api.accepted = self.tok_get()
        proc = self.kubectl_version(self.kubeconfig(stanza, ca_data=ca_data))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(f"Bearer {self.api.accepted}", self.api.authorizations)

    def test_after_a_401_the_same_kubectl_gets_a_new_token_once_and_the_next_kubectl_a_cache_hit(self):
        kubeconfig = self.kubeconfig(readme_block("kubeconfig: users[].user.exec"))
        revoked = self.tok_get()
        # The API server takes only the newest token the provider issued: the cached one is revoked.
        tokens = self.server.state.tokens
        self.api.accepted = lambda: "not yet" if tokens[-1] == revoked else tokens[-1]
        self.kubectl_version(kubeconfig)  # kubectl calls tok, gets 401, calls tok again: a new token
        self.assertEqual(self.server.token_requests, 2, "kubectl's second call fetched a new token")
        fresh = self.tok_get()
        self.assertNotEqual(fresh, revoked)
        # Another kubectl process: a plain cache hit, and the server takes it.
        proc = self.kubectl_version(kubeconfig)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(f"Bearer {fresh}", self.api.authorizations)
        self.assertEqual(self.server.token_requests, 2)

    def test_a_server_refusing_every_token_costs_at_most_one_new_fetch_per_kubectl(self):
        kubeconfig = self.kubeconfig(readme_block("kubeconfig: users[].user.exec"))
        self.api.accepted = "never-issued"
        proc = self.kubectl_version(kubeconfig)
        self.assertNotEqual(proc.returncode, 0)
        self.assertLessEqual(self.server.token_requests, 2, "one fetch, then one new one after the 401; no more")


if __name__ == "__main__":
    unittest.main()

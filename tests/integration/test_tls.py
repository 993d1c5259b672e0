"""Verified TLS, end to end: the loopback token server speaks https with certificates made by
openssl at test time (tls.py). ca_bundle is accepted; an unknown CA, an expired certificate and a
wrong host name are each refused (exit 4) with a message that says TLS and which check failed;
a redirect to another host is never followed."""
import os
import shutil
import tempfile
import unittest

from harness import TOK, TokCase, tok_env
from tls import Pki
from token_server import TokenServer


class Tls(TokCase):
    pki = None

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="tok-pki-")
        cls.pki = Pki(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, True)

    def serve(self, certificate, host="127.0.0.1"):
        server = TokenServer(tls=self.pki.context(certificate), host=host).start()
        self.addCleanup(server.stop)
        return server

    def fetch(self, server, *extra, ca_bundle=True):
        args = ["get", "--provider", "oauth", "--token-url", server.token_url, "--client-id", "ci",
                "--cache-dir", self.cache, "--refresh-timeout", "10s", *extra]
        if ca_bundle:
            args += ["--ca-bundle", self.pki.ca]
        return self.run_tok(*args)

    def assert_refused(self, proc, server, *words):
        self.assertEqual(proc.returncode, 4, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("TLS: ", proc.stderr)
        for w in words:
            self.assertIn(w, proc.stderr)
        self.assertEqual(server.token_requests, 0, "a request went to a server that failed verification")
        self.assertEqual(self.run_tok("status", "--format", "json", "--provider", "oauth", "--token-url",
                                      server.token_url, "--client-id", "ci", "--cache-dir", self.cache,
                                      "--ca-bundle", self.pki.ca).returncode, 0)

    def test_ca_bundle_is_accepted(self):
        server = self.serve("good")
        self.assertTrue(server.token_url.startswith("https://127.0.0.1:"))
        proc = self.fetch(server)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.startswith("tok0001."))
        self.assertEqual(server.token_requests, 1)

    def test_without_ca_bundle_the_private_ca_is_unknown(self):
        server = self.serve("good")
        self.assert_refused(self.fetch(server, ca_bundle=False), server, "unknown authority", "ca_bundle")

    def test_a_certificate_from_another_ca_is_refused(self):
        server = self.serve("unknown-ca")
        self.assert_refused(self.fetch(server), server, "unknown authority")

    def test_an_expired_certificate_is_refused(self):
        server = self.serve("expired")
        self.assert_refused(self.fetch(server), server, "certificate expired")

    def test_a_certificate_for_another_host_name_is_refused(self):
        server = self.serve("wrong-host")
        self.assert_refused(self.fetch(server), server, "host name mismatch")

    def test_tls_failures_are_not_retried(self):
        server = self.serve("expired")
        proc = self.fetch(server)
        self.assertEqual(proc.returncode, 4)
        self.assertEqual(proc.stderr.count("tok: default:"), 1)

    def test_a_redirect_to_another_host_is_never_followed(self):
        # The other host: a plain loopback server on 127.0.0.2, which must never hear from tok.
        other = TokenServer(host="127.0.0.2").start()
        self.addCleanup(other.stop)
        server = self.serve("good")
        server.fault(status=302, headers={"Location": other.token_url}, times=5)
        proc = self.fetch(server)
        self.assertEqual(proc.returncode, 4, proc.stderr)
        self.assertIn("redirect refused", proc.stderr)
        self.assertEqual(server.token_requests, 1)
        self.assertEqual(other.state.stats()["seen"], [], "the redirect was followed")


if __name__ == "__main__":
    unittest.main()

"""tok kube-credential: the ExecCredential a client-go exec plugin prints (the peers test runs
real kubectl). apiVersion as $KUBERNETES_EXEC_INFO asks, expirationTimestamp = expiry minus
expiry_buffer in RFC 3339 with Z, omitted for a token that does not expire."""
import datetime
import json
import os
import unittest

from harness import TokCase

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


class KubeCredential(TokCase):
    def kube(self, *extra, exec_info=None, expect=0):
        env = dict(self.env)
        if exec_info is not None:
            env["KUBERNETES_EXEC_INFO"] = exec_info
        proc = self.run_tok("kube-credential", *self.oauth_args(*extra), env=env)
        self.assertEqual(proc.returncode, expect, proc.stderr)
        return proc

    def test_v1_by_default_with_the_expiry_minus_the_buffer(self):
        proc = self.kube("--expiry-buffer", "5m")
        self.assertEqual(proc.stderr, "")
        doc = json.loads(proc.stdout)
        self.assertEqual(list(doc), ["apiVersion", "kind", "status"])
        self.assertEqual(doc["apiVersion"], V1)
        self.assertEqual(doc["kind"], "ExecCredential")
        got = self.get_json("--expiry-buffer", "5m")
        self.assertEqual(doc["status"]["token"], got["access_token"])
        self.assertEqual(self.server.token_requests, 1, "one engine, one cache")
        stamp = doc["status"]["expirationTimestamp"]
        self.assertRegex(stamp, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        expires_at = datetime.datetime.fromisoformat(got["expires_at"].replace("Z", "+00:00"))
        at = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        self.assertEqual(expires_at - at, datetime.timedelta(minutes=5))

    def test_the_api_version_kubectl_asks_for(self):
        for version in (V1, V1BETA1):
            info = json.dumps({"kind": "ExecCredential", "apiVersion": version, "spec": {"interactive": False}})
            self.assertEqual(json.loads(self.kube(exec_info=info).stdout)["apiVersion"], version)

    def test_malformed_or_unknown_exec_info_is_a_usage_error_before_any_fetch(self):
        for info in ("", "{", "[]", '{"kind":"ExecCredential"}',
                     '{"apiVersion":"client.authentication.k8s.io/v1alpha1","kind":"ExecCredential"}',
                     '{"apiVersion":"client.authentication.k8s.io/v1","kind":"Pod"}'):
            proc = self.kube(exec_info=info, expect=2)
            self.assertEqual(proc.stdout, "", info)
            self.assertIn("KUBERNETES_EXEC_INFO", proc.stderr)
        self.assertEqual(self.server.token_requests, 0)

    def test_a_token_without_expiry_has_no_expiration_timestamp(self):
        self.get()
        entry = self.read_entry()
        entry["token"]["expiry_ms"] = None
        entry["stale_after_ms"] = None
        self.write_entry(entry)
        doc = json.loads(self.kube().stdout)
        self.assertEqual(list(doc["status"]), ["token"])

    def test_a_provider_failure_prints_nothing_on_stdout(self):
        self.server.fault(status=503, times=10)
        proc = self.kube("--refresh-timeout", "2s", expect=4)
        self.assertEqual(proc.stdout, "")


if __name__ == "__main__":
    unittest.main()

"""tok kube-credential: the ExecCredential a client-go exec plugin prints (the peers test runs
real kubectl). apiVersion as $KUBERNETES_EXEC_INFO asks, expirationTimestamp = expiry minus
expiry_buffer in RFC 3339 with Z, omitted for a token that does not expire."""
import datetime
import json
import os
import subprocess
import unittest

from harness import TokCase, path_with_tok

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
                     '{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":"yes"}}'):
            proc = self.kube(exec_info=info, expect=2)
            self.assertEqual(proc.stdout, "", info)
            self.assertIn("KUBERNETES_EXEC_INFO", proc.stderr)
        self.assertEqual(self.server.token_requests, 0)

    def test_only_api_version_and_interactive_are_read_from_a_100_kb_exec_info(self):
        # provideClusterInfo: the cluster, its CA bundle included, rides along (kubectl passes up
        # to execve's 128 KiB; tok once stopped at 64 KiB).
        info = json.dumps({"kind": "ExecCredential", "apiVersion": V1BETA1, "spec": {
            "interactive": False, "cluster": {"server": "https://127.0.0.1:6443",
                                              "certificate-authority-data": "QUJD" * (25 * 1024),
                                              "config": {"anything": [1, {"x": None}]}}}})
        self.assertGreater(len(info), 100 * 1024)
        doc = json.loads(self.kube(exec_info=info).stdout)
        self.assertEqual(doc["apiVersion"], V1BETA1)
        self.assertEqual(doc["status"]["token"], self.get_json()["access_token"])

    def test_min_valid_and_force_refresh(self):
        first = json.loads(self.kube().stdout)["status"]["token"]
        self.assertEqual(json.loads(self.kube("--min-valid", "10m").stdout)["status"]["token"], first)
        self.assertEqual(self.server.token_requests, 1)
        # The token lives an hour: asking for two means a new one now.
        self.assertNotEqual(json.loads(self.kube("--min-valid", "2h").stdout)["status"]["token"], first)
        self.assertEqual(self.server.token_requests, 2)
        self.kube("--force-refresh")
        self.assertEqual(self.server.token_requests, 3)
        proc = self.kube("--min-valid", "soon", expect=2)
        self.assertIn("--min-valid", proc.stderr)
        self.assertEqual(self.server.token_requests, 3)

    def test_the_same_caller_asking_again_for_its_token_gets_a_new_one_once(self):
        info = json.dumps({"apiVersion": V1, "kind": "ExecCredential", "spec": {"interactive": False}})
        # This test process is the "kubectl": the same pid and start time each call.
        first = json.loads(self.kube(exec_info=info).stdout)["status"]["token"]
        second = json.loads(self.kube(exec_info=info).stdout)["status"]["token"]
        self.assertNotEqual(second, first, "asked again for the token it was given: it was refused")
        self.assertEqual(self.server.token_requests, 2)
        third = json.loads(self.kube(exec_info=info).stdout)["status"]["token"]
        self.assertEqual(third, second, "once: the new token is not refused in turn")
        self.assertEqual(self.server.token_requests, 2)
        # Other callers (a shell in between, so tok's parent is a new process each time) hit the cache.
        for _ in range(2):
            proc = subprocess.run(["sh", "-c", 'tok kube-credential "$@"; exit $?', "sh", *self.oauth_args()],
                                  env=path_with_tok({**self.env, "KUBERNETES_EXEC_INFO": info}), capture_output=True,
                                  text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads(proc.stdout)["status"]["token"], second)
        self.assertEqual(self.server.token_requests, 2)
        # Without $KUBERNETES_EXEC_INFO the caller is no client-go program: plain cache hits.
        for _ in range(2):
            self.assertEqual(json.loads(self.kube().stdout)["status"]["token"], second)
        self.assertEqual(self.server.token_requests, 2)

    def test_tok_clear_removes_the_record_of_kubectl_calls_with_the_entry(self):
        info = json.dumps({"apiVersion": V1, "kind": "ExecCredential", "spec": {"interactive": False}})
        self.kube(exec_info=info)
        records = [name for name in os.listdir(self.cache) if name.endswith(".kube")]
        self.assertEqual(len(records), 1, os.listdir(self.cache))
        proc = self.run_tok("clear", *self.oauth_args())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([name for name in os.listdir(self.cache) if name.endswith((".kube", ".json"))], [])

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

"""provider = oauth against the loopback token server: the request on the wire, discovery,
RFC 6749 errors, retries within the deadline, and responses that must be refused."""
import base64
import time
import unittest
import urllib.parse

from harness import SECRET, TokCase


class Wire(TokCase):
    def last_request(self):
        return self.server.state.stats()["requests"][-1]

    def test_basic_auth_form_encodes_id_and_secret_before_base64(self):
        self.server.state.clients = {"ci:deploy/+ %": SECRET}
        args = ["get", "--provider", "oauth", "--token-url", self.server.token_url, "--client-id", "ci:deploy/+ %",
                "--cache-dir", self.cache, "--scopes", "api:read, api:write", "--audience", "aud 1", "--resource",
                "https://r.example/"]
        proc = self.run_tok(*args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        req = self.last_request()
        self.assertEqual(req["auth_method"], "basic")
        self.assertEqual(req["client_id"], "ci:deploy/+ %")
        self.assertEqual(req["grant_type"], "client_credentials")
        self.assertEqual(req["scope"], "api:read api:write")
        self.assertEqual(req["audience"], "aud 1")
        self.assertEqual(req["resource"], "https://r.example/")

    def test_post_auth_sends_id_and_secret_in_the_form(self):
        self.server.state.clients = {"ci": SECRET}
        self.get("--auth-method", "post")
        self.assertEqual(self.last_request()["auth_method"], "post")

    def test_wrong_secret_is_exit_3_with_invalid_client(self):
        self.server.state.clients = {"ci": "another secret"}
        proc = self.get(expect=3)
        self.assertIn("invalid_client", proc.stderr)
        self.assertIn("$TOK_CLIENT_SECRET", proc.stderr)  # the advice names where the secret is
        self.assertEqual(proc.stdout, "")

    def test_discovery_via_issuer_is_cached_with_the_entry(self):
        args = ["--provider", "oauth", "--issuer", self.server.url, "--client-id", "ci", "--cache-dir", self.cache]
        proc = self.run_tok("get", *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.server.state.stats()["discovery_requests"], 1)
        self.assertEqual(self.run_tok("get", "--force-refresh", *args).returncode, 0)
        self.assertEqual(self.server.state.stats()["discovery_requests"], 1, "the endpoint is remembered")
        self.assertEqual(self.server.token_requests, 2)

    def test_verbose_output_has_no_token_or_secret(self):
        proc = self.run_tok("get", "-v", *self.oauth_args())
        token = proc.stdout.strip()
        self.assertIn("cache entry", proc.stderr)
        self.assertNotIn(token, proc.stderr)


class Faults(TokCase):
    """Each fault: the documented exit code, a clear message, and no entry written."""

    def expect_failure(self, code, text, *extra):
        proc = self.get("--refresh-timeout", "6s", *extra, expect=code)
        self.assertIn(text, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertTrue(proc.stderr.startswith("tok: default: fetching a token from"), proc.stderr)
        self.assertEqual(self.status()["state"], "missing")
        return proc

    def test_503_with_retry_after_is_retried(self):
        self.server.fault(status=503, retry_after="1", body="busy")
        started = time.monotonic()
        self.get()
        self.assertGreaterEqual(time.monotonic() - started, 0.9, "Retry-After was not honoured")
        self.assertEqual(self.server.token_requests, 2)

    def test_persistent_500_is_exit_4_after_retries(self):
        self.server.fault(status=500, body="<html>oops</html>", times=10)
        self.expect_failure(4, "HTTP 500")
        self.assertEqual(self.server.token_requests, 5)

    def test_429_then_success(self):
        self.server.fault(status=429, body="slow down", times=2)
        self.get()
        self.assertEqual(self.server.token_requests, 3)

    def test_refusals_are_exit_3_and_not_retried(self):
        for fault, text in [({"status": 400, "json": {"error": "invalid_scope"}}, "invalid_scope"),
                            ({"status": 401, "body": "no"}, "HTTP 401"),
                            ({"status": 403, "body": "forbidden"}, "HTTP 403")]:
            with self.subTest(text=text):
                self.server.control(reset=True)
                self.server.fault(**fault)
                self.expect_failure(3, text)
                self.assertEqual(self.server.token_requests, 1)

    def test_malformed_responses_are_exit_4(self):
        for fault, text in [({"status": 200, "body": "{not json"}, "not JSON"),
                            ({"status": 200, "body": "<html>login</html>"}, "not JSON"),
                            ({"status": 200, "body": ""}, "not JSON"),
                            ({"status": 200, "json": {"token_type": "Bearer", "expires_in": 60}}, "no access_token"),
                            ({"status": 200, "json": {"access_token": "abc"}}, "no expires_in"),
                            ({"status": 200, "json": {"access_token": "abc", "expires_in": -5}}, "must be positive"),
                            ({"status": 200, "json": {"access_token": "abc", "expires_in": 10**12}}, "over a year")]:
            with self.subTest(text=text):
                self.server.fault(**fault)
                self.expect_failure(4, text)

    def test_body_over_one_mebibyte_is_refused(self):
        self.server.fault(status=200, body_bytes=2 << 20)
        self.expect_failure(4, "larger than")

    def test_connection_refused_is_exit_4(self):
        self.server.stop()
        self.expect_failure(4, "fetching a token")

    def test_reset_mid_body_is_exit_4(self):
        self.server.fault(reset_connection=True, times=10)
        self.expect_failure(4, "fetching a token")

    def test_hang_times_out_within_the_refresh_timeout(self):
        self.server.fault(hang=10, times=3)
        started = time.monotonic()
        proc = self.get("--refresh-timeout", "2s", expect=4)
        self.assertLess(time.monotonic() - started, 4)
        self.assertIn("tok: default: fetching a token", proc.stderr)
        # The key that ran out and its value, not libcurl's "Operation timed out after 1999 milliseconds".
        self.assertIn("no answer before refresh_timeout (2s) ran out", proc.stderr)
        self.assertNotIn("milliseconds", proc.stderr)

    def test_a_slow_server_names_http_timeout(self):
        self.server.fault(hang=10, times=10)
        # A refresh_timeout far beyond the five attempts: each ends at http_timeout, never cut short by
        # the deadline (a 2.5 s one made the message depend on the machine's load).
        proc = self.get("--http-timeout", "1s", "--refresh-timeout", "30s", expect=4)
        self.assertIn("no answer within http_timeout (1s)", proc.stderr)
        self.assertNotIn("milliseconds", proc.stderr)

    def test_drip_is_cut_by_the_http_timeout(self):
        self.server.fault(status=200, body='{"access_token": "dripdrip", "expires_in": 300}', drip=0.5)
        started = time.monotonic()
        self.get("--refresh-timeout", "2s", expect=4)
        self.assertLess(time.monotonic() - started, 4)


if __name__ == "__main__":
    unittest.main()

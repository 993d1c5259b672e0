"""tok serve end to end: the real binary serving a profile over the three metadata protocols,
backed by the loopback token server. Protocol refusals, one engine for all protocols, stale
tokens served at once with one background refresh, an outage of the token source, an honest
error once the token is gone, loopback only, clean shutdown, the -v log."""
import json
import signal
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

from harness import SECRET, TOK
from serve_harness import HOST, RESOURCE, ServeCase

DATABRICKS = {"X-Databricks-Metadata-Version": "1", "X-Databricks-Host": HOST}
IMDS_QUERY = "api-version=2018-02-01&resource=" + urllib.request.quote(RESOURCE, safe="")
GOOGLE = {"Metadata-Flavor": "Google"}
GCP_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"


def fetch(url, headers=None, method="GET"):
    """(status, headers, body) without raising on HTTP errors."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class Protocols(ServeCase):
    def setUp(self):
        super().setUp()
        self.start_serve()

    def test_banner_names_each_sdks_variable(self):
        self.assertRegex(self.banner, rf"DATABRICKS_METADATA_SERVICE_URL={self.base}/databricks/[0-9a-f]{{32}}/token")
        self.assertRegex(self.banner, rf"IDENTITY_ENDPOINT={self.base}/msi/token IDENTITY_HEADER=[0-9a-f]{{32}}")
        self.assertIn(f"AZURE_POD_IDENTITY_AUTHORITY_HOST={self.base}", self.banner)
        self.assertIn(f"GCE_METADATA_HOST={self.authority}", self.banner)

    def test_one_engine_and_one_fetch_for_all_three_protocols(self):
        s1, _, b1 = fetch(self.databricks_url, DATABRICKS)
        s2, _, b2 = fetch(f"{self.base}/metadata/identity/oauth2/token?{IMDS_QUERY}", {"Metadata": "true"})
        s3, _, b3 = fetch(self.base + GCP_TOKEN, GOOGLE)
        self.assertEqual((s1, s2, s3), (200, 200, 200))
        tokens = {json.loads(b)["access_token"] for b in (b1, b2, b3)}
        self.assertEqual(len(tokens), 1)
        self.assertEqual(self.server.token_requests, 1)
        for _ in range(5):
            fetch(self.base + GCP_TOKEN, GOOGLE)
        self.assertEqual(self.server.token_requests, 1, "cached tokens are served without a request")

    def test_refusals_with_the_documented_status(self):
        self.wait_for_warm_up()
        self.databricks_path = self.databricks_url[len(self.base):]
        cases = [
            (self.databricks_path, {"X-Databricks-Host": HOST}, 400),
            (self.databricks_path, {"X-Databricks-Metadata-Version": "1", "X-Databricks-Host": "https://other"}, 403),
            ("/databricks/token", DATABRICKS, 404),  # without the secret path segment
            (f"/metadata/identity/oauth2/token?{IMDS_QUERY}", {}, 400),
            (f"/metadata/identity/oauth2/token?{IMDS_QUERY}", {"Metadata": "true", "X-Forwarded-For": "1.2.3.4"}, 400),
            ("/metadata/identity/oauth2/token?resource=x", {"Metadata": "true"}, 400),
            ("/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net",
             {"Metadata": "true"}, 400),
            (GCP_TOKEN, {}, 403),
            ("/computeMetadata/v1/instance/service-accounts/nobody@example.com/token", GOOGLE, 404),
            ("/nothing", {}, 404),
        ]
        for path, headers, status in cases:
            with self.subTest(path=path, headers=headers):
                got, resp_headers, _ = fetch(self.base + path, headers)
                self.assertEqual(got, status)
                if path.startswith("/computeMetadata"):
                    self.assertEqual(resp_headers.get("Metadata-Flavor"), "Google")
        self.assertEqual(self.server.token_requests, 1, "a refused request never costs a fetch")

    def test_gcp_answers_carry_exactly_application_json(self):
        status, headers, _ = fetch(self.base + "/computeMetadata/v1/instance/service-accounts/default/?recursive=true",
                                   GOOGLE)
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("Content-Type"), "application/json")
        self.assertEqual(headers.get("Metadata-Flavor"), "Google")


class Engine(ServeCase):
    # Tokens of 8 s with a 1 s buffer: stale after 4 s, expired after 7 s; failures back off 1 s.
    lifetime = 8
    engine_keys = "expiry_buffer = 1s\nretry_backoff = 1s\n"

    def test_stale_token_served_at_once_with_one_background_refresh(self):
        self.start_serve()
        _, _, first = fetch(self.base + GCP_TOKEN, GOOGLE)
        old = json.loads(first)["access_token"]
        time.sleep(4.2)
        self.server.control(latency=2.0)
        started = time.monotonic()
        results = [fetch(self.base + GCP_TOKEN, GOOGLE) for _ in range(10)]
        self.assertLess(time.monotonic() - started, 1.5, "stale tokens must be served at once")
        self.assertEqual({json.loads(b)["access_token"] for _, _, b in results}, {old})
        self.wait_until(lambda: self.server.token_requests == 2, what="the background refresh")
        self.wait_until(lambda: json.loads(fetch(self.base + GCP_TOKEN, GOOGLE)[2])["access_token"] != old,
                        what="the new token")
        self.assertEqual(self.server.token_requests, 2, "one background refresh")

    def test_outage_serves_valid_tokens_then_an_honest_error(self):
        self.start_serve()
        _, _, first = fetch(self.databricks_url, DATABRICKS)
        old = json.loads(first)["access_token"]
        self.server.control(reset=True, faults=[{"status": 503, "times": 1000}])
        time.sleep(4.2)  # stale: refreshes fail from here on
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            status, _, body = fetch(self.databricks_url, DATABRICKS)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["access_token"], old)
            time.sleep(0.05)
        # One background attempt, then one per 1 s cooldown: 2 or 3 in 2.5 s, not one per request.
        self.assertLessEqual(self.server.token_requests, 4)
        self.wait_until(lambda: fetch(self.databricks_url, DATABRICKS)[0] != 200, timeout=10,
                        what="the token to expire")
        status, _, body = fetch(self.databricks_url, DATABRICKS)
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body)["error_code"], "TEMPORARILY_UNAVAILABLE")
        self.assertNotIn(old, body)
        status, _, body = fetch(f"{self.base}/metadata/identity/oauth2/token?{IMDS_QUERY}", {"Metadata": "true"})
        self.assertEqual((status, json.loads(body)["error"]), (503, "service_unavailable"))
        status, headers, body = fetch(self.base + GCP_TOKEN, GOOGLE)
        self.assertEqual((status, headers.get("Metadata-Flavor")), (503, "Google"))

    def test_fifty_concurrent_clients_through_staleness_and_an_outage(self):
        # t=0 token A (stale at 4 s, dead for tok at 7 s); at ~4 s one background refresh brings
        # token B (stale 4 s later, dead 7 s later). The outage starts once B is issued, not at a
        # fixed time: the token server shares this process's GIL with 50 busy clients, and under
        # load its answer to that refresh took more than a second (A died, clients got 503s).
        # Until 5.3 s after B every client must get a valid token (the margin covers requests
        # queued behind 50 clients), and the server sees one request per 1 s cooldown from ~4 s.
        self.start_serve()
        fetch(self.base + GCP_TOKEN, GOOGLE)
        t0 = time.monotonic()
        end = [t0 + 30]
        bad, served, lock = [], [0], threading.Lock()

        def client():
            while time.monotonic() < end[0]:
                status, _, body = fetch(self.base + GCP_TOKEN, GOOGLE)
                with lock:
                    if status != 200 or not json.loads(body)["access_token"]:
                        bad.append((status, body))
                    served[0] += 1

        threads = [threading.Thread(target=client) for _ in range(50)]
        for t in threads:
            t.start()
        while self.server.token_requests < 2 and time.monotonic() < t0 + 6.5:
            time.sleep(0.02)
        requests_before_outage = self.server.token_requests
        self.server.control(faults=[{"status": 503, "times": 1000}])
        end[0] = min(end[0], time.monotonic() + 5.3)
        for t in threads:
            t.join()
        self.assertEqual(requests_before_outage, 2, "the first fetch and one background refresh, before A died")
        self.assertEqual(bad, [], "every client gets a valid token")
        during_outage = self.server.token_requests - requests_before_outage
        self.assertGreaterEqual(during_outage, 1, "refreshes are retried during the outage")
        self.assertLessEqual(during_outage, 3, "one request per 1 s cooldown, not one per client")
        self.assertGreater(served[0], 200)


class Lifecycle(ServeCase):
    def test_non_loopback_listen_refused(self):
        for listen in ("0.0.0.0:0", "192.168.1.10:8789", "example.com:8789", "[::]:8789", "8789", "127.0.0.1:99999"):
            with self.subTest(listen=listen):
                proc = self.run_tok("serve", "--listen", listen, "--gcp", "ws")
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("--listen", proc.stderr)

    def test_no_protocol_or_an_incomplete_profile_is_a_usage_error(self):
        proc = self.run_tok("serve", "--listen", "127.0.0.1:0")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("at least one protocol", proc.stderr)
        with open(self.config, "a") as f:
            f.write(f"[bare]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n")
        proc = self.run_tok("serve", "--listen", "127.0.0.1:0", "--databricks", "bare")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no 'host'", proc.stderr)
        proc = self.run_tok("serve", "--listen", "127.0.0.1:0", "--azure-imds", "bare")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no 'resource'", proc.stderr)
        proc = self.run_tok("serve", "--listen", "127.0.0.1:0", "--gcp", "missing")
        self.assertEqual(proc.returncode, 2)
        # A GCP identity-token profile: its JWT is no access token, whatever the protocol.
        with open(self.config, "a") as f:
            f.write("[idt]\nprovider = metadata\nflavor = gcp\nid_token_audience = https://api.example\n")
        for flag in ("--gcp", "--databricks"):
            proc = self.run_tok("serve", "--listen", "127.0.0.1:0", flag, "idt")
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("identity tokens", proc.stderr)

    def test_sigterm_lets_the_request_in_flight_finish_and_exits_0(self):
        proc = self.start_serve()
        self.wait_for_warm_up()
        self.forget_token()  # the request below must fetch
        self.server.control(latency=1.0)  # within the 1.5 s grace for requests in flight
        result = {}
        t = threading.Thread(target=lambda: result.update(r=fetch(self.base + GCP_TOKEN, GOOGLE)))
        t.start()
        self.wait_until(lambda: self.server.token_requests == 2, what="the request to reach the token server")
        proc.send_signal(signal.SIGTERM)
        t.join(timeout=20)
        self.assertEqual(result["r"][0], 200, "the request in flight was answered")
        self.assertEqual(proc.wait(timeout=20), 0)

    def test_sigint_exits_0(self):
        proc = self.start_serve()
        fetch(self.base + GCP_TOKEN, GOOGLE)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=20), 0)

    def test_verbose_logs_one_line_per_request_without_the_token(self):
        proc = self.start_serve(verbose=True)
        _, _, body = fetch(self.base + GCP_TOKEN, GOOGLE)
        fetch(self.base + GCP_TOKEN, {})
        token = json.loads(body)["access_token"]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log = self.serve_log()
        self.assertRegex(log, r"GET /computeMetadata/v1/instance/service-accounts/default/token 200 [0-9.]+ms")
        self.assertRegex(log, r"GET /computeMetadata/v1/instance/service-accounts/default/token 403 [0-9.]+ms")
        self.assertNotIn(token, log)
        self.assertNotIn(SECRET, log)


if __name__ == "__main__":
    unittest.main()

"""The failure cache (docs/fleet.md): with the token service down and no valid
token, a blocking fetch that failed with unavailability answers later callers for failure_cache,
in every process (`tok get`, through the entry's lock file) and in `tok serve` (the same file), with
no request. A refusal is asked again every time; --force-refresh bypasses the kept failure.
Retries spread: hosts told the same Retry-After come back over [R, 2R]."""
import json
import os
import subprocess
import tempfile
import time
import unittest

from harness import TOK, TokCase
from serve_harness import ServeCase
from test_serve import DATABRICKS, GCP_TOKEN, GOOGLE, fetch

# A short deadline keeps each blocking retry series (and the test) short; the window is long
# enough that a slow (sanitizer) build stays inside it.
FAST = ("--refresh-timeout", "2s", "--failure-cache", "60s")
DOWN = {"status": 503, "body": "maintenance", "times": 1000}


class OutageGet(TokCase):
    def expired_entry_and_service_down(self):
        self.get(*FAST)
        self.edit_entry(expires_in=10)  # inside the 40 s expiry buffer: EXPIRED
        self.server.control(reset=True, faults=[DOWN])

    def test_ten_gets_on_an_expired_entry_against_a_503_server_cost_one_request_series(self):
        self.expired_entry_and_service_down()
        entry = self.read_entry()
        first = self.get(*FAST, expect=4)
        series = self.server.token_requests
        self.assertGreaterEqual(series, 1)
        self.assertIn("503", first.stderr)
        self.assertNotIn("not retried", first.stderr, "the first failure is live")
        message, rest = first.stderr.split("\n", 1)
        for _ in range(9):
            proc = self.get(*FAST, expect=4)
            # The same error, at once, said to be kept: no request was sent for it.
            kept, kept_rest = proc.stderr.split("\n", 1)
            self.assertEqual(kept_rest, rest)
            self.assertTrue(kept.startswith(message + " (failed "), proc.stderr)
            self.assertRegex(kept, r" \(failed \d+s ago; not retried until \d\d:\d\d:\d\d UTC; "
                                   r"--force-refresh asks now\)$")
        self.assertEqual(self.server.token_requests, series, "one request series for ten callers")
        self.assertEqual(self.read_entry(), entry, "the entry (and its token) is left as it was")
        status = self.status(*FAST)
        self.assertEqual(status["refresh"], "failing")
        self.assertIn("503", status["last_error"]["message"])
        self.assertIsNotNone(status["next_attempt"])
        text = self.run_tok("status", *self.profile_args(*FAST)).stdout
        self.assertIn("failing", text)
        self.assertIn("next attempt:", text)

    def test_force_refresh_bypasses_the_kept_failure(self):
        self.expired_entry_and_service_down()
        self.get(*FAST, expect=4)
        series = self.server.token_requests
        self.get(*FAST, "--force-refresh", expect=4)
        self.assertGreater(self.server.token_requests, series, "--force-refresh asks the service")
        self.server.control(reset=True)  # the service is back
        token = self.get(*FAST, "--force-refresh")
        self.assertTrue(token)
        self.assertEqual(self.server.token_requests, 1)
        self.assertEqual(self.get(*FAST), token)

    def test_a_400_is_asked_again_on_every_call(self):
        self.get(*FAST)
        self.edit_entry(expires_in=10)
        self.server.control(reset=True, faults=[{"status": 400, "json": {"error": "invalid_client"}, "times": 10}])
        for n in range(1, 4):
            self.get(*FAST, expect=3)
            self.assertEqual(self.server.token_requests, n, "a refusal is never answered from memory")
        self.server.control(reset=True)  # the secret is fixed: the next call gets a token
        self.assertTrue(self.get(*FAST))

    def test_failure_cache_0_keeps_nothing(self):
        self.expired_entry_and_service_down()
        self.get("--refresh-timeout", "1s", "--failure-cache", "0", expect=4)
        series = self.server.token_requests
        self.get("--refresh-timeout", "1s", "--failure-cache", "0", expect=4)
        self.assertGreater(self.server.token_requests, series)

    def test_the_window_ends(self):
        self.expired_entry_and_service_down()
        args = ("--refresh-timeout", "1s", "--failure-cache", "1s", "--refresh-jitter", "0")
        self.get(*args, expect=4)
        series = self.server.token_requests
        self.get(*args, expect=4)
        self.assertEqual(self.server.token_requests, series)
        time.sleep(1.1)
        self.get(*args, expect=4)
        self.assertGreater(self.server.token_requests, series)


class OutageServe(ServeCase):
    engine_keys = "refresh_timeout = 2s\nfailure_cache = 60s\n"

    def test_twenty_requests_without_a_token_cost_one_request_series(self):
        self.server.control(reset=True, faults=[DOWN])
        self.start_serve()
        status, _, _ = fetch(self.base + GCP_TOKEN, GOOGLE)
        self.assertEqual(status, 503)
        series = self.server.token_requests
        self.assertGreaterEqual(series, 1)
        started = time.monotonic()
        for i in range(19):
            status, _, body = fetch(self.base + GCP_TOKEN, GOOGLE) if i % 2 else \
                fetch(self.databricks_url, DATABRICKS)
            self.assertEqual(status, 503, body)
        self.assertLess(time.monotonic() - started, 5, "answered at once, not after a retry series each")
        self.assertEqual(self.server.token_requests, series, "one request series for twenty requests")
        self.server.control(reset=True)

    def test_a_400_is_asked_again_on_every_request(self):
        self.server.control(reset=True, faults=[{"status": 400, "json": {"error": "invalid_client"}, "times": 10}])
        self.start_serve()
        self.wait_for_warm_up()  # refused too, and not remembered
        for n in range(2, 5):
            status, _, body = fetch(self.base + GCP_TOKEN, GOOGLE)
            self.assertNotEqual(status, 200, body)
            self.assertEqual(self.server.token_requests, n)
        self.server.control(reset=True)
        status, _, body = fetch(self.base + GCP_TOKEN, GOOGLE)
        self.assertEqual(status, 200, body)
        self.assertTrue(json.loads(body)["access_token"])


if __name__ == "__main__":
    unittest.main()


class RetriesSpread(TokCase):
    """Retries that spread (docs/fleet.md): twenty hosts (processes on separate caches) told
    `Retry-After: 2` at the same instant come back over [2 s, 4 s], not on one beat."""

    HOSTS = 20

    def one_round(self, env):
        """Each host's first request and its retry (server times), after a 429 with Retry-After: 2
        for the first request of every host."""
        self.server.control(reset=True, faults=[{"status": 429, "retry_after": 2,
                                                 "json": {"error": "slow_down"}, "times": self.HOSTS}])
        caches = tempfile.mkdtemp(prefix="hosts-", dir=self.home)  # every host's cache empty
        procs = []
        for n in range(self.HOSTS):
            args = ["get", "--provider", "oauth", "--token-url", self.server.token_url,
                    "--client-id", f"host-{n}", "--cache-dir", os.path.join(caches, str(n))]
            procs.append(subprocess.Popen([TOK, *args], env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL))
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
            self.assertTrue(out.strip())
        times = {}
        for r in self.server.state.stats()["requests"]:
            times.setdefault(r["client_id"], []).append((r["at"], r["status"]))
        self.assertEqual(len(times), self.HOSTS)
        pairs = []
        for client, seen in times.items():
            self.assertEqual([s for _, s in seen], [429, 200], f"{client}: one 429, then one retry")
            pairs.append((seen[0][0], seen[1][0]))
        firsts = [first for first, _ in pairs]
        # About the same instant; a loaded machine spreads the starts, which is why the spans
        # below are measured on each host's wait, from its own 429 to its retry.
        self.assertLess(max(firsts) - min(firsts), 5.0, "the first requests came at about the same instant")
        return pairs

    def test_twenty_hosts_told_retry_after_2_retry_over_at_least_1_5_s_none_before_2_s(self):
        # The span is a statistical property: 20 waits drawn from [2 s, 4 s] span less than 1.5 s
        # with probability 20 x 0.75^19 - 19 x 0.75^20 = 2.4 %. A second, independent round is run
        # only when the first falls short, so the test fails by chance about 1 time in 1700; the
        # exact policy (every wait 2 s) fails both rounds every time (see the test below).
        spans = []
        for _ in range(2):
            pairs = self.one_round(self.env)
            for first, retry in pairs:
                self.assertGreaterEqual(retry - first, 2.0, "a Retry-After is a floor: no retry before it")
                self.assertLess(retry - first, 4.0 + 1.0, "and the wait is at most 2R (plus slack)")
            waits = [retry - first for first, retry in pairs]
            spans.append(max(waits) - min(waits))
            if spans[-1] >= 1.5:
                break
        self.assertGreaterEqual(max(spans), 1.5, f"the retries spread over at least 1.5 s: {spans}")

    def test_the_bench_only_switch_brings_back_the_exact_retry_after(self):
        env = dict(self.env, TOK_BENCH_EXACT_RETRY_AFTER="1")
        pairs = self.one_round(env)
        waits = [retry - first for first, retry in pairs]
        for wait in waits:
            self.assertGreaterEqual(wait, 2.0)
            # (1.5 s: a sanitizer build under a loaded suite took 1.03 s once; the spread policy
            # waits up to 2R = 4 s, and the span below tells the two apart)
            self.assertLess(wait, 2.0 + 1.5, "exactly R, plus the time to answer")
        self.assertLess(max(waits) - min(waits), 0.5, "on one beat: what the spreading test must tell apart")

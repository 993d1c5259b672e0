"""tok get end to end: FRESH served from the cache, EXPIRED fetched, STALE answered at once and
refreshed once in the background, failures backed off, late results discarded."""
import json
import subprocess
import time
import unittest

from harness import TOK, TokCase


class FreshExpiredStale(TokCase):
    def test_first_get_fetches_and_second_is_served_from_cache(self):
        first = self.get()
        self.assertTrue(first.startswith("tok0001."))
        self.assertEqual(self.server.token_requests, 1)
        self.assertEqual(self.get(), first)
        self.assertEqual(self.server.token_requests, 1, "a fresh token must not contact the server")
        self.assertEqual(self.get_json()["state"], "fresh")

    def test_cache_files_are_private(self):
        import os, stat
        self.get()
        self.assertEqual(stat.S_IMODE(os.stat(self.cache).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.entry_path()).st_mode), 0o600)
        with open(self.entry_path()) as f:
            self.assertNotIn("s3cr", f.read(), "the secret must never be cached")

    def test_expired_token_is_fetched_blocking(self):
        old = self.get()
        self.edit_entry(expires_in=10)  # inside the 40 s expiry buffer: EXPIRED
        out = self.get_json()
        self.assertEqual(out["state"], "expired")
        self.assertNotEqual(out["access_token"], old)
        self.assertEqual(self.server.token_requests, 2)
        self.assertEqual(self.status()["generation"], 2)

    def test_stale_token_returned_at_once_and_refreshed_once_in_background(self):
        old = self.get()
        self.server.control(latency=2.0)
        self.edit_entry(stale_in=-1)
        started = time.monotonic()
        out = self.get_json()
        elapsed = time.monotonic() - started
        self.assertEqual(out["state"], "stale")
        self.assertEqual(out["access_token"], old)
        self.assertLess(elapsed, 1.5, "a stale get must not wait for the refresh")
        self.wait_until(lambda: self.status()["generation"] == 2, what="the background refresh to commit")
        new = self.get()
        self.assertNotEqual(new, old)
        self.assertEqual(self.server.token_requests, 2)
        self.assertEqual(self.get_json()["state"], "fresh")

    def test_command_substitution_does_not_wait_for_the_background_child(self):
        old = self.get()
        self.server.control(latency=3.0)
        self.edit_entry(stale_in=-1)
        started = time.monotonic()
        # Like x=$(tok get): the shell reads stdout until every writer closed it.
        proc = subprocess.run(["sh", "-c", 'x=$("$0" get "$@"); printf %s "$x"', TOK, *self.oauth_args()],
                              env=self.env, capture_output=True, text=True, timeout=30)
        elapsed = time.monotonic() - started
        self.assertEqual(proc.stdout, old)
        self.assertLess(elapsed, 2.0, "$(tok get) waited for the background refresher")
        self.wait_until(lambda: self.server.token_requests == 2, what="the background request")
        self.assertEqual(self.status()["generation"], 1, "the refresh is still running")

    def test_async_off_serves_stale_without_refreshing(self):
        old = self.get()
        self.edit_entry(stale_in=-1)
        self.assertEqual(self.get("--async-refresh", "false"), old)
        self.assertEqual(self.get("--no-async"), old)
        time.sleep(0.3)
        self.assertEqual(self.server.token_requests, 1)

    def test_force_refresh_and_min_valid(self):
        old = self.get()
        forced = self.get("--force-refresh")
        self.assertNotEqual(forced, old)
        self.assertEqual(self.server.token_requests, 2)
        # 3600 s token minus the 40 s buffer leaves < 2 h: --min-valid 2h forces a blocking fetch.
        self.assertEqual(self.get("--min-valid", "30m"), forced)
        self.assertNotEqual(self.get("--min-valid", "2h"), forced)
        self.assertEqual(self.server.token_requests, 3)

    def test_formats(self):
        token = self.get()
        self.assertEqual(self.get("--format", "header"), f"Authorization: Bearer {token}")
        out = self.get_json()
        self.assertEqual(set(out), {"json_version", "access_token", "token_type", "expires_at", "expires_in", "state", "profile"})
        self.assertRegex(out["expires_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(3500 < out["expires_in"] <= 3600)
        self.assertEqual(out["profile"], "default")

    def test_status_never_shows_the_token(self):
        token = self.get()
        proc = self.run_tok("status", *self.oauth_args())
        self.assertEqual(proc.returncode, 0)
        self.assertNotIn(token, proc.stdout + proc.stderr)
        self.assertIn("state:        fresh", proc.stdout)

    def test_refresh_and_clear(self):
        old = self.get()
        proc = self.run_tok("refresh", *self.oauth_args())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn(old, proc.stdout)
        new = self.get()
        self.assertNotEqual(new, old)
        proc = self.run_tok("clear", *self.oauth_args())
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(self.status()["state"], "missing")
        self.get()
        self.assertEqual(self.server.token_requests, 3)
        proc = self.run_tok("clear", "--all", "--cache-dir", self.cache)
        self.assertEqual(proc.returncode, 0)
        self.assertIn("removed 1 cache entry", proc.stdout)


class BackgroundFailures(TokCase):
    def test_failing_background_refresh_backs_off_and_recovers(self):
        backoff = ("--retry-backoff", "6s")
        old = self.get(*backoff)
        self.edit_entry(stale_in=-1)
        self.server.fault(status=503, body='{"error":"temporarily_unavailable"}', times=50)
        self.assertEqual(self.get(*backoff), old)
        self.wait_until(lambda: self.status()["last_error"] is not None, what="the failure to be recorded")
        st = self.status()
        self.assertIn("temporarily_unavailable", st["last_error"]["message"])
        cooldown_end = st["next_attempt"]
        self.assertIsNotNone(cooldown_end)
        self.assertEqual(self.server.token_requests, 2)  # the first fetch and one background try
        # During the cooldown the old token is served and nothing is requested.
        for _ in range(3):
            self.assertEqual(self.get(*backoff), old)
        time.sleep(0.3)
        self.assertEqual(self.server.token_requests, 2, "no second request before retry_backoff")
        self.assertEqual(self.status()["next_attempt"], cooldown_end, "still inside the cooldown")
        # After it, one new attempt (still failing), then recovery once the server heals.
        self.wait_until(lambda: self.status()["next_attempt"] is None, what="the cooldown to end")
        self.assertEqual(self.get(*backoff), old)
        self.wait_until(lambda: self.server.token_requests == 3, what="one retry after the cooldown")
        self.wait_until(lambda: self.status()["last_error"]["at"] != st["last_error"]["at"],
                        what="the second failure to be recorded")
        self.server.control(reset=True)  # heal: no more faults (and the counter restarts)
        self.wait_until(lambda: self.status()["next_attempt"] is None, what="the second cooldown to end")
        self.assertEqual(self.get(*backoff), old)
        self.wait_until(lambda: self.status()["generation"] == 2, what="recovery")
        self.assertNotEqual(self.get(*backoff), old)
        self.assertIsNone(self.status()["last_error"])
        self.assertEqual(self.server.token_requests, 1)

    def test_slow_background_refresh_overtaken_by_blocking_refresh_is_discarded(self):
        self.get()
        self.edit_entry(stale_in=-1)
        self.server.fault(delay=2.0)  # the background request is slow
        self.get()
        self.wait_until(lambda: self.server.token_requests == 1 + 1, what="the background request to arrive")
        forced = self.get("--force-refresh")
        self.assertEqual(self.status()["generation"], 2)
        time.sleep(2.5)  # the slow answer has arrived and been judged by now
        self.assertEqual(self.server.state.stats()["issued"], 3)
        self.assertEqual(self.get(), forced, "a late background result overwrote a newer token")
        self.assertEqual(self.status()["generation"], 2)

    def test_blocking_failure_leaves_the_entry_byte_for_byte(self):
        self.get()
        self.edit_entry(expires_in=5)
        with open(self.entry_path(), "rb") as f:
            before = f.read()
        self.server.fault(status=400, json={"error": "invalid_scope", "error_description": "no such scope"})
        proc = self.get(expect=3)
        self.assertIn("invalid_scope", proc.stderr)
        with open(self.entry_path(), "rb") as f:
            self.assertEqual(f.read(), before)


if __name__ == "__main__":
    unittest.main()

"""Single flight across processes: a herd on an expired entry makes one request; a herd on a
stale entry starts one background refresh."""
import subprocess
import time
import unittest

from harness import TOK, TokCase


class Herds(TokCase):
    def test_hundred_concurrent_gets_on_an_expired_entry_make_one_request(self):
        self.get()
        self.edit_entry(expires_in=-60)
        self.server.control(reset=True, latency=0.2)
        results = self.spawn_many(100)
        failures = [r for r in results if r[0] != 0]
        self.assertEqual(failures, [], "every caller must succeed")
        tokens = {r[1] for r in results}
        self.assertEqual(len(tokens), 1, f"all callers must print the same token, got {len(tokens)}")
        self.assertEqual(self.server.token_requests, 1)

    def test_hundred_concurrent_gets_with_no_entry_make_one_request(self):
        self.server.control(latency=0.2)
        results = self.spawn_many(100)
        self.assertEqual([r for r in results if r[0] != 0], [])
        self.assertEqual(len({r[1] for r in results}), 1)
        self.assertEqual(self.server.token_requests, 1)

    def test_fifty_concurrent_gets_on_a_stale_entry_start_one_background_refresh(self):
        old = self.get()
        self.edit_entry(stale_in=-1)
        # The refresh outlasts the herd even in a sanitizer build, so every caller sees STALE.
        self.server.control(reset=True, latency=4.0)
        results = self.spawn_many(50)
        self.assertEqual([r for r in results if r[0] != 0], [])
        self.assertEqual({r[1] for r in results}, {old}, "stale callers get the cached token at once")
        self.wait_until(lambda: self.status()["generation"] == 2, what="the background refresh")
        time.sleep(0.5)  # any second refresher would have reached the server by now
        self.assertEqual(self.server.token_requests, 1)

    def test_refresh_lock_wait_is_bounded_by_refresh_timeout(self):
        self.server.control(latency=4.0)
        first = subprocess.Popen([TOK, "get", *self.oauth_args()], env=self.env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        self.wait_until(lambda: self.server.token_requests == 1, what="the first fetch to start")
        started = time.monotonic()
        proc = self.get("--refresh-timeout", "1s", expect=4)
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertIn("timed out", proc.stderr)
        first.communicate(timeout=30)
        self.assertEqual(first.returncode, 0)


if __name__ == "__main__":
    unittest.main()

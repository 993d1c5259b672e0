"""tok write PATH: the profile's token, as tok get prints it, written atomically (a temporary file
beside it, fsync, rename) with mode 0600 unless --mode, into a directory that is the user's and
not writable by others. A reader polling the file never sees it empty or partial; a failed fetch
leaves the last good file as it was."""
import json
import os
import stat
import threading
import unittest

from harness import TokCase


class Write(TokCase):
    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.home, "out")
        os.mkdir(self.dir, 0o700)
        self.path = os.path.join(self.dir, "token")

    def write(self, *extra, path=None, expect=0):
        proc = self.run_tok("write", path or self.path, *self.oauth_args(*extra))
        self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        self.assertEqual(proc.stdout, "")
        return proc

    def content(self):
        with open(self.path) as f:
            return f.read()

    def mode(self):
        return stat.S_IMODE(os.stat(self.path).st_mode)

    def test_writes_what_tok_get_prints_with_mode_0600(self):
        old = os.umask(0)
        try:
            self.write()
        finally:
            os.umask(old)
        self.assertEqual(self.content(), self.get() + "\n")
        self.assertEqual(self.mode(), 0o600)
        self.assertEqual(self.server.token_requests, 1, "written from the shared cache")
        self.assertEqual(sorted(os.listdir(self.dir)), ["token"], "no temporary file left behind")

    def test_every_format_of_tok_get(self):
        self.write("--format", "json")
        doc = json.loads(self.content())
        self.assertEqual(doc["access_token"], self.get())
        self.assertIsNotNone(doc["expires_at"])
        self.write("--format", "header")
        self.assertEqual(self.content(), f"Authorization: Bearer {self.get()}\n")

    def test_mode_flag_and_refusals(self):
        self.write("--mode", "0640")
        self.assertEqual(self.mode(), 0o640)
        for bad in ("0666", "0622", "9", "rw", "0200"):
            proc = self.write("--mode", bad, expect=2)
            self.assertIn("--mode", proc.stderr)
        self.assertEqual(self.mode(), 0o640)

    def test_a_directory_others_may_write_is_refused(self):
        os.chmod(self.dir, 0o777)
        proc = self.write(expect=5)
        self.assertIn("group or others may write its directory", proc.stderr)
        self.assertEqual(os.listdir(self.dir), [])
        self.assertEqual(self.server.token_requests, 0, "refused before any token is asked for")

    def test_replaced_atomically_never_empty_or_partial(self):
        with open(self.path, "w") as f:
            f.write("old")
        os.chmod(self.path, 0o644)
        inode = os.stat(self.path).st_ino
        self.write()
        self.assertNotEqual(os.stat(self.path).st_ino, inode, "a new file renamed over the old one")
        self.assertEqual(self.mode(), 0o600)
        seen, stop = [], threading.Event()

        def reader():
            while not stop.is_set():
                with open(self.path) as f:
                    seen.append(f.read())
        t = threading.Thread(target=reader)
        t.start()
        try:
            for _ in range(15):
                self.write("--force-refresh")
        finally:
            stop.set()
            t.join()
        self.assertGreater(len(seen), 15)
        bad = [s for s in seen if not (s.startswith("tok") and s.endswith("\n") and len(s.split()) == 1)]
        self.assertEqual(bad, [], "a reader saw an empty or partial file")
        self.assertEqual(sorted(os.listdir(self.dir)), ["token"])

    def test_a_failed_fetch_keeps_the_last_good_file(self):
        self.write()
        good = self.content()
        self.server.control(faults=[{"status": 400, "json": {"error": "invalid_client"}, "times": 5}])
        proc = self.write("--force-refresh", expect=3)
        self.assertIn("invalid_client", proc.stderr)
        self.assertEqual(self.content(), good)
        self.assertEqual(sorted(os.listdir(self.dir)), ["token"])


if __name__ == "__main__":
    unittest.main()

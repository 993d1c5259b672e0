"""Inputs tok does not choose (issue 26, item 11), against the real binary: a FIFO where a cache
entry or lock belongs, a password in a configured URL, an empty profile name, a request to
`tok serve` with two Host headers or a NUL in one, a signal while a `provider = command` program
runs, and `tok clear` next to a login made with another config file."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import TOK, TokCase, process_state, write_program
from serve_harness import ServeCase

GCP_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"
PASSWORD = "pw-Zq81xS3cretInUrl"


class FifoInTheCache(TokCase):
    """A FIFO has no writer: opening it for reading would wait forever."""

    def run_bounded(self, *args):
        try:
            return self.run_tok(*args, timeout=20)
        except subprocess.TimeoutExpired:
            self.fail(f"tok {args[0]} still waiting on a FIFO after 20 s")

    def test_a_fifo_at_the_entry_path_is_refused_at_once(self):
        self.get()
        path = self.entry_path()
        os.unlink(path)
        os.mkfifo(path, 0o600)
        for command in ("get", "status"):
            with self.subTest(command=command):
                started = time.monotonic()
                proc = self.run_bounded(command, *self.profile_args())
                self.assertLess(time.monotonic() - started, 10)
                self.assertNotEqual(proc.returncode, 0, proc.stdout)
                self.assertIn(f"refusing to use {path}: it is not a regular file", proc.stderr)
        self.assertTrue(os.path.exists(path), "the FIFO is the user's to remove")

    def test_a_fifo_at_the_lock_path_is_refused_at_once(self):
        self.get()
        lock = self.entry_path()[:-len(".json")] + ".lock"
        if os.path.exists(lock):
            os.unlink(lock)
        os.mkfifo(lock, 0o600)
        for command in ("status", "refresh"):
            with self.subTest(command=command):
                proc = self.run_bounded(command, *self.profile_args())
                self.assertNotEqual(proc.returncode, 0, proc.stdout)
                self.assertIn(f"refusing to use {lock}: it is not a regular file", proc.stderr)

if __name__ == "__main__":
    unittest.main()

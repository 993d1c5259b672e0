"""The README's transcript is what tok prints today: scripts/transcript.py runs the story again
against a loopback token server and compares, blanking only times, durations, ports and tokens."""
import os
import subprocess
import sys
import unittest

from harness import TOK

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ReadmeTranscript(unittest.TestCase):
    def test_the_transcript_is_current(self):
        proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "transcript.py"), "--tok", TOK,
                               "--check", os.path.join(ROOT, "README.md")], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()

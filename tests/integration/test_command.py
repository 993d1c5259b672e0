"""provider = command end to end, with programs the tests write: JSON, a bare token, a failing
program (exit 3 with its stderr's first line), a hanging one (killed at command_timeout), argv
without a shell. Behind the engine: a cache hit and one background refresh."""
import json
import os
import time
import unittest

from harness import EngineChecks, TokCase, write_program

# Records each call and its argv, then does what the test put in ACTION.
PROGRAM = """# stand-in token command
printf '%s\\n' "$*" >> "DIR/calls"
printf '%s\\0' "$@" > "DIR/args"
n=$(wc -l < "DIR/calls" | tr -d ' ')
ACTION
"""


class Command(EngineChecks, TokCase):
    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.home, "bin")
        os.mkdir(self.bin)
        self.program("echo '{\"access_token\": \"cmd'$n'.json\", \"expires_in\": 600, \"token_type\": \"Bearer\"}'")

    def program(self, action):
        self.prog = write_program(self.bin, "get-token",
                                  PROGRAM.replace("DIR", self.bin).replace("ACTION", action))

    def profile_args(self, *extra, command=None):
        return ["--provider", "command", "--command", command or json.dumps([self.prog, "--for", "tests"]),
                "--cache-dir", self.cache, *extra]

    def calls(self):
        try:
            with open(os.path.join(self.bin, "calls")) as f:
                return len(f.readlines())
        except FileNotFoundError:
            return 0

    def args(self):
        with open(os.path.join(self.bin, "args")) as f:
            return f.read().split("\0")[:-1]

    def test_json_output(self):
        before = time.time()
        out = self.get_json()
        self.assertEqual(out["access_token"], "cmd1.json")
        self.assertTrue(590 <= out["expires_in"] <= 600)
        self.assertGreaterEqual(time.strptime(out["expires_at"], "%Y-%m-%dT%H:%M:%SZ"),
                                time.gmtime(before + 599))

    def test_a_bare_token_is_kept_without_expiry(self):
        self.program('printf "bare$n.token\\n"')
        out = self.get_json()
        self.assertEqual(out["access_token"], "bare1.token")
        self.assertIsNone(out["expires_at"])
        self.assertEqual(self.get(), "bare1.token")
        self.assertEqual(self.calls(), 1)

    def test_argv_reaches_the_program_without_a_shell(self):
        nasty = ["$HOME", "a b", "; touch pwned", "`id`", "*"]
        proc = self.run_tok("get", *self.profile_args(command=json.dumps([self.prog, *nasty])))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.args(), nasty)
        self.assertFalse(os.path.exists(os.path.join(self.home, "pwned")))
        # The string form splits like a shell, but expands nothing.
        self.run_tok("get", "--force-refresh", *self.profile_args(command=f"{self.prog} 'a b' \"\\$HOME\" ~"))
        self.assertEqual(self.args(), ["a b", "$HOME", "~"])

    def test_shell_syntax_is_a_configuration_error(self):
        proc = self.get(command=f"{self.prog} | tr a-z A-Z", expect=2)
        self.assertIn("key 'command'", proc.stderr)
        self.assertIn("no shell", proc.stderr)
        self.assertEqual(self.calls(), 0)

    def test_a_failing_program_is_exit_3_with_its_first_stderr_line(self):
        self.program('echo "vault: permission denied" >&2\necho "second line" >&2\nexit 2')
        proc = self.get(expect=3)
        self.assertIn("exit status 2: vault: permission denied", proc.stderr)
        self.assertNotIn("second line", proc.stderr)
        self.assertNotIn("--for", proc.stderr)  # arguments are never echoed
        self.assertEqual(self.status()["state"], "missing")

    def test_a_hanging_program_is_killed_at_command_timeout(self):
        self.program("sleep 60")
        started = time.monotonic()
        proc = self.get("--command-timeout", "1s", expect=4)
        self.assertLess(time.monotonic() - started, 6.0)
        self.assertIn("no answer within 1s; killed", proc.stderr)

    def test_output_that_is_no_token_is_exit_4_and_not_shown(self):
        self.program('echo "Bearer secret$n value"')
        proc = self.get(expect=4)
        self.assertIn("malformed response", proc.stderr)
        self.assertNotIn("secret1", proc.stderr)

    def test_a_missing_program_is_exit_4(self):
        proc = self.get(command=json.dumps([os.path.join(self.bin, "nope")]), expect=4)
        self.assertIn("not found", proc.stderr)

    def get(self, *extra, expect=0, command=None, **kw):
        proc = self.run_tok("get", *self.profile_args(*extra, command=command), **kw)
        self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        return proc.stdout.strip() if expect == 0 else proc


if __name__ == "__main__":
    unittest.main()

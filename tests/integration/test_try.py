"""make try (scripts/try.py): the token server and oidc-provider on loopback reach "ready" within a
minute, the three commands it prints work as printed in another shell (a token, a device login
its own approver completes, a status of both profiles), and SIGINT leaves no process of its
process group behind and no temporary directory. Runs the script itself, not make, so nothing is
built (tests/integration/test_install.py checks what `make try` adds: the installs, the build)."""
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, TOK, require_program, tok_env

BUILD = os.environ.get("TOK_BUILD_DIR") or os.path.dirname(os.path.abspath(TOK or "."))
READY_WITHIN = 60


def group_members(pgid):
    """Pids of the processes (zombies aside) whose process group is `pgid`."""
    members = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(pid))
    return members


class Try(unittest.TestCase):
    def setUp(self):
        if not TOK or not os.access(TOK, os.X_OK):
            raise AssertionError("TOK_BIN must point at the tok binary under test")
        require_program("node")
        self.home = tempfile.mkdtemp(prefix="tok-it-try-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.proc = subprocess.Popen([os.path.join(ROOT, "scripts", "try.py"), BUILD], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.addCleanup(self.kill_group)
        self.output = b""

    def kill_group(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()

    def read_until(self, pattern, timeout):
        """The script's output so far once it matches `pattern` (bytes regex), or a failure."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while not re.search(pattern, self.output, re.M):
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"scripts/try.py did not print {pattern!r} in {timeout}s: {self.output.decode()}")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.fail(f"scripts/try.py exited ({self.proc.wait()}): {self.output.decode()}")
                self.output += chunk
        return self.output.decode()

    def run_printed(self, export, command):
        """A printed command as a user pastes it into another shell: after the printed export."""
        env = tok_env(self.home)
        del env["TOK_CLIENT_SECRET"]
        return subprocess.run([require_program("bash"), "-c", f"{export}\n{command}"], env=env, cwd=self.home,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)

    def test_ready_then_the_three_commands_then_ctrl_c_leaves_nothing(self):
        started = time.monotonic()
        text = self.read_until(rb"^ready\b", READY_WITHIN)
        self.assertLess(time.monotonic() - started, READY_WITHIN)
        workdir = re.search(r"everything on loopback, in (\S+)", text).group(1)
        shown = text.split("In another shell:", 1)[1].split("\nready", 1)[0]
        lines = [line.strip() for line in shown.splitlines() if line.strip()]
        self.assertEqual(len(lines), 4, lines)
        export, commands = lines[0], lines[1:]
        self.assertTrue(export.startswith("export TOK_CONFIG="), export)
        self.assertEqual([c.split("#")[0].split() for c in commands],
                         [["tok", "get", "-p", "service"], ["tok", "login", "-p", "me"], ["tok", "status", "--all"]])

        get = self.run_printed(export, commands[0])
        self.assertEqual(get.returncode, 0, get.stderr)
        self.assertRegex(get.stdout, r"^tok\d{4}\.[0-9a-f]{24}\n$")

        login = self.run_printed(export, commands[1])
        self.assertEqual(login.returncode, 0, login.stderr)
        self.assertIn("logged in as demo", login.stderr)
        code = re.search(r"enter the code (\S+)", login.stderr).group(1)
        self.read_until(rb"approved the device login with code " + re.escape(code.encode()), 10)

        status = self.run_printed(export, commands[2])
        self.assertEqual(status.returncode, 0, status.stderr)
        for profile in ("service", "me"):
            self.assertRegex(status.stdout, rf"(?m)^\W*{profile}\s+oauth\s+fresh\s+in ")
        self.assertNotIn(get.stdout.strip(), status.stdout + status.stderr, "status never shows the token")

        # SIGINT to the script alone (a terminal's Ctrl-C reaches the whole group, which is easier):
        # it stops what it started, and nothing of its group outlives it.
        pgid = self.proc.pid
        self.assertGreater(len(group_members(pgid)), 1, "oidc-provider runs in the script's group")
        self.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.proc.wait(timeout=15), 0, self.read_rest())
        self.assertEqual(group_members(pgid), [], "a process of make try's group outlived it")
        self.assertFalse(os.path.exists(workdir), "the throw-away directory is removed")

    def read_rest(self):
        rest = self.proc.stdout.read()
        return (self.output + rest).decode()


if __name__ == "__main__":
    unittest.main()

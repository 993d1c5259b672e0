"""Shared pieces of the integration tests: run the real tok binary in an isolated home against
the loopback token server, and read or edit its cache entries."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from token_server import TokenServer

TOK = os.environ.get("TOK_BIN") or ""
SECRET = 's3cr:t+/=&?% "quoted" ~secret'


def tok_env(home, **extra):
    """A clean environment: nothing of the caller's tok or XDG settings leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOK_", "XDG_"))}
    env.update({"HOME": home, "TOK_CLIENT_SECRET": SECRET, "LC_ALL": "C"})
    env.update(extra)
    return env


class TokCase(unittest.TestCase):
    """Each test: its own home, cache directory and token server."""

    lifetime = 3600
    latency = 0.0

    def setUp(self):
        if not TOK or not os.access(TOK, os.X_OK):
            raise AssertionError("TOK_BIN must point at the tok binary under test")
        self.home = tempfile.mkdtemp(prefix="tok-it-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.cache = os.path.join(self.home, "cache")
        self.server = TokenServer(lifetime=self.lifetime, latency=self.latency).start()
        self.addCleanup(self.server.stop)
        self.env = tok_env(self.home)

    # -- running tok --------------------------------------------------------------------------

    def oauth_args(self, *extra):
        return ["--provider", "oauth", "--token-url", self.server.token_url, "--client-id", "ci",
                "--cache-dir", self.cache, *extra]

    def profile_args(self, *extra):
        """The flags that select this test's profile; provider tests override it."""
        return self.oauth_args(*extra)

    def run_tok(self, *args, env=None, timeout=60, check_secret=True):
        proc = subprocess.run([TOK, *args], env=env or self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if check_secret:
            for stream in (proc.stdout, proc.stderr):
                self.assertNotIn(SECRET, stream, "the client secret leaked into tok's output")
        return proc

    def get(self, *extra, expect=0, **kw):
        proc = self.run_tok("get", *self.profile_args(*extra), **kw)
        self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        return proc.stdout.strip() if expect == 0 else proc

    def spawn_many(self, n, *extra, env=None, spawned=None):
        """n concurrent `tok get`: [(exit code, stdout stripped, stderr)] in start order.
        `spawned` is called once all n are started."""
        procs = [subprocess.Popen([TOK, "get", *self.oauth_args(*extra)], env=env or self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) for _ in range(n)]
        if spawned:
            spawned()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            results.append((p.returncode, out.strip(), err))
        return results

    def get_json(self, *extra):
        return json.loads(self.get("--format", "json", *extra))

    def status(self, *extra):
        proc = self.run_tok("status", "--format", "json", *self.profile_args(*extra))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    # -- the cache entry ----------------------------------------------------------------------

    def entry_path(self, *extra):
        return self.status(*extra)["cache_file"]

    def read_entry(self, *extra):
        with open(self.entry_path(*extra)) as f:
            return json.load(f)

    def write_entry(self, entry, *extra):
        path = self.entry_path(*extra)
        tmp = path + ".test"
        with open(tmp, "w") as f:
            json.dump(entry, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def edit_entry(self, *extra, expires_in=None, stale_in=None):
        """Moves the cached token's expiry and stale_after relative to now (seconds)."""
        entry = self.read_entry(*extra)
        now_ms = int(time.time() * 1000)
        if expires_in is not None:
            entry["token"]["expiry_ms"] = now_ms + int(expires_in * 1000)
        if stale_in is not None:
            entry["stale_after_ms"] = now_ms + int(stale_in * 1000)
        self.write_entry(entry, *extra)
        return entry

    def wait_until(self, predicate, timeout=15, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        self.fail(f"timed out waiting for {what}")


def detached_refreshers(cache_dir, cmdlines=False):
    """The detached background refreshers of a test: tok processes in a session of their own
    whose arguments name its cache directory. Their pids, or (pid, NUL-joined argv) pairs."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            if cache_dir.encode() in args and os.getsid(int(pid)) != os.getsid(0):
                found.append((int(pid), b"\0".join(args)) if cmdlines else int(pid))
        except (OSError, ProcessLookupError):
            pass
    return found


def write_program(directory, name, body, shebang="#!/bin/sh"):
    """A stand-in program (az, a token command) that a test writes and tok runs."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(shebang + "\n" + body)
    os.chmod(path, 0o755)
    return path


def set_child_subreaper(on=True):
    """Orphaned descendants come to this process (PR_SET_CHILD_SUBREAPER), so a test can see
    whether tok left a zombie behind: one it did not reap would stay here, visible in /proc."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1 if on else 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def process_state(pid):
    """'R', 'S', 'Z'... from /proc/PID/stat, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    return stat[stat.rindex(")") + 2]


class EngineChecks:
    """Mixed into a provider's TokCase: the provider behind the engine and its cache. The case
    defines profile_args() and calls(): how many times the provider's source was asked."""

    def test_a_second_get_is_a_cache_hit(self):
        first = self.get()
        self.assertEqual(self.calls(), 1)
        self.assertEqual(self.get(), first)
        self.assertEqual(self.calls(), 1, "a fresh token must not ask the source again")
        self.assertEqual(self.get_json()["state"], "fresh")

    def test_a_stale_entry_is_refreshed_in_the_background_once(self):
        old = self.get()
        self.edit_entry(stale_in=-1)
        out = self.get_json()
        self.assertEqual(out["state"], "stale")
        self.assertEqual(out["access_token"], old)
        self.wait_until(lambda: self.status()["generation"] == 2, what="the background refresh to commit")
        time.sleep(0.3)
        self.assertEqual(self.calls(), 2, "one background refresh, one call")
        new = self.get()
        self.assertNotEqual(new, old)
        self.assertEqual(self.calls(), 2)


# -- integrations: programs the tests drive, the README's setup lines ------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")


def require_program(name):
    """The path of a program a test needs; a missing one fails the test (never a skip)."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not installed: scripts/install-deps.sh installs it (or says how)")
    return path


def readme_block(title):
    """The body of the README's fenced code block whose first line is `# <title>` (or, for JSON
    and YAML blocks without comments, whose info string is followed by that title in a comment
    line just above the fence)."""
    with open(README) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("```"):
            continue
        body = []
        for rest in lines[i + 1:]:
            if rest.startswith("```"):
                break
            body.append(rest)
        if body and body[0].strip() == f"# {title}":
            return "\n".join(body[1:]) + "\n"
        if i > 0 and lines[i - 1].strip() == f"<!-- {title} -->":
            return "\n".join(body) + "\n"
    raise AssertionError(f"README.md has no code block titled {title!r}")


def path_with_tok(env):
    """`env` with the directory of the tok under test first on PATH, as an installed tok would be
    (it also holds the docker-credential-tok link)."""
    env = dict(env)
    env["PATH"] = os.path.dirname(os.path.abspath(TOK)) + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    return env

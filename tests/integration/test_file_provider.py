"""provider = file end to end: a token file laid out as the kubelet lays out a projected service
account token (`token` -> `..data/token`, `..data` -> a timestamped directory swapped atomically),
read through the engine by tok get, tok exec, the git helper and tok serve. After the swap the next
call has the new token; a JWT's exp is the expiry; hostile files are clear errors in bounded time."""
import base64
import calendar
import json
import os
import subprocess
import time
import unittest
import urllib.request

from harness import TOK, TokCase
from serve_harness import ServeCase

BOUNDED = 5  # seconds: every hostile file is refused well within this


def jwt(exp=None, sub="system:serviceaccount:ci:deployer"):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    claims = {"sub": sub, "aud": ["api"]}
    if exp is not None:
        claims["exp"] = exp
    return f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.c2lnbmF0dXJl"


class Kubelet:
    """A projected-volume directory as the kubelet's AtomicWriter keeps it."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root)
        self.serial = 0
        self.current = None

    @property
    def token_path(self):
        return os.path.join(self.root, "token")

    def write(self, content):
        """A new timestamped directory, `..data` swapped to it by rename, the old one removed."""
        self.serial += 1
        stamp = f"..2026_12_07_10_00_{self.serial:02d}.{self.serial:09d}"
        os.mkdir(os.path.join(self.root, stamp))
        with open(os.path.join(self.root, stamp, "token"), "w") as f:
            f.write(content)
        tmp = os.path.join(self.root, "..data_tmp")
        os.symlink(stamp, tmp)
        os.replace(tmp, os.path.join(self.root, "..data"))
        if not os.path.lexists(self.token_path):
            os.symlink("..data/token", self.token_path)
        if self.current:
            old = os.path.join(self.root, self.current)
            os.unlink(os.path.join(old, "token"))
            os.rmdir(old)
        self.current = stamp


class FileProvider(TokCase):
    def setUp(self):
        super().setUp()
        self.kubelet = Kubelet(os.path.join(self.home, "serviceaccount"))
        self.path = self.kubelet.token_path

    def profile_args(self, *extra, path=None):
        return ["--provider", "file", "--token-file", path or self.path, "--cache-dir", self.cache, *extra]

    def get_from(self, path):
        proc = self.run_tok("get", *self.profile_args(path=path))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def generation(self):
        return self.status()["generation"]

    def test_after_the_kubelets_swap_the_next_get_has_the_new_token(self):
        first, second = jwt(int(time.time()) + 3600, "one"), jwt(int(time.time()) + 3700, "two")
        self.kubelet.write(first + "\n")
        self.assertEqual(self.get(), first)
        self.assertEqual(self.get(), first)
        self.assertEqual(self.generation(), 1, "an unchanged file is a cache hit")
        self.kubelet.write(second + "\n")
        self.assertEqual(self.get(), second, "the swapped file must be read at the next get")
        self.assertEqual(self.generation(), 2)
        self.assertEqual(self.get(), second)
        self.assertEqual(self.generation(), 2)

    def test_a_file_rewritten_in_place_is_read_again(self):
        with open(os.path.join(self.home, "plain"), "w") as f:
            f.write("opaque-token-1")
        path = os.path.join(self.home, "plain")
        self.assertEqual(self.get_from(path), "opaque-token-1")
        with open(path, "w") as f:
            f.write("opaque-token-22")  # same inode, other size and mtime
        self.assertEqual(self.get_from(path), "opaque-token-22")

    def test_a_jwts_exp_is_the_expiry(self):
        exp = int(time.time()) + 1234
        self.kubelet.write(jwt(exp))
        out = self.get_json()
        self.assertEqual(out["expires_at"], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp)))
        self.assertEqual(calendar.timegm(time.strptime(out["expires_at"], "%Y-%m-%dT%H:%M:%SZ")), exp)

    def test_a_bare_token_lives_default_lifetime_or_while_the_file_is_unchanged(self):
        self.kubelet.write("opaque.bearer-token\n")
        out = self.get_json()
        self.assertEqual(out["access_token"], "opaque.bearer-token")
        self.assertIsNone(out["expires_at"])
        out = json.loads(self.get("--format", "json", "--default-lifetime", "10m", "--force-refresh"))
        self.assertTrue(590 <= out["expires_in"] <= 600, out)

    def test_an_expired_jwt_is_refused(self):
        self.kubelet.write(jwt(int(time.time()) - 60))
        proc = self.get(expect=4, timeout=BOUNDED)
        self.assertIn("has expired", proc.stderr)

    def hostile(self, path, expect, *words):
        start = time.monotonic()
        proc = self.run_tok("get", *self.profile_args(path=path), timeout=BOUNDED)
        self.assertLess(time.monotonic() - start, BOUNDED)
        self.assertEqual(proc.returncode, expect, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("token_file", proc.stderr)
        for word in words:
            self.assertIn(word, proc.stderr)
        self.assertEqual(len(proc.stderr.strip().splitlines()) <= 2, True, proc.stderr)
        return proc

    def test_hostile_files_are_clear_errors_in_bounded_time(self):
        d = self.home
        empty = os.path.join(d, "empty")
        open(empty, "w").close()
        self.hostile(empty, 4, "is empty")
        blank = os.path.join(d, "blank")
        with open(blank, "w") as f:
            f.write("\n \n")
        self.hostile(blank, 4, "is empty")
        big = os.path.join(d, "big")
        with open(big, "wb") as f:
            f.write(b"a" * (10 * 1024 * 1024))
        self.hostile(big, 2, "larger than 64 KiB")
        nul = os.path.join(d, "nul")
        with open(nul, "wb") as f:
            f.write(b"secret-part\x00more")
        proc = self.hostile(nul, 4, "non-printable", "0x00")
        self.assertNotIn("secret-part", proc.stderr)
        ctl = os.path.join(d, "escape")
        with open(ctl, "wb") as f:
            f.write(b"tok\x1b[2Jen")
        self.hostile(ctl, 4, "non-printable", "0x1b")
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        self.hostile(fifo, 2, "not a regular file")
        zero = os.path.join(d, "zero")
        os.symlink("/dev/zero", zero)
        self.hostile(zero, 2, "not a regular file")
        self.hostile(os.path.join(d, "missing"), 2, "No such file")
        words = os.path.join(d, "words")
        with open(words, "w") as f:
            f.write("two words\n")
        self.hostile(words, 4, "not a token")

    def test_a_token_file_that_disappears_is_an_error_not_the_old_token(self):
        path = os.path.join(self.home, "plain")
        with open(path, "w") as f:
            f.write("opaque-token-1")
        self.assertEqual(self.get_from(path), "opaque-token-1")
        os.unlink(path)
        self.hostile(path, 2, "No such file")

    def test_tok_exec_hands_the_current_token(self):
        for who in ("exec-one", "exec-two"):
            token = jwt(int(time.time()) + 3600, who)
            self.kubelet.write(token)
            proc = self.run_tok("exec", *self.profile_args(), "--", "sh", "-c", 'printf %s "$TOK_TOKEN"')
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stdout, token)

    def test_the_git_helper_answers_with_the_current_token(self):
        config = os.path.join(self.home, "config")
        with open(config, "w") as f:
            f.write(f"[k8s]\nprovider = file\ntoken_file = {self.path}\ngit_hosts = git.example.com\n")
        env = dict(self.env, TOK_CONFIG=config, TOK_CACHE_DIR=self.cache)
        request = b"protocol=https\nhost=git.example.com\n\n"
        for content in ("helper-token-1", "helper-token-2"):
            self.kubelet.write(content)
            proc = subprocess.run([TOK, "git-credential", "get"], input=request, env=env, capture_output=True,
                                  timeout=30)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn(f"password={content}\n".encode(), proc.stdout)


class ServedFromAFile(ServeCase):
    def setUp(self):
        super().setUp()
        self.kubelet = Kubelet(os.path.join(self.home, "serviceaccount"))
        with open(self.config, "w") as f:
            f.write(f"[ws]\nprovider = file\ntoken_file = {self.kubelet.token_path}\n")

    def test_serve_hands_out_the_swapped_token(self):
        one = jwt(int(time.time()) + 3600, "served-one")
        self.kubelet.write(one)
        self.start_serve(protocols=("--gcp", "ws"))
        url = self.base + "/computeMetadata/v1/instance/service-accounts/default/token"

        def token():
            req = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())["access_token"]
        self.assertEqual(token(), one)
        two = jwt(int(time.time()) + 3700, "served-two")
        self.kubelet.write(two)
        self.assertEqual(token(), two, "the swapped file must be served at the next request")
        self.assertEqual(token(), two)


if __name__ == "__main__":
    unittest.main()

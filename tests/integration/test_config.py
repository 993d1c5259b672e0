"""Profiles and their errors: the config file, flags over it, exit codes and messages that name the
file, the profile and the key; unsafe cache directories refused."""
import os
import time
import textwrap
import unittest

from harness import TokCase


class Config(TokCase):
    def write_config(self, text):
        path = os.path.join(self.home, "config")
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        self.env["TOK_CONFIG"] = path
        return path

    def profile(self, name="work", **extra):
        lines = [f"[{name}]", "provider = oauth", f"token_url = {self.server.token_url}   ; inline comment",
                 "client_id = ci"]
        lines += [f"{k} = {v}" for k, v in extra.items()]
        return "\n".join(lines) + "\n"

    def tok(self, *args):
        return self.run_tok(*args, "--cache-dir", self.cache)

    def test_profile_from_file_with_global_flags_before_or_after_the_command(self):
        self.write_config(self.profile())
        a = self.tok("-p", "work", "get")
        b = self.tok("get", "-p", "work")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)
        self.assertEqual(self.server.token_requests, 1)

    def test_tok_profile_environment_variable_and_default(self):
        self.write_config(self.profile("default") + self.profile("other"))
        self.env["TOK_PROFILE"] = "other"
        out = self.tok("get", "--format", "json")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('"profile":"other"', out.stdout)

    def test_flags_override_the_file_and_change_the_cache_key(self):
        self.write_config(self.profile(scopes="a"))
        first = self.tok("get", "-p", "work").stdout
        second = self.tok("get", "-p", "work", "--scopes", "b").stdout
        self.assertNotEqual(first, second, "a different scope must not return the old token")
        self.assertEqual(self.server.state.stats()["requests"][-1]["scope"], "b")
        # An engine key is not part of the cache key.
        self.assertEqual(self.tok("get", "-p", "work", "--retry-backoff", "5m").stdout, first)

    def test_unknown_profile(self):
        path = self.write_config(self.profile())
        proc = self.tok("get", "-p", "nope")
        self.assertEqual(proc.returncode, 2)
        self.assertIn(path, proc.stderr)
        self.assertIn("no profile 'nope'", proc.stderr)

    def test_unknown_key_names_file_line_and_key(self):
        path = self.write_config(self.profile(colour="blue"))
        proc = self.tok("get", "-p", "work")
        self.assertEqual(proc.returncode, 2)
        self.assertIn(f"config {path} line 5", proc.stderr)
        self.assertIn("key 'colour'", proc.stderr)
        self.assertTrue(proc.stderr.startswith("tok: work: "), proc.stderr)

    def test_bad_duration(self):
        self.write_config(self.profile(retry_backoff="5 minutes"))
        proc = self.tok("get", "-p", "work")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("key 'retry_backoff'", proc.stderr)
        self.assertIn("not a duration", proc.stderr)
        proc = self.tok("get", "-p", "work", "--retry-backoff", "1m", "--min-valid", "soon")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--min-valid", proc.stderr)

    def test_unknown_provider_and_missing_key_and_bad_url(self):
        self.write_config("[a]\nprovider = carrier-pigeon\n[b]\nprovider = oauth\ntoken_url = https://x.example/t\n"
                          "[c]\nprovider = oauth\nclient_id = x\ntoken_url = http://example.com/token\n")
        proc = self.tok("get", "-p", "a")
        self.assertEqual((proc.returncode, "unknown provider 'carrier-pigeon'" in proc.stderr), (2, True), proc.stderr)
        proc = self.tok("get", "-p", "b")
        self.assertEqual((proc.returncode, "key 'client_id'" in proc.stderr), (2, True), proc.stderr)
        proc = self.tok("get", "-p", "c")
        self.assertEqual((proc.returncode, "key 'token_url'" in proc.stderr), (2, True), proc.stderr)
        self.assertIn("plain http", proc.stderr)

    def test_syntax_error_names_the_line(self):
        path = self.write_config("[work]\nprovider oauth\n")
        proc = self.tok("get", "-p", "work")
        self.assertEqual(proc.returncode, 2)
        self.assertIn(f"config {path} line 2", proc.stderr)

    def test_no_config_and_no_provider(self):
        proc = self.tok("get")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no config file", proc.stderr)

    def test_profiles_lists_names_and_providers_only(self):
        self.write_config(self.profile("default") + self.profile("work", client_secret_env="WORK_SECRET"))
        proc = self.tok("profiles")
        self.assertEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout, r"\* default\s+oauth")
        self.assertRegex(proc.stdout, r"  work\s+oauth")
        self.assertNotIn("WORK_SECRET", proc.stdout)

    def test_missing_secret_is_a_config_error(self):
        self.write_config(self.profile(client_secret_env="NOT_SET_ANYWHERE"))
        proc = self.tok("get", "-p", "work")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("$NOT_SET_ANYWHERE", proc.stderr)

    def test_secret_file_must_be_private(self):
        secret_file = os.path.join(self.home, "secret")
        with open(secret_file, "w") as f:
            f.write("from-a-file\n")
        self.write_config(self.profile(client_secret_file=secret_file))
        for mode in (0o644, 0o640, 0o660, 0o604, 0o610):
            with self.subTest(mode=oct(mode)):
                os.chmod(secret_file, mode)
                proc = self.tok("get", "-p", "work")
                self.assertEqual(proc.returncode, 2)
                self.assertIn("group or others may access it", proc.stderr)
        os.chmod(secret_file, 0o600)
        proc = self.tok("get", "-p", "work")
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_secret_file_of_another_owner_a_fifo_or_a_huge_file_is_refused(self):
        secret_file = os.path.join(self.home, "secret")
        self.write_config(self.profile(client_secret_file=secret_file))
        with open(secret_file, "w") as f:
            f.write("x" * 70000)
        os.chmod(secret_file, 0o600)
        proc = self.tok("get", "-p", "work")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("larger than 64 KiB", proc.stderr)
        with open(secret_file, "w") as f:
            f.write("from-a-file\n")
        if os.geteuid() == 0:  # root can hand the file to another user; others cannot, and need not
            os.chown(secret_file, 65534, 65534)
            proc = self.tok("get", "-p", "work")
            self.assertEqual(proc.returncode, 2)
            self.assertIn("owned by uid 65534", proc.stderr)
        os.unlink(secret_file)
        os.mkfifo(secret_file, 0o600)
        started = time.monotonic()
        proc = self.tok("get", "-p", "work", "--refresh-timeout", "2s")
        self.assertLess(time.monotonic() - started, 1.5, "a FIFO as the secret file must not hang")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("not a regular file", proc.stderr)


class SharedNames(TokCase):
    """Profiles whose names differ only in what an older cache key dropped ('@' for '_', a leading
    '.') have an entry each: the name is part of the entry's identity."""

    def test_ci_at_prod_and_ci_underscore_prod_have_an_entry_each(self):
        config = os.path.join(self.home, "config")
        with open(config, "w") as f:
            for name in ("ci@prod", "ci_prod", ".hidden", "_hidden"):
                f.write(f"[{name}]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n")
        self.env.update({"TOK_CONFIG": config, "TOK_CACHE_DIR": self.cache})
        for a, b in (("ci@prod", "ci_prod"), (".hidden", "_hidden")):
            with self.subTest(a=a, b=b):
                first = self.run_tok("get", "-p", a)
                second = self.run_tok("get", "-p", b)
                self.assertEqual((first.returncode, second.returncode), (0, 0), first.stderr + second.stderr)
                self.assertNotEqual(first.stdout, second.stdout, f"{b} was given {a}'s token")
                # Clearing one leaves the other's token in place.
                cleared = self.run_tok("clear", "-p", b)
                self.assertEqual(cleared.returncode, 0, cleared.stderr)
                requests = self.server.token_requests
                again = self.run_tok("get", "-p", a)
                self.assertEqual(again.stdout, first.stdout, f"clear -p {b} removed {a}'s token")
                self.assertEqual(self.server.token_requests, requests)
        # The names are kept as they are ('.' at the start written %2E: no hidden file).
        names = sorted(n for n in os.listdir(self.cache) if n.endswith(".json"))
        self.assertEqual([n.rsplit("-", 1)[0] for n in names], ["%2Ehidden", "ci@prod"])


class ProfileNames(TokCase):
    def test_a_profile_name_outside_the_safe_set_is_an_error_saying_so(self):
        config = os.path.join(self.home, "config")
        with open(config, "w") as f:
            f.write(f"[ok]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = x\n")
        self.env.update({"TOK_CONFIG": config, "TOK_CACHE_DIR": self.cache})
        for env_profile in ("bad\nprofile", "tok: forged", "$(id)"):
            with self.subTest(profile=env_profile):
                proc = self.run_tok("get", env={**self.env, "TOK_PROFILE": env_profile})
                self.assertEqual(proc.returncode, 2)
                self.assertEqual(len(proc.stderr.splitlines()), 2, proc.stderr)  # the error and its hint
                self.assertIn("$TOK_PROFILE", proc.stderr)
                self.assertIn("letters, digits", proc.stderr)
                self.assertNotIn("\nprofile", proc.stderr)
        proc = self.run_tok("get", "-p", "a b")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("-p 'a b' is not a profile name", proc.stderr)
        with open(config, "a") as f:
            f.write("[team/prod]\nprovider = oauth\n")
        proc = self.run_tok("get", "-p", "ok")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("line 5: profile name 'team/prod'", proc.stderr)


    def test_a_config_path_with_a_line_break_is_shown_on_one_line(self):
        path = os.path.join(self.home, "con\ntok: forged")
        with open(path, "w") as f:
            f.write("[ok]\nprovider = oauth\nnot a line\n")
        for env in ({"TOK_CONFIG": path}, {"TOK_CONFIG": path + "-missing"}):
            proc = self.run_tok("get", "-p", "ok", env={**self.env, **env})
            self.assertEqual(proc.returncode, 2)
            self.assertFalse(any(line.startswith("tok: forged") for line in proc.stderr.splitlines()), proc.stderr)


class UnsafeCache(TokCase):
    def test_group_writable_cache_directory_is_refused(self):
        self.get()
        os.chmod(self.cache, 0o777)
        proc = self.get(expect=5)
        self.assertIn(self.cache, proc.stderr)
        self.assertIn("writable by group or others", proc.stderr)

    def test_symlinked_cache_directory_is_refused(self):
        real = os.path.join(self.home, "real")
        os.mkdir(real, 0o700)
        os.symlink(real, self.cache)
        proc = self.get(expect=5)
        self.assertIn("symlink", proc.stderr)

    def test_symlinked_entry_is_refused(self):
        self.get()
        path = self.entry_path()
        os.replace(path, path + ".real")
        os.symlink(path + ".real", path)
        proc = self.get(expect=5)
        self.assertIn("symlink", proc.stderr)

    def test_other_writable_entry_is_refused(self):
        self.get()
        os.chmod(self.entry_path(), 0o666)
        self.get(expect=5)

    def test_an_entry_others_can_read_is_refused_like_another_users(self):
        token = self.get()
        entry = self.entry_path()  # asked of `tok status` while it can still read the entry
        for mode in (0o644, 0o640, 0o604, 0o620):
            with self.subTest(mode=oct(mode)):
                os.chmod(entry, mode)
                proc = self.get(expect=5)
                self.assertEqual(proc.stdout, "")
                self.assertIn(f"refusing to use {entry}", proc.stderr)
                self.assertIn("by group or others", proc.stderr)
                self.assertIn("600 for files", proc.stderr)  # how to fix it
                self.assertNotIn(token, proc.stderr)
        os.chmod(entry, 0o600)
        self.assertEqual(self.get(), token)
        self.assertEqual(self.server.token_requests, 1)

    def test_unwritable_cache_still_prints_the_token_with_a_warning(self):
        # Root ignores permission bits, so make the cache impossible to create: its parent is a file.
        blocker = os.path.join(self.home, "not-a-directory")
        open(blocker, "w").close()
        proc = self.run_tok("get", "--provider", "oauth", "--token-url", self.server.token_url, "--client-id", "ci",
                            "--cache-dir", os.path.join(blocker, "cache"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.strip().startswith("tok0001."))
        self.assertIn("warning: cannot create cache directory", proc.stderr)

    def test_damaged_entry_is_refetched_with_a_warning(self):
        first = self.get()
        with open(self.entry_path(), "w") as f:
            f.write('{"schema": 1, "tok')
        proc = self.run_tok("get", *self.oauth_args())
        self.assertEqual(proc.returncode, 0)
        self.assertNotEqual(proc.stdout.strip(), first)
        self.assertIn("damaged cache entry", proc.stderr)
        self.assertEqual(proc.stderr.count("damaged cache entry"), 1, "each warning once: " + proc.stderr)
        self.assertEqual(self.get(), proc.stdout.strip())


if __name__ == "__main__":
    unittest.main()

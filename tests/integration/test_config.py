"""Profiles and their errors: the config file, flags over it, exit codes and messages that name the
file, the profile and the key; unsafe cache directories refused."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import textwrap
import unittest

from harness import TOK, TokCase, tok_env


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

    def test_a_value_is_one_line_from_a_flag_or_the_file(self):
        # The helpers hand values on in line protocols (git's answer, GCP's metadata lists): a
        # line break or a NUL in any value is an error naming the key, and the value is not shown
        # (a command's arguments may hold a secret).
        self.write_config(self.profile())
        for flag, key in (("--git-username", "git_username"), ("--gcp-service-account", "gcp_service_account"),
                          ("--scopes", "scopes"), ("--client-id", "client_id")):
            with self.subTest(flag=flag):
                proc = self.tok("get", "-p", "work", flag, "x\nforged=evil")
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(f"key '{key}': the value holds a line break or a NUL", proc.stderr)
                self.assertNotIn("forged", proc.stderr)
        for value in ("x\ry", "x\0y"):
            with self.subTest(value=repr(value)):
                path = self.write_config(self.profile(git_username=value))
                proc = self.tok("get", "-p", "work")
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(f"config {path} line 5: key 'git_username'", proc.stderr)
        self.assertEqual(self.server.token_requests, 0)

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


NOBODY = 65534


def require_root(case):
    if os.geteuid() != 0:
        case.fail("this test hands files to other users (chown) and runs tok as uid 65534: run it as root (CI does)")


class ConfigTrust(TokCase):
    """A config file another user could have written is refused: its `provider = command` would
    run as you. Root's files are trusted, as ssh trusts them (docs/design.md, "Files tok trusts")."""

    def command_config(self, path, program=None, mark_dir=None):
        """A profile whose command leaves a mark when it runs, and a second oauth profile."""
        self.mark = os.path.join(mark_dir or self.home, "ran")
        argv = [program] if program else ["sh", "-c", f"touch {self.mark}; echo tok-from-command"]
        with open(path, "w") as f:
            f.write(f"[cmd]\nprovider = command\ncommand = {json.dumps(argv)}\n"
                    f"[work]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n")
        os.chmod(path, 0o644)
        self.env["TOK_CONFIG"] = path
        return path

    def assert_refused(self, proc, path, why):
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn(f"config {path}: refusing it: {why}", proc.stderr)
        self.assertFalse(os.path.exists(self.mark), "the command of a refused config ran")
        self.assertEqual(self.server.token_requests, 0)

    def test_a_config_owned_by_another_user_is_refused_and_its_command_never_runs(self):
        require_root(self)
        path = self.command_config(os.path.join(self.home, "config"))
        os.chown(path, NOBODY, NOBODY)
        for args in (["get", "-p", "cmd"], ["get", "-p", "work"], ["--config", path, "get", "-p", "cmd"]):
            with self.subTest(args=args):
                proc = self.run_tok(*args, "--cache-dir", self.cache)
                self.assert_refused(proc, path, f"it is owned by uid {NOBODY}, not by you or root")
                self.assertIn(f"chown {os.geteuid()} {path}", proc.stderr)
        os.chown(path, 0, 0)
        proc = self.run_tok("get", "-p", "cmd", "--cache-dir", self.cache)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "tok-from-command\n")

    def test_a_config_others_or_a_foreign_group_may_write_is_refused(self):
        require_root(self)
        path = self.command_config(os.path.join(self.home, "config"))
        for mode, group, why in ((0o666, 0, "it is writable by others (mode 666)"),
                                 (0o646, 0, "it is writable by others (mode 646)"),
                                 (0o664, NOBODY, f"it is writable by group {NOBODY} (mode 664)")):
            with self.subTest(mode=oct(mode), group=group):
                os.chown(path, 0, group)
                os.chmod(path, mode)
                proc = self.run_tok("get", "-p", "cmd", "--cache-dir", self.cache)
                self.assert_refused(proc, path, why)
                self.assertIn(f"chmod go-w {path}", proc.stderr)
        # A group of the owner's own (root's group has no other member here): what umask 002 gives.
        os.chown(path, 0, 0)
        os.chmod(path, 0o664)
        proc = self.run_tok("get", "-p", "work", "--cache-dir", self.cache)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_a_program_run_by_path_must_be_owned_by_you_or_root_and_written_by_no_one_else(self):
        require_root(self)
        program = os.path.join(self.home, "helper")
        mark = os.path.join(self.home, "helper-ran")
        with open(program, "w") as f:
            f.write(f"#!/bin/sh\ntouch {mark}\necho tok-from-helper\n")
        self.command_config(os.path.join(self.home, "config"), program=program)
        for mode, owner, why in ((0o777, 0, "it is writable by others (mode 777)"),
                                 (0o755, NOBODY, f"it is owned by uid {NOBODY}, not by you or root")):
            with self.subTest(mode=oct(mode), owner=owner):
                os.chown(program, owner, owner)
                os.chmod(program, mode)
                proc = self.run_tok("get", "-p", "cmd", "--cache-dir", self.cache)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(f"key 'command': refusing to run {program}: {why}", proc.stderr)
                self.assertFalse(os.path.exists(mark), "an untrusted program ran")
        os.chown(program, 0, 0)
        os.chmod(program, 0o755)
        proc = self.run_tok("get", "-p", "cmd", "--cache-dir", self.cache)
        self.assertEqual((proc.returncode, proc.stdout), (0, "tok-from-helper\n"), proc.stderr)
        # az_path too.
        os.chmod(program, 0o757)
        proc = self.run_tok("get", "--provider", "azure-cli", "--az-path", program, "--cache-dir", self.cache)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(f"key 'az_path': refusing to run {program}: it is writable by others", proc.stderr)

    def run_as_nobody(self, home, *args, config):
        env = tok_env(home, TOK_CONFIG=config, TOK_CACHE_DIR=os.path.join(home, "cache"))
        return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", TOK, *args],
                              env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    def test_as_a_second_user_roots_config_is_used_and_a_third_users_is_refused(self):
        require_root(self)
        if shutil.which("setpriv") is None:
            self.fail("setpriv (util-linux) is needed to run tok as another user")
        # uid 65534's own home, and a directory both can read for the config files.
        home = tempfile.mkdtemp(prefix="tok-it-nobody-")
        self.addCleanup(shutil.rmtree, home, True)
        os.chmod(home, 0o755)
        os.chown(home, NOBODY, NOBODY)
        config = os.path.join(home, "config")
        self.command_config(config, mark_dir=home)
        with self.subTest(owner="root"):
            os.chown(config, 0, 0)
            proc = self.run_as_nobody(home, "get", "-p", "work", config=config)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertTrue(proc.stdout.strip())
        with self.subTest(owner="the user itself"):
            os.chown(config, NOBODY, NOBODY)
            proc = self.run_as_nobody(home, "get", "-p", "cmd", config=config)
            self.assertEqual((proc.returncode, proc.stdout), (0, "tok-from-command\n"), proc.stderr)
            os.unlink(self.mark)
        with self.subTest(owner="a third user"):
            os.chown(config, 4242, 4242)
            proc = self.run_as_nobody(home, "get", "-p", "cmd", config=config)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(f"config {config}: refusing it: it is owned by uid 4242, not by you or root", proc.stderr)
            self.assertFalse(os.path.exists(self.mark), "the command of a third user's config ran")
        with self.subTest(owner="root, but others may write it"):
            os.chown(config, 0, 0)
            os.chmod(config, 0o666)
            proc = self.run_as_nobody(home, "get", "-p", "cmd", config=config)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("it is writable by others (mode 666)", proc.stderr)
            self.assertFalse(os.path.exists(self.mark))


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

"""tok git-credential: git's credential-helper protocol on stdin and stdout, driven directly (the
peers test runs real git). Matching by git_hosts, silence for other hosts, erase of the rejected
token only, and hostile input: an error on stderr, nothing on stdout, never a crash."""
import json
import os
import subprocess
import time
import unittest

from harness import SECRET, TOK, TokCase


class GitCredential(TokCase):
    def setUp(self):
        super().setUp()
        self.config = os.path.join(self.home, "config")
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache})
        self.write_config(self.profile("work", git_hosts="git.example.com, code.example.com/org"))

    def profile(self, name, **keys):
        lines = [f"[{name}]", "provider = oauth", f"token_url = {self.server.token_url}", f"client_id = {name}"]
        return "\n".join(lines + [f"{k} = {v}" for k, v in keys.items()]) + "\n"

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def helper(self, *args, stdin=b"", expect=None):
        proc = subprocess.run([TOK, "git-credential", *args], input=stdin, env=self.env, capture_output=True,
                              timeout=60)
        for stream in (proc.stdout, proc.stderr):
            self.assertNotIn(SECRET.encode(), stream)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        return proc

    def request(self, host, **attrs):
        lines = ["protocol=https", f"host={host}"] + [f"{k}={v}" for k, v in attrs.items()]
        return ("\n".join(lines) + "\n\n").encode()

    def answer(self, proc):
        """The key=value lines of a get answer, as a dict (each key once)."""
        lines = proc.stdout.decode().splitlines()
        pairs = [line.split("=", 1) for line in lines]
        self.assertEqual(len({k for k, _ in pairs}), len(pairs), lines)
        return dict(pairs)

    def tok_get(self, profile="work"):
        proc = self.run_tok("get", "-p", profile)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    # -- get ------------------------------------------------------------------------------------

    def test_get_answers_a_matching_host_with_exactly_the_protocol_lines(self):
        proc = self.helper("get", stdin=self.request("git.example.com"), expect=0)
        self.assertEqual(proc.stderr, b"")
        answer = self.answer(proc)
        self.assertEqual(list(answer), ["username", "password", "password_expiry_utc"])
        self.assertEqual(answer["username"], "x-access-token")
        # The same engine and cache as tok get: one token, one request.
        self.assertEqual(answer["password"], self.tok_get())
        self.assertEqual(self.server.token_requests, 1)
        self.assertAlmostEqual(int(answer["password_expiry_utc"]), time.time() + self.lifetime, delta=30)

    def test_git_username_and_a_host_in_another_case(self):
        self.write_config(self.profile("work", git_hosts="Git.Example.com", git_username="robot"))
        answer = self.answer(self.helper("get", stdin=self.request("git.example.COM"), expect=0))
        self.assertEqual(answer["username"], "robot")

    def test_an_unmatched_host_gets_silence_so_git_asks_its_next_helper(self):
        for host in ("other.example.com", "git.example.com.evil.org", "git.example.com:8443", "code.example.com"):
            proc = self.helper("get", stdin=self.request(host), expect=0)
            self.assertEqual((proc.stdout, proc.stderr), (b"", b""), host)
        self.assertEqual(self.server.token_requests, 0)

    def test_a_path_prefix_matches_only_with_the_path_git_sends_under_useHttpPath(self):
        self.assertEqual(self.helper("get", stdin=self.request("code.example.com", path="org/repo.git"),
                                     expect=0).stdout.count(b"password="), 1)
        self.assertEqual(self.helper("get", stdin=self.request("code.example.com", path="organisation/repo.git"),
                                     expect=0).stdout, b"")
        self.assertEqual(self.helper("get", stdin=self.request("code.example.com"), expect=0).stdout, b"")

    def test_the_first_matching_profile_in_file_order_answers(self):
        self.write_config(self.profile("first", git_hosts="a.example.com") +
                          self.profile("second", git_hosts="b.example.com, a.example.com"))
        self.assertEqual(self.answer(self.helper("get", stdin=self.request("a.example.com"), expect=0))["password"],
                         self.tok_get("first"))
        self.assertEqual(self.answer(self.helper("get", stdin=self.request("b.example.com"), expect=0))["password"],
                         self.tok_get("second"))

    def test_p_overrides_matching_before_or_after_the_command(self):
        self.write_config(self.profile("work", git_hosts="git.example.com") + self.profile("other"))
        expected = self.tok_get("other")
        for args in (["-p", "other", "get"], ["get", "-p", "other"]):
            answer = self.answer(self.helper(*args, stdin=self.request("git.example.com"), expect=0))
            self.assertEqual(answer["password"], expected)
        proc = subprocess.run([TOK, "-p", "other", "git-credential", "get"], input=self.request("x.example.com"),
                              env=self.env, capture_output=True)
        self.assertEqual(self.answer(proc)["password"], expected)

    def test_a_profile_named_like_a_command(self):
        # tok builds only the command on the line: a profile called "get" is not the command.
        self.write_config(self.profile("get") + self.profile("status"))
        expected = self.tok_get("get")
        for args in (["-p", "get", "git-credential", "get"], ["--config", self.config, "--profile", "get", "-v",
                                                              "git-credential", "get"]):
            proc = subprocess.run([TOK, *args], input=self.request("x.example.com"), env=self.env, capture_output=True)
            self.assertEqual(self.answer(proc)["password"], expected, proc.stderr)

    def test_an_ad_hoc_provider_answers_without_a_config_file(self):
        os.remove(self.config)
        proc = self.helper("get", "--provider", "oauth", "--token-url", self.server.token_url, "--client-id", "x",
                           stdin=self.request("anything.example.com"), expect=0)
        self.assertIn("password", self.answer(proc))

    def test_no_config_file_is_silence(self):
        os.remove(self.config)
        proc = self.helper("get", stdin=self.request("git.example.com"), expect=0)
        self.assertEqual((proc.stdout, proc.stderr), (b"", b""))

    def test_url_attribute_and_non_http_protocols(self):
        answer = self.answer(self.helper("get", stdin=b"url=https://git.example.com/org/repo.git\n\n", expect=0))
        self.assertIn("password", answer)
        # git also asks helpers for a client certificate's passphrase: not a token's business.
        proc = self.helper("get", stdin=b"protocol=cert\npath=/home/me/cert.p12\n\n", expect=0)
        self.assertEqual(proc.stdout, b"")
        proc = self.helper("-p", "work", "get", stdin=b"protocol=smtp\nhost=git.example.com\n\n", expect=0)
        self.assertEqual(proc.stdout, b"")

    def test_a_token_without_expiry_has_no_password_expiry_utc(self):
        self.tok_get()
        entry = self.read_entry("-p", "work")
        entry["token"]["expiry_ms"] = None
        entry["stale_after_ms"] = None
        self.write_entry(entry, "-p", "work")
        answer = self.answer(self.helper("get", stdin=self.request("git.example.com"), expect=0))
        self.assertEqual(list(answer), ["username", "password"])

    def test_a_provider_failure_is_a_message_on_stderr_and_nothing_on_stdout(self):
        self.server.fault(status=401, json={"error": "invalid_client"})
        proc = self.helper("get", stdin=self.request("git.example.com"), expect=3)
        self.assertEqual(proc.stdout, b"")
        self.assertTrue(proc.stderr.startswith(b"tok: work: "), proc.stderr)

    def test_a_matched_profile_that_does_not_resolve_is_a_configuration_error(self):
        self.write_config(self.profile("work", git_hosts="git.example.com", retry_backoff="soon"))
        proc = self.helper("get", stdin=self.request("git.example.com"), expect=2)
        self.assertEqual(proc.stdout, b"")
        self.assertIn(b"retry_backoff", proc.stderr)
        # A malformed entry is its own profile's error only: other hosts, other profiles go on.
        self.write_config(self.profile("work", git_hosts="git.example.com, b\u00e4d.example.com") +
                          self.profile("other", git_hosts="other.example.com"))
        proc = self.helper("get", stdin=self.request("git.example.com"), expect=2)
        self.assertIn(b"key 'git_hosts'", proc.stderr)
        self.assertIn(b"line 5", proc.stderr)
        self.assertIn(b"password", self.helper("get", stdin=self.request("other.example.com"), expect=0).stdout)
        self.assertEqual(self.helper("get", stdin=self.request("third.example.com"), expect=0).stdout, b"")

    def test_no_token_over_plain_http_unless_the_entry_says_http_or_the_host_is_loopback(self):
        self.write_config(self.profile("work", git_hosts="git.example.com, https://secure.example.com") +
                          self.profile("plain", git_hosts="http://intranet.example.com, 127.0.0.1:8080, localhost"))
        for host in ("git.example.com", "secure.example.com"):
            proc = self.helper("get", stdin=f"protocol=http\nhost={host}\n\n".encode(), expect=0)
            self.assertEqual(proc.stdout, b"", host)
            self.assertIn(b"password", self.helper("get", stdin=self.request(host), expect=0).stdout)
        for host in ("intranet.example.com", "127.0.0.1:8080", "localhost"):
            proc = self.helper("get", stdin=f"protocol=http\nhost={host}\n\n".encode(), expect=0)
            self.assertEqual(self.answer(proc)["password"], self.tok_get("plain"), host)
        # -p chooses the profile, not the rule: http only for loopback or an http:// entry.
        proc = self.helper("-p", "work", "get", stdin=b"protocol=http\nhost=git.example.com\n\n", expect=0)
        self.assertEqual(proc.stdout, b"")
        proc = self.helper("-p", "plain", "get", stdin=b"protocol=http\nhost=intranet.example.com\n\n", expect=0)
        self.assertIn(b"password", proc.stdout)
        proc = self.helper("-p", "work", "get", stdin=b"protocol=http\nhost=127.0.0.1:9\n\n", expect=0)
        self.assertIn(b"password", proc.stdout)

    def test_url_is_read_by_gits_rules_and_paths_by_segments(self):
        for url in ("https://evil.test#@git.example.com/", "https://evil.test?@git.example.com/",
                    "https://evil.test/@git.example.com/", "https://git.example.com@evil.test/",
                    "https://code.example.com/org/../evil/repo.git", "https://code.example.com/org/%2e%2e/evil/x.git",
                    "http://git.example.com/", "https://git%2eexample.com:443/"):
            proc = self.helper("get", stdin=f"url={url}\n\n".encode(), expect=0)
            self.assertEqual(proc.stdout, b"", url)
        for url in ("https://evil.test\\@git.example.com/", "https://u%40x:pw@git%2eexample.com/",
                    "https://code.example.com/./org//repo.git", "https://GIT.example.com"):
            proc = self.helper("get", stdin=f"url={url}\n\n".encode(), expect=0)
            self.assertIn(b"password=", proc.stdout, url)

    def test_tok_min_valid_asks_the_helpers_for_a_longer_lived_token(self):
        first = self.answer(self.helper("get", stdin=self.request("git.example.com"), expect=0))["password"]
        self.env["TOK_MIN_VALID"] = "10m"
        self.assertEqual(self.answer(self.helper("get", stdin=self.request("git.example.com"), expect=0))["password"],
                         first)
        self.assertEqual(self.server.token_requests, 1)
        self.env["TOK_MIN_VALID"] = "2h"  # longer than the token's hour
        second = self.answer(self.helper("get", stdin=self.request("git.example.com"), expect=0))["password"]
        self.assertNotEqual(second, first)
        self.assertEqual(self.server.token_requests, 2)
        self.env["TOK_MIN_VALID"] = "a while"
        proc = self.helper("get", stdin=self.request("git.example.com"), expect=2)
        self.assertIn(b"$TOK_MIN_VALID", proc.stderr)
        self.assertEqual(proc.stdout, b"")

    # -- store, erase, others -------------------------------------------------------------------

    def test_store_and_unknown_operations_do_nothing_and_succeed(self):
        token = self.tok_get()
        req = self.request("git.example.com", username="x-access-token", password=token)
        for op in ("store", "frobnicate"):
            proc = self.helper(op, stdin=req, expect=0)
            self.assertEqual((proc.stdout, proc.stderr), (b"", b""))
        self.assertEqual(self.tok_get(), token)
        self.assertEqual(self.server.token_requests, 1)

    def test_erase_expires_the_cached_token_only_when_it_is_the_rejected_password(self):
        token = self.tok_get()
        for password in ("some-other-password", ""):
            req = self.request("git.example.com", username="x-access-token", password=password)
            self.assertEqual(self.helper("erase", stdin=req, expect=0).stdout, b"")
            self.assertEqual(self.status("-p", "work")["state"], "fresh")
        # Another host's erase leaves this profile alone, even with its token.
        self.helper("erase", stdin=self.request("elsewhere.example.com", password=token), expect=0)
        self.assertEqual(self.status("-p", "work")["state"], "fresh")
        proc = self.helper("erase", stdin=self.request("git.example.com", username="x-access-token", password=token),
                           expect=0)
        self.assertEqual((proc.stdout, proc.stderr), (b"", b""))
        self.assertEqual(self.status("-p", "work")["state"], "expired")
        fresh = self.answer(self.helper("get", stdin=self.request("git.example.com"), expect=0))["password"]
        self.assertNotEqual(fresh, token)
        self.assertEqual(self.server.token_requests, 2)

    def status(self, *args):
        proc = self.run_tok("status", "--format", "json", *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def entry_path(self, *extra):
        return self.status(*extra)["cache_file"]

    # -- hostile input --------------------------------------------------------------------------

    def assert_refused(self, stdin, why):
        proc = self.helper("get", stdin=stdin)
        self.assertEqual(proc.returncode, 2, f"{why}: stderr={proc.stderr!r}")  # not a signal, not 0
        self.assertEqual(proc.stdout, b"", why)
        self.assertIn(b"malformed input", proc.stderr, why)
        self.assertEqual(len(proc.stderr.decode().splitlines()), 1, proc.stderr)
        self.assertNotIn(b"hunter2", proc.stderr, "the input was echoed")

    def test_malformed_input_is_an_error_never_a_crash(self):
        self.assert_refused(b"protocol=https\nhost=git.example.com\npassword=hunter2\x00x\n\n", "NUL byte")
        self.assert_refused(b"protocol=https\r\nhost=git.example.com\r\n\r\n", "CRLF")
        self.assert_refused(b"protocol=https\nhunter2\n\n", "no '='")
        self.assert_refused(b"=hunter2\n\n", "empty key")
        self.assert_refused(b"protocol=https\npassword=" + b"h" * (64 * 1024) + b"\n\n", "a 64 KiB + 10 line")
        self.assert_refused(b"protocol=https\n" + b"wwwauth[]=hunter2\n" * 70000, "more than 1 MiB in all")
        self.assert_refused(b"url=https://git.example.com%0ahost=evil.example.com\n\n", "newline hidden in url")
        self.assertEqual(self.server.token_requests, 0)

    def test_the_longest_line_allowed_and_input_after_the_blank_line(self):
        line = b"wwwauth[]=" + b"x" * (64 * 1024 - 10)
        proc = self.helper("get", stdin=self.request("git.example.com")[:-1] + line + b"\n\n", expect=0)
        self.assertIn("password", self.answer(proc))
        # What follows the blank line is not read, so it cannot be wrong.
        proc = self.helper("get", stdin=self.request("git.example.com") + b"\x00garbage\r\n", expect=0)
        self.assertIn("password", self.answer(proc))


if __name__ == "__main__":
    unittest.main()

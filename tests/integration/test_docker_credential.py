"""Docker's credential-helper protocol: `docker-credential-tok ACTION` (tok under that name, the
link the build and `make install` make) and `tok docker-credential ACTION`. Each action's exact
stdin, stdout and exit code, malformed input included; errors go to stdout with exit 1."""
import json
import os
import shutil
import subprocess
import unittest

from harness import SECRET, TOK, TokCase, path_with_tok, readme_block

HELPER = os.path.join(os.path.dirname(os.path.abspath(TOK)), "docker-credential-tok") if TOK else ""
NOT_FOUND = b"credentials not found in native keychain\n"


class DockerCredential(TokCase):
    def setUp(self):
        super().setUp()
        if not os.path.islink(HELPER):
            raise AssertionError(f"{HELPER} (a link to tok, made by the build) is missing")
        self.config = os.path.join(self.home, "config")
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache})
        with open(self.config, "w") as f:
            f.write(self.profile("work", docker_registries="registry.example.com, localhost:5000"))
            f.write(self.profile("robot", docker_registries="https://Other.example.com/v2/", docker_username="robot"))

    def profile(self, name, **keys):
        lines = [f"[{name}]", "provider = oauth", f"token_url = {self.server.token_url}", f"client_id = {name}"]
        return "\n".join(lines + [f"{k} = {v}" for k, v in keys.items()]) + "\n"

    def helper(self, *args, stdin=b"", expect=None, argv0=None):
        argv = [HELPER, *args] if argv0 is None else [argv0, *args]
        proc = subprocess.run(argv, input=stdin, env=self.env, capture_output=True, timeout=60)
        for stream in (proc.stdout, proc.stderr):
            self.assertNotIn(SECRET.encode(), stream)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        return proc

    def both(self, action, stdin=b""):
        """The action through both entry points; they must agree byte for byte."""
        a = self.helper(action, stdin=stdin)
        b = subprocess.run([TOK, "docker-credential", action], input=stdin, env=self.env, capture_output=True,
                           timeout=60)
        self.assertEqual((a.returncode, a.stdout), (b.returncode, b.stdout), action)
        return a

    def tok_get(self, profile):
        proc = self.run_tok("get", "-p", profile)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def test_get_answers_a_configured_registry_with_the_exact_json(self):
        for url in ("https://registry.example.com/v2/", "registry.example.com", "Registry.Example.com\n",
                    "http://localhost:5000/v1/", "localhost:5000"):
            proc = self.both("get", url.encode())
            self.assertEqual(proc.returncode, 0, proc.stdout)
            self.assertEqual(proc.stderr, b"")
            expected = json.dumps({"ServerURL": url.strip(), "Username": "oauth2accesstoken",
                                   "Secret": self.tok_get("work")}, separators=(",", ":"))
            self.assertEqual(proc.stdout.decode(), expected + "\n")
        self.assertEqual(self.server.token_requests, 1, "one engine, one cache")
        proc = self.helper("get", stdin=b"other.example.com", expect=0)
        self.assertEqual(json.loads(proc.stdout)["Username"], "robot")
        self.assertEqual(json.loads(proc.stdout)["Secret"], self.tok_get("robot"))

    def test_get_for_another_registry_or_port_is_dockers_not_found(self):
        for url in (b"https://index.docker.io/v1/", b"localhost:5001", b"localhost", b"registry.example.com:443",
                    b"registry.example.com.evil.org"):
            proc = self.both("get", url)
            self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (1, NOT_FOUND, b""), url)
        self.assertEqual(self.server.token_requests, 0)

    def test_a_scheme_only_at_the_start_and_http_only_for_loopback_or_an_http_entry(self):
        # "://" further on is no scheme: this is evil.test, whatever follows.
        for url in (b"evil.test/x://registry.example.com", b"evil.test/https://registry.example.com/v2/",
                    b"http://registry.example.com", b"http://registry.example.com/v2/"):
            proc = self.both("get", url)
            self.assertEqual((proc.returncode, proc.stdout), (1, NOT_FOUND), url)
        for url in (b"https://evil.test#@registry.example.com", b"ftp://registry.example.com",
                    b"user@registry.example.com"):
            proc = self.both("get", url)
            self.assertEqual(proc.returncode, 1, url)
            self.assertIn(b"malformed input", proc.stdout, url)
        self.assertEqual(self.server.token_requests, 0)
        proc = self.helper("get", stdin=b"http://localhost:5000/v2/", expect=0)
        self.assertEqual(json.loads(proc.stdout)["Secret"], self.tok_get("work"))
        with open(self.config, "a") as f:
            f.write(self.profile("plain", docker_registries="http://intranet.example.com"))
        proc = self.helper("get", stdin=b"http://intranet.example.com", expect=0)
        self.assertEqual(json.loads(proc.stdout)["Secret"], self.tok_get("plain"))

    def test_tok_min_valid_asks_for_a_longer_lived_token(self):
        first = json.loads(self.helper("get", stdin=b"registry.example.com", expect=0).stdout)["Secret"]
        self.env["TOK_MIN_VALID"] = "2h"
        second = json.loads(self.helper("get", stdin=b"registry.example.com", expect=0).stdout)["Secret"]
        self.assertNotEqual(second, first)
        self.assertEqual(self.server.token_requests, 2)

    def test_malformed_input_is_an_error_on_stdout_never_a_crash(self):
        cases = {b"": b"no credentials server URL", b"  \n": b"no credentials server URL",
                 b"a b": b"malformed input", b"user@registry.example.com": b"malformed input",
                 b"registry\x00.example.com": b"malformed input", b"\xff\xfe": b"malformed input",
                 b"r" * (70 * 1024): b"malformed input"}
        for stdin, message in cases.items():
            proc = self.both("get", stdin)
            self.assertEqual(proc.returncode, 1, stdin[:20])
            self.assertIn(message, proc.stdout, stdin[:20])
            self.assertEqual(len(proc.stdout.splitlines()), 1, proc.stdout)

    def test_a_user_name_is_written_so_docker_reads_back_exactly_that_name_or_refused(self):
        # JSON escapes quotes, backslashes and controls; a line break, a CR or a NUL in a value is
        # refused for every writer alike (docs/helpers.md, "What the helpers write").
        for name, value in (("quoted", 'a"b\\c'), ("braces", '{"Secret":"x"}')):
            with self.subTest(value=value):
                with open(self.config, "w") as f:
                    f.write(self.profile(name, docker_registries="registry.example.com", docker_username=value))
                proc = self.both("get", b"registry.example.com")
                self.assertEqual(proc.returncode, 0, proc.stdout)
                self.assertEqual(len(proc.stdout.splitlines()), 1)
                answer = json.loads(proc.stdout)
                self.assertEqual(answer["Username"], value)
                self.assertEqual(set(answer), {"ServerURL", "Username", "Secret"})
        requests = self.server.token_requests
        for value in ("x\rUsername", "x\0y"):
            with self.subTest(value=repr(value)):
                with open(self.config, "w") as f:
                    f.write(self.profile("work", docker_registries="registry.example.com", docker_username=value))
                proc = self.both("get", b"registry.example.com")
                self.assertEqual(proc.returncode, 1, proc.stdout)
                self.assertIn(b"key 'docker_username'", proc.stdout)
                self.assertIn(b"line break or a NUL", proc.stdout)
                self.assertNotIn(b"Secret", proc.stdout)
                self.assertEqual(self.server.token_requests, requests)

    def test_a_provider_failure_is_an_error_on_stdout(self):
        self.server.fault(status=401, json={"error": "invalid_client"})
        proc = self.helper("get", stdin=b"registry.example.com", expect=1)
        self.assertTrue(proc.stdout.startswith(b"tok: work: "), proc.stdout)
        self.assertNotIn(b"Secret", proc.stdout)

    def test_store_accepts_configured_registries_only(self):
        ok = json.dumps({"ServerURL": "https://registry.example.com", "Username": "u", "Secret": "s"}).encode()
        proc = self.both("store", ok)
        self.assertEqual((proc.returncode, proc.stdout), (0, b""))
        other = json.dumps({"ServerURL": "elsewhere.example.com", "Username": "u", "Secret": "s"}).encode()
        proc = self.both("store", other)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"does not store credentials", proc.stdout)
        for stdin, message in ((b'{"ServerURL": ', b"not JSON"), (b"[]", b"not a JSON object"),
                               (b'{"Username":"u","Secret":"s"}', b"no credentials server URL"),
                               (b'{"ServerURL":"registry.example.com","Secret":"s"}', b"no credentials username")):
            proc = self.both("store", stdin)
            self.assertEqual(proc.returncode, 1, stdin)
            self.assertIn(message, proc.stdout)
        self.assertEqual(self.server.token_requests, 0, "store never fetches")

    def test_erase_expires_the_cached_token(self):
        first = self.tok_get("work")
        proc = self.helper("erase", stdin=b"https://registry.example.com/v2/", expect=0)
        self.assertEqual(proc.stdout, b"")
        second = json.loads(self.helper("get", stdin=b"registry.example.com", expect=0).stdout)["Secret"]
        self.assertNotEqual(first, second)
        self.assertEqual(self.server.token_requests, 2)
        proc = self.helper("erase", stdin=b"unknown.example.com", expect=1)
        self.assertEqual(proc.stdout, NOT_FOUND)

    def test_list_and_version(self):
        proc = self.both("list")
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout, b'{"registry.example.com":"oauth2accesstoken","localhost:5000":"oauth2accesstoken",'
                                      b'"https://Other.example.com/v2/":"robot"}\n')
        os.remove(self.config)
        self.assertEqual(self.helper("list", expect=0).stdout, b"{}\n")
        version = self.run_tok("version").stdout.splitlines()[0].split()[-1]
        proc = self.both("version")
        self.assertEqual((proc.returncode, proc.stdout), (0, f"docker-credential-tok (tok) {version}\n".encode()))
        for flag in ("--version", "-v"):
            self.assertEqual(self.helper(flag, expect=0).stdout, proc.stdout)

    def test_usage_errors_go_to_stdout_with_exit_1(self):
        for args in ((), ("get", "extra"), ("frobnicate",)):
            proc = self.helper(*args, expect=1)
            self.assertNotEqual(proc.stdout, b"", args)
        self.assertIn(b"Usage: docker-credential-tok", self.helper("--help", expect=0).stdout)

    def test_the_program_name_decides_even_through_another_link(self):
        link = os.path.join(self.home, "docker-credential-tok")
        os.symlink(os.path.abspath(TOK), link)
        proc = self.helper("get", stdin=b"registry.example.com", expect=0, argv0=link)
        self.assertEqual(json.loads(proc.stdout)["Secret"], self.tok_get("work"))

    def test_the_readme_credhelpers_config_names_a_helper_docker_can_find(self):
        config = json.loads(readme_block("docker: credHelpers"))
        env = path_with_tok(self.env)
        for registry, name in config["credHelpers"].items():
            # Docker runs docker-credential-<name> from PATH with the action and the server URL.
            program = shutil.which(f"docker-credential-{name}", path=env["PATH"])
            self.assertIsNotNone(program, f"docker-credential-{name} is not on PATH")
            proc = subprocess.run([program, "get"], input=registry.encode(), env=env, capture_output=True)
            self.assertEqual(proc.returncode, 0, proc.stdout)
            self.assertEqual(json.loads(proc.stdout)["ServerURL"], registry)


if __name__ == "__main__":
    unittest.main()

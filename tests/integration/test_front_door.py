"""The front door: help per command, "did you mean" for commands, profiles and sections, every
profile at a glance (status --all, profiles --state), a token's claims (status --claims, never
verified, never the token), and tok init."""
import base64
import json
import os
import pty
import re
import stat
import subprocess
import time
import unittest

from harness import TOK, TokCase

PROVIDERS = ("oauth", "azure-cli", "metadata", "command", "oidc-federation", "file")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header, payload):
    """A JWT-shaped token: the signature is junk, since nothing here (or in tok) verifies it."""
    def part(x):
        return b64url(x if isinstance(x, bytes) else json.dumps(x).encode())
    return f"{part(header)}.{part(payload)}.{b64url(b'not-a-signature')}"


class FrontDoor(TokCase):
    def setUp(self):
        super().setUp()
        self.config = os.path.join(self.home, "config")
        self.env["TOK_CONFIG"] = self.config

    def profile_args(self, *extra):
        return ["--cache-dir", self.cache, *extra]

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def profile(self, name, **keys):
        values = {"provider": "oauth", "token_url": self.server.token_url, "client_id": "ci", **keys}
        return f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()) + "\n"

    def tok(self, *args, expect=0, **kw):
        proc = self.run_tok(*args, **kw)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, f"tok {' '.join(args)}: {proc.stdout} {proc.stderr}")
        return proc

    # -- help per command -----------------------------------------------------------------------

    def test_get_help_is_short_and_lists_only_the_keys_get_reads(self):
        text = self.tok("get", "--help").stdout
        self.assertLess(len(text.splitlines()), 40, text)
        for flag in ("--format", "--force-refresh", "--min-valid", "--no-async", "--expiry-buffer", "--refresh-timeout",
                     "--provider"):
            self.assertIn(flag, text)
        self.assertRegex(text, r"--expiry-buffer +\S.* \(40s\)")
        self.assertIn("tok help keys PROVIDER", text)
        self.assertNotIn("--git-hosts", text, "get reads no integration key")
        self.assertNotIn("--az-path", text, "provider keys are in 'tok help keys'")
        self.assertIn("Global flags", text)

    def test_each_command_shows_the_keys_it_reads_and_none_for_completion_or_version(self):
        self.assertIn("--git-hosts", self.tok("git-credential", "--help").stdout)
        self.assertIn("--docker-registries", self.tok("docker-credential", "--help").stdout)
        self.assertIn("--gcp-service-account", self.tok("serve", "--help").stdout)
        for command in ("completion", "version", "help"):
            text = self.tok(command, "--help").stdout
            self.assertNotIn("Profile keys", text, command)
            self.assertNotIn("--expiry-buffer", text, command)

    def test_tok_help_is_short_and_help_keys_is_the_reference(self):
        top = self.tok("--help").stdout
        self.assertLess(len(top.splitlines()), 50, top)
        self.assertNotIn("--expiry-buffer", top)
        self.assertEqual(self.tok("help").stdout, top)
        self.assertEqual(self.tok("help", "get").stdout, self.tok("get", "--help").stdout)
        every = self.tok("help", "keys").stdout
        for provider in PROVIDERS:
            self.assertIn(f"provider = {provider}:", every)
        self.assertRegex(every, r"--auth-method +client authentication: .*\(basic\)")
        one = self.tok("help", "keys", "azure-cli").stdout
        self.assertIn("--az-path", one)
        self.assertIn("--expiry-buffer", one, "the engine's keys too")
        self.assertNotRegex(one, r"(?m)^ +--token-url ", "oauth's keys are not azure-cli's")
        proc = self.tok("help", "keys", "azure-clj", expect=2)
        self.assertIn("did you mean 'azure-cli'?", proc.stderr)
        proc = self.tok("help", "gte", expect=2)
        self.assertIn("'tok help' has no topic 'gte' (did you mean 'get'?)", proc.stderr)
        proc = self.tok("help", "hunter2-secret", expect=2)
        self.assertNotIn("hunter2", proc.stderr)

    # -- did you mean ---------------------------------------------------------------------------

    def test_an_unknown_command_gets_a_suggestion_and_nothing_else_is_echoed(self):
        proc = self.tok("gte", "-p", "work", "hunter2-secret", expect=2)
        self.assertIn("tok: unknown command 'gte' (did you mean 'get'?)", proc.stderr)
        self.assertNotIn("hunter2", proc.stderr)
        self.assertNotIn("work", proc.stderr)
        proc = self.tok("hunter2-secret-value", expect=2)
        self.assertIn("unknown command (not shown", proc.stderr)
        self.assertNotIn("hunter2", proc.stderr)
        # A word after a flag tok does not know may be its value: never called a command, never shown.
        proc = self.tok("--client-secret", "hunter2-secret", "get", expect=2)
        self.assertNotIn("hunter2", proc.stderr)
        self.assertNotIn("unknown command", proc.stderr)

    def test_near_miss_profile_names_and_sections(self):
        self.write_config(self.profile("work"))
        proc = self.tok("get", "-p", "wrok", *self.profile_args(), expect=2)
        self.assertIn("no profile 'wrok' (did you mean 'work'?)", proc.stderr)
        self.write_config(self.profile("defualt"))
        proc = self.tok("get", *self.profile_args(), expect=2)
        self.assertIn("no profile 'default' (did you mean 'defualt'?)", proc.stderr)
        self.assertIn("rename the section [defualt] to [default], or choose it with -p defualt", proc.stderr)

    def test_status_all_is_a_flag_not_a_typo(self):
        self.write_config(self.profile("default"))
        proc = self.tok("status", "--all", *self.profile_args())
        self.assertNotIn("--url", proc.stderr)

    # -- every profile at a glance --------------------------------------------------------------

    def test_status_all_shows_five_profiles_in_mixed_states_truthfully(self):
        self.write_config(self.profile("fresh") + self.profile("stale") + self.profile("expired")
                          + self.profile("never") + "[broken]\nprovider = oauth\ntokn_url = http://127.0.0.1:1/\n\n")
        for name in ("fresh", "stale", "expired"):
            self.get("-p", name)
        self.edit_entry("-p", "expired", expires_in=-10)
        self.edit_entry("-p", "stale", stale_in=-1)
        self.server.control(faults=[{"status": 503, "body": "down for maintenance", "times": 100}])
        self.get("-p", "stale")  # served; its background refresh fails and the cooldown starts
        self.wait_until(lambda: self.status("-p", "stale")["refresh"] == "failing", what="the background failure")
        requests = self.server.token_requests

        text = self.tok("status", "--all", *self.profile_args()).stdout
        rows = {re.split(r"\s+", line.strip().lstrip("* "))[0]: line for line in text.splitlines()[1:]}
        self.assertEqual(set(rows), {"fresh", "stale", "expired", "never", "broken"}, text)
        self.assertRegex(rows["fresh"], r"fresh\s+oauth\s+fresh\s+in \d+m")
        self.assertRegex(rows["stale"], r"stale\s+oauth\s+stale\s+in \d+m\S*\s+in \d+\S*\s+.*HTTP 503")
        self.assertRegex(rows["expired"], r"expired\s+oauth\s+expired\s+\d+s ago")
        self.assertRegex(rows["never"], r"never\s+oauth\s+missing\s+-\s+-\s+-")
        self.assertRegex(rows["broken"], r"broken\s+oauth\s+misconfigured\s+-\s+-\s+.*tokn_url")
        self.assertEqual(self.server.token_requests, requests, "status --all fetches nothing")

        out = json.loads(self.tok("status", "--all", "--format", "json", *self.profile_args()).stdout)
        self.assertEqual(out["json_version"], 1)
        by = {p["name"]: p for p in out["profiles"]}
        self.assertEqual({n: p["state"] for n, p in by.items()},
                         {"fresh": "fresh", "stale": "stale", "expired": "expired", "never": "missing",
                          "broken": "misconfigured"})
        self.assertEqual(by["stale"]["refresh"], "failing")
        self.assertIn("503", by["stale"]["last_error"]["message"])
        self.assertTrue(by["stale"]["next_attempt"])
        self.assertTrue(by["fresh"]["usable"])
        self.assertFalse(by["expired"]["usable"])
        self.assertIn("tokn_url", by["broken"]["error"])
        self.assertIsNone(by["fresh"]["error"])
        # tok profiles --state: the same rows, and the profiles' JSON gains the same fields.
        self.assertEqual(self.tok("profiles", "--state", *self.profile_args()).stdout.splitlines()[1:][0].split()[:3],
                         text.splitlines()[1].split()[:3])
        listed = json.loads(self.tok("profiles", "--state", "--format", "json", *self.profile_args()).stdout)
        self.assertEqual({p["name"]: p["state"] for p in listed["profiles"]}, {n: p["state"] for n, p in by.items()})
        plain = json.loads(self.tok("profiles", "--format", "json", *self.profile_args()).stdout)
        self.assertNotIn("state", plain["profiles"][0], "without --state, the old shape")
        self.assertEqual(self.server.token_requests, requests)

    # -- claims ---------------------------------------------------------------------------------

    def serve_token(self, token):
        self.server.fault(status=200, body=json.dumps({"access_token": token, "token_type": "Bearer",
                                                       "expires_in": 3600}), times=1)
        proc = self.tok("get", *self.oauth_args())
        self.assertEqual(proc.stdout, token + "\n")

    def claims(self, *extra):
        text = self.tok("status", "--claims", *self.oauth_args(*extra)).stdout
        out = json.loads(self.tok("status", "--claims", "--format", "json", *self.oauth_args(*extra)).stdout)
        return text, out

    def test_claims_of_a_jwt_decoded_labelled_unverified_never_the_token(self):
        now = int(time.time())
        token = jwt({"alg": "RS256", "typ": "at+jwt", "kid": "key-1"},
                    {"iss": "https://issuer.example", "sub": "svc-deployer\x1b[31m", "aud": ["api://one", "api://two"],
                     "scp": ["api.read"], "scope": "api:read api:write", "exp": now + 3600, "iat": now, "nbf": now,
                     "private": "other claims are not shown"})
        self.serve_token(token)
        text, out = self.claims()
        self.assertIn("UNVERIFIED", text)
        for expected in ("https://issuer.example", "api://one api://two", "api:read api:write", "RS256", "key-1"):
            self.assertIn(expected, text)
        self.assertIn("svc-deployer?[31m", text, "escape sequences are made printable")
        self.assertNotIn("\x1b", text)
        self.assertRegex(text, r"exp: +\d+ = \d{4}-\d\d-\d\dT.*\(in (59m|1h)")
        self.assertEqual(out["claims"]["verified"], False)
        self.assertEqual(out["claims"]["format"], "jwt")
        self.assertEqual(out["claims"]["claims"]["iss"], "https://issuer.example")
        self.assertEqual(out["claims"]["claims"]["exp"], now + 3600)
        self.assertEqual(out["claims"]["header"], {"alg": "RS256", "typ": "at+jwt", "kid": "key-1"})
        self.assertNotIn("private", json.dumps(out))
        for part in token.split("."):
            self.assertNotIn(part, text + json.dumps(out), "no part of the token is printed")

    def test_claims_of_an_opaque_or_hostile_token(self):
        self.tok("get", *self.oauth_args())
        text, out = self.claims()
        self.assertIn("opaque token", text)
        self.assertEqual((out["claims"]["format"], out["claims"]["verified"]), ("opaque", False))
        def three(payload):
            return ".".join((b64url(b"{}"), b64url(payload), b64url(b"x")))
        hostile = {
            "not utf-8": three(b'{"sub": "\xff\xfe"}'),
            "not json": three(b"hello"),
            "deep": three(b'{"a":' * 2000 + b"1" + b"}" * 2000),
            "huge": "a" * 70000 + "." + "b" * 10 + "." + "c",
        }
        for name, token in hostile.items():
            with self.subTest(token=name):
                self.tok("clear", *self.oauth_args())
                self.serve_token(token)
                text, out = self.claims()
                self.assertEqual(out["claims"]["format"], "opaque", name)
                self.assertRegex(text, r"claims: +none: ")

    def test_serve_errors_name_the_served_profile_not_the_default(self):
        self.write_config(self.profile("default") + self.profile("idp"))
        proc = self.tok("serve", "--azure-imds", "idp", "--listen", "127.0.0.1:0", expect=2)
        self.assertIn("tok: idp: --azure-imds idp: the profile has no 'resource'", proc.stderr)
        self.assertNotIn("default", proc.stderr)
        proc = self.tok("serve", "--gcp", "nosuch", "--listen", "127.0.0.1:0", expect=2)
        self.assertRegex(proc.stderr, r"^tok: nosuch: config .* no profile 'nosuch'")

    # -- tok init -------------------------------------------------------------------------------

    def test_init_writes_a_private_profile_that_works_and_never_overwrites(self):
        del self.env["TOK_CONFIG"]
        self.env["XDG_CONFIG_HOME"] = os.path.join(self.home, "xdg")
        path = os.path.join(self.home, "xdg", "tok", "config")
        proc = self.tok("init", "--provider", "oauth", "--token-url", self.server.token_url, "--client-id", "ci")
        self.assertIn(path, proc.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        with open(path) as f:
            written = f.read()
        self.assertIn(f"token_url = {self.server.token_url}", written)
        self.assertIn("# ", written, "commented")
        listed = json.loads(self.tok("profiles", "--format", "json").stdout)
        self.assertEqual([(p["name"], p["error"]) for p in listed["profiles"]], [("default", None)])
        self.assertRegex(self.tok("get", "--cache-dir", self.cache).stdout, r"^tok\S+\n$")
        proc = self.tok("init", "--provider", "command", expect=2)
        self.assertIn("has a profile 'default' already; tok init never changes one", proc.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), written)

    def test_init_for_every_provider_passes_tok_profiles_as_written(self):
        for provider in PROVIDERS:
            with self.subTest(provider=provider):
                path = os.path.join(self.home, f"{provider}.ini")
                self.tok("init", "--provider", provider, "--config", path, "-p", f"my-{provider}")
                listed = json.loads(self.tok("profiles", "--config", path, "--format", "json").stdout)
                self.assertEqual([(p["name"], p["provider"], p["error"]) for p in listed["profiles"]],
                                 [(f"my-{provider}", provider, None)])
        proc = self.tok("init", "--provider", "oauht", "--config", os.path.join(self.home, "x"), expect=2)
        self.assertIn("did you mean 'oauth'?", proc.stderr)

    def test_init_in_scripts_needs_a_provider_and_print_writes_nothing(self):
        proc = self.tok("init", expect=2)
        self.assertIn("--provider", proc.stderr)
        proc = self.tok("init", "--provider", "azure-cli", "--print", "-p", "az")
        self.assertIn("[az]\nprovider = azure-cli\n", proc.stdout)
        self.assertFalse(os.path.exists(self.config))
        proc = self.tok("init", "--provider", "oauth", "--print", "--scopes", "a b ;c")
        self.assertIn('scopes = "a b ;c"', proc.stdout, "quoted where a comment would start")
        proc = self.tok("init", "--provider", "oauth", "--token-url", "ftp://login.example.com/", expect=2)
        self.assertIn("nothing written", proc.stderr)
        self.assertIn("token_url", proc.stderr)
        self.assertFalse(os.path.exists(self.config))

    # Values that the INI reader (cli/config.cpp) would cut at a comment, trim or unquote if
    # written bare, and how each must read back: exactly as given.
    TRICKY = ['abc ;def', 'a #b', '; starts like a comment', '# so does this', ' leading blank', 'trailing blank ',
              'a "quote" inside', 'semi;colon#hash', 'tab\t;x', 'x=y = z', '[not a section]']

    def test_init_writes_values_that_read_back_exactly_or_refuses_them(self):
        for n, value in enumerate(self.TRICKY):
            with self.subTest(value=value):
                path = os.path.join(self.home, f"tricky-{n}.ini")
                self.tok("init", "--config", path, "-p", "t", "--provider", "oauth", "--token-url",
                         self.server.token_url, "--client-id", value, "--scopes", value)
                listed = json.loads(self.tok("profiles", "--config", path, "--format", "json").stdout)
                row = listed["profiles"][0]
                self.assertEqual((row["client"], row["scopes"], row["error"]),
                                 (value.replace("\t", "?") if "\t" in value else value,
                                  value.replace("\t", "?") if "\t" in value else value, None))
                self.tok("get", "--config", path, "-p", "t", "--cache-dir", self.cache)
                self.assertEqual(self.server.state.stats()["requests"][-1]["client_id"], value)
        # What no line of the file can hold: nothing is written, and the error says which key.
        for value in ('abc" ;def', '"quoted"', '"starts with a quote', ' "both" ', 'two\nlines', 'cr\rhere'):
            with self.subTest(refused=value):
                path = os.path.join(self.home, "refused.ini")
                proc = self.tok("init", "--config", path, "--provider", "oauth", "--token-url", self.server.token_url,
                                "--client-id", value, expect=2)
                self.assertIn("key 'client_id'", proc.stderr)
                self.assertIn("nothing written", proc.stderr)
                self.assertFalse(os.path.exists(path))

    def test_init_makes_each_directory_private_whatever_the_umask(self):
        del self.env["TOK_CONFIG"]
        self.env["XDG_CONFIG_HOME"] = os.path.join(self.home, "new", "deeper")
        proc = subprocess.run([TOK, "init", "--provider", "command"], env=self.env, capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL, umask=0)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for part in ("new", "new/deeper", "new/deeper/tok"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.home, part)).st_mode), 0o700, part)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.home, "new/deeper/tok/config")).st_mode), 0o600)

    def test_init_adds_a_profile_to_an_existing_config_keeping_it(self):
        before = ("# my own notes\n; and a commented key\n[first]\nprovider = command  ; inline\n"
                  'command = ["/bin/echo", "tok-first"]\n# the end, without a newline')
        self.write_config(before)
        os.chmod(self.config, 0o640)
        inode = os.stat(self.config).st_ino
        proc = self.tok("init", "-p", "second", "--provider", "oauth", "--issuer", self.server.url, "--client-id", "me",
                        "--grant", "device_code")
        self.assertIn(f"added profile 'second' (provider oauth) to {self.config}", proc.stdout)
        self.assertIn("tok login -p second", proc.stdout)
        with open(self.config) as f:
            after = f.read()
        self.assertTrue(after.startswith(before + "\n"), after)
        self.assertIn("[second]\n", after)
        self.assertEqual(stat.S_IMODE(os.stat(self.config).st_mode), 0o640, "the file's mode is kept")
        self.assertNotEqual(os.stat(self.config).st_ino, inode, "replaced by one rename, never rewritten in place")
        listed = json.loads(self.tok("profiles", "--format", "json").stdout)
        self.assertEqual([(p["name"], p["error"]) for p in listed["profiles"]], [("first", None), ("second", None)])
        self.assertEqual([f for f in os.listdir(self.home) if "tok-init" in f], [], "no temporary file left")
        # A name the file has: refused, the file untouched.
        proc = self.tok("init", "-p", "first", "--provider", "command", expect=2)
        self.assertIn("has a profile 'first' already", proc.stderr)
        with open(self.config) as f:
            self.assertEqual(f.read(), after)
        # A file tok cannot read is never rewritten: fix it first.
        self.write_config(before + "\nthis is no key\n")
        proc = self.tok("init", "-p", "third", "--provider", "command", expect=2)
        self.assertIn("nothing written", proc.stderr)
        with open(self.config) as f:
            self.assertEqual(f.read(), before + "\nthis is no key\n")

    def test_init_adds_through_a_symbolic_link_and_keeps_the_link(self):
        target = os.path.join(self.home, "dotfiles-config")
        with open(target, "w") as f:
            f.write("[first]\nprovider = command\ncommand = /bin/true\n")
        os.symlink(target, self.config)
        self.tok("init", "-p", "second", "--provider", "command")
        self.assertTrue(os.path.islink(self.config))
        with open(target) as f:
            self.assertIn("[second]", f.read())

    def test_init_writes_a_login_profile_with_an_issuer(self):
        # --issuer replaces the template's token_url (one endpoint key), for a service or a login.
        self.tok("init", "-p", "svc", "--provider", "oauth", "--issuer", self.server.url, "--client-id", "ci")
        self.tok("init", "-p", "me", "--provider", "oauth", "--issuer", self.server.url, "--client-id", "cli",
                 "--grant", "authorization_code", "--scopes", "openid offline_access")
        with open(self.config) as f:
            text = f.read()
        me = text.split("[me]\n", 1)[1]
        self.assertIn("grant = authorization_code\n", me)
        self.assertIn(f"issuer = {self.server.url}\n", me)
        self.assertNotRegex(me, r"(?m)^token_url", "an issuer, not a token endpoint")
        self.assertNotRegex(me, r"(?m)^client_secret_env", "a login's client keeps no secret")
        listed = {p["name"]: p for p in json.loads(self.tok("profiles", "--format", "json").stdout)["profiles"]}
        self.assertEqual((listed["svc"]["endpoint"], listed["svc"]["error"]), (f"{self.server.url} (discovery)", None))
        self.assertEqual((listed["me"]["endpoint"], listed["me"]["error"]), (f"{self.server.url} (discovery)", None))
        self.assertIn("not logged in", self.tok("status", "-p", "me", "--cache-dir", self.cache).stdout)

    def test_init_on_a_terminal_asks_oauth_for_grant_issuer_and_scopes(self):
        master, slave = pty.openpty()
        try:
            os.write(master, f"oauth\ndevice_code\n{self.server.url}\nmy-cli\n\n".encode())
            proc = subprocess.run([TOK, "init", "-p", "me"], env=self.env, stdin=slave, capture_output=True, text=True,
                                  timeout=30)
        finally:
            os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for question in ("grant: ", "issuer ", "client_id ", "scopes "):
            self.assertIn(question, proc.stderr)
        with open(self.config) as f:
            text = f.read()
        for line in ("grant = device_code", f"issuer = {self.server.url}", "client_id = my-cli",
                     "scopes = openid offline_access"):
            self.assertRegex(text, rf"(?m)^{re.escape(line)}$")
        self.assertNotRegex(text, r"(?m)^(token_url|client_secret_env) =")

    def test_init_asks_on_a_terminal(self):
        master, slave = pty.openpty()
        try:
            os.write(master, b"azure-cli\nhttps://vault.azure.net\n")
            proc = subprocess.run([TOK, "init"], env=self.env, stdin=slave, capture_output=True, text=True,
                                  timeout=30)
        finally:
            os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("provider (", proc.stderr)
        with open(self.config) as f:
            written = f.read()
        self.assertIn("provider = azure-cli", written)
        self.assertIn("resource = https://vault.azure.net", written)


if __name__ == "__main__":
    unittest.main()

"""What a newcomer meets (issue 13): a failing refresh made visible, flags over the config,
near-miss keys, the module missing, -v, default_lifetime, settings that cannot work, --help,
answers without fetching (status --check, profiles, JSON), and cache litter (clear --unused)."""
import json
import os
import re
import shutil
import subprocess
import time

from harness import TOK, TokCase


class Usability(TokCase):
    def write_config(self, text):
        path = os.path.join(self.home, "config")
        with open(path, "w") as f:
            f.write(text)
        self.env["TOK_CONFIG"] = path
        return path

    def profile(self, name="default", **keys):
        values = {"provider": "oauth", "token_url": self.server.token_url, "client_id": "ci", **keys}
        return f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()) + "\n"

    def tok(self, *args, **kw):
        return self.run_tok(*args, "--cache-dir", self.cache, **kw)

    # -- 1. a failing refresh is visible ----------------------------------------------------------

    def make_refresh_fail(self):
        self.get()
        self.edit_entry(stale_in=-1)
        self.server.control(faults=[{"status": 503, "body": "down for maintenance", "times": 100}])
        self.get()  # served stale; the detached refresher fails and starts the cooldown
        self.wait_until(lambda: self.status()["refresh"] == "failing", what="the background failure")

    def test_a_token_served_while_its_refresh_fails_says_so(self):
        self.make_refresh_fail()
        proc = self.run_tok("get", *self.profile_args())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
        self.assertEqual(len(warnings), 1, proc.stderr)
        self.assertRegex(warnings[0], r"serving the cached token \(valid for another \d+m\d*s?.*\) while its "
                                      r"background refresh fails: .*503.* \(failed \d+s ago; not retried until "
                                      r"\d\d:\d\d:\d\d UTC; --force-refresh asks now\)$")
        quiet = self.run_tok("get", "-q", *self.profile_args())
        self.assertEqual((quiet.returncode, quiet.stderr), (0, ""))
        self.assertEqual(json.loads(self.get("--format", "json"))["state"], "stale")

    def test_status_tells_the_truth_while_the_refresh_fails(self):
        self.make_refresh_fail()
        st = self.status()
        self.assertEqual(st["state"], "stale")
        # Both instants, each true: the cooldown is kept beside stale_after and never moves it.
        self.assertIsNotNone(st["stale_after"], "stale_after hidden during the cooldown")
        self.assertLess(st["stale_after"], st["next_attempt"])
        self.assertEqual(st["refresh"], "failing")
        self.assertIn("503", st["last_error"]["message"])
        self.assertTrue(st["usable"])
        self.assertGreater(st["expires_in"], 3000)
        self.assertIsNotNone(st["next_attempt"])
        text = self.run_tok("status", *self.profile_args()).stdout
        self.assertIn("state:        stale (its background refresh is failing)", text)
        self.assertRegex(text, r"last error: .*503")
        # retry_backoff 1m, jittered up to 1m6s: "in 59s", "in 1m" or "in 1m5s"
        self.assertRegex(text, r"next attempt: \S+Z \(in (1m(\d+s)?|\d+s)\)")
        self.assertRegex(text, r"stale after:  \S+Z \(\d+\w* ago\)")
        self.assertRegex(text, r"expires: +\S+Z \(in \d+m")

    # -- 2. flags override the config; near misses ------------------------------------------------

    def test_a_flag_for_one_exclusive_key_replaces_the_other_from_the_file(self):
        self.write_config(self.profile())  # token_url in the file
        proc = self.tok("get", "--issuer", self.server.url)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.server.state.stats()["discovery_requests"], 1, "the flag's issuer was used")
        both = self.write_config(self.profile(issuer=self.server.url))
        proc = self.tok("--config", both, "get")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("not both", proc.stderr)

    def test_near_miss_keys_and_flags_get_a_suggestion(self):
        for key, meant in (("scope", "scopes"), ("client-id", "client_id"), ("tokenurl", "token_url")):
            self.write_config(self.profile(**{key: "x"}))
            proc = self.tok("get")
            self.assertEqual(proc.returncode, 2)
            self.assertIn(f"did you mean '{meant}'?", proc.stderr)
        self.write_config(self.profile())
        proc = self.tok("get", "--scope", "x")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("did you mean 'scopes'?", proc.stderr)
        proc = self.tok("get", "--client-idd", "hunter2")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown flag --client-idd", proc.stderr)
        self.assertIn("did you mean --client-id?", proc.stderr)
        self.assertNotIn("hunter2", proc.stderr, "an unknown flag's value could be a secret")

    # -- 4. the module missing ------------------------------------------------------------------

    def test_a_copied_binary_without_its_module_says_what_to_do(self):
        alone = os.path.join(self.home, "bin")
        os.mkdir(alone)
        shutil.copy(TOK, alone)
        tok = os.path.join(alone, "tok")
        proc = subprocess.run([tok, "get", *self.oauth_args()], env=self.env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 4, "documented: a missing module is 'unavailable'")
        self.assertIn("tok-curl.so not found", proc.stderr)
        self.assertIn(os.path.join(alone, "tok-curl.so"), proc.stderr, "the paths searched")
        self.assertIn(os.path.join(self.home, "lib", "tok", "tok-curl.so"), proc.stderr)
        version = subprocess.run([tok, "version"], capture_output=True, text=True)
        self.assertEqual(version.returncode, 0)
        self.assertRegex(version.stdout, r"tok-curl.so: MISSING \(tok-curl.so not found\): tok cannot fetch tokens")
        info = json.loads(subprocess.run([TOK, "version", "--format", "json"], capture_output=True, text=True).stdout)
        self.assertEqual(info["json_version"], 1)
        curl = next(m for m in info["modules"] if m["file"] == "tok-curl.so")
        self.assertRegex(curl["version"], r"^libcurl/\d")
        # A stale entry and a background refresh that cannot load the module: said, not silent.
        self.get()
        self.edit_entry(stale_in=-1)
        stale = subprocess.run([tok, "get", *self.oauth_args()], env=self.env, capture_output=True, text=True)
        self.assertEqual(stale.returncode, 0)
        self.wait_until(lambda: self.status()["refresh"] == "failing", what="the background failure")
        self.assertIn("tok-curl.so not found", self.status()["last_error"]["message"])

    # -- 5. -v ------------------------------------------------------------------------------------

    def test_verbose_shows_urls_statuses_attempts_times_discovery_and_lock_waits(self):
        self.server.control(faults=[{"status": 503, "retry_after": "0"}])
        proc = self.run_tok("get", "-v", *self.profile_args()[:2], "--issuer", self.server.url,
                            "--client-id", "ci", "--cache-dir", self.cache)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        err = proc.stderr
        self.assertRegex(err, r"GET http://127\.0\.0\.1:\d+/\.well-known/openid-configuration: HTTP 200 in \d+ms")
        self.assertRegex(err, r"token endpoint http://127\.0\.0\.1:\d+/token \(discovered at ")
        self.assertRegex(err, r"POST http://127\.0\.0\.1:\d+/token: HTTP 503 in \d+ms \(attempt 1 of 5\)")
        self.assertRegex(err, r"POST http://127\.0\.0\.1:\d+/token: HTTP 200 in \d+ms \(attempt 2 of 5\)")
        self.assertRegex(err, r"fetched a new token in \d+ms")
        self.assertNotIn(proc.stdout.strip(), err)
        # A lock wait: a second caller behind a slow fetch.
        self.server.control(latency=1.0)
        slow = subprocess.Popen([TOK, "get", "--force-refresh", *self.oauth_args()], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_until(lambda: self.server.token_requests >= 3, what="the slow fetch to start")
        waiter = self.run_tok("get", "-v", "--min-valid", "2h", *self.oauth_args())
        slow.wait(30)
        self.assertRegex(waiter.stderr, r"waited \d\S* for the refresh lock")

    # -- 6. default_lifetime ---------------------------------------------------------------------

    def test_default_lifetime_only_when_the_answer_has_none(self):
        self.server.control(fields={"expires_in": None})
        proc = self.run_tok("get", *self.profile_args())
        self.assertEqual(proc.returncode, 4)
        self.assertIn("default_lifetime", proc.stderr, "the way out is named")
        out = json.loads(self.get("--default-lifetime", "10m", "--format", "json"))
        self.assertTrue(590 <= out["expires_in"] <= 600, out)
        self.server.control(fields={})
        out = json.loads(self.get("--default-lifetime", "10m", "--format", "json", "--force-refresh"))
        self.assertGreater(out["expires_in"], 3000, "the answer's own lifetime wins")

    # -- 7. settings that cannot work --------------------------------------------------------------

    def test_a_stale_window_within_the_buffer_is_warned_about_once(self):
        proc = self.run_tok("get", *self.profile_args("--stale-window", "30s"))
        self.assertEqual(proc.returncode, 0)
        warnings = [line for line in proc.stderr.splitlines() if "stale_window" in line]
        self.assertEqual(len(warnings), 1, proc.stderr)
        self.assertIn("'expiry_buffer' (40s)", warnings[0])
        self.assertIn("never goes stale", warnings[0])
        proc = self.run_tok("get", *self.profile_args("--stale-window", "5m"))
        self.assertEqual(proc.stderr, "")

    # -- 8. --help -----------------------------------------------------------------------------

    def test_help_groups_keys_by_provider_with_defaults_and_shows_globals_and_files(self):
        keys = self.run_tok("help", "keys").stdout
        for heading in ("provider = oauth:", "provider = azure-cli:", "provider = metadata:", "provider = command:",
                        "provider = oidc-federation:", "Any profile (the refresh engine):", "Integrations"):
            self.assertIn(heading, keys)
        self.assertRegex(keys, r"--auth-method +client authentication: .*\(basic\)")
        self.assertNotRegex(keys, r"--token-url VALUE", "bare VALUEs")
        text = self.run_tok("get", "--help").stdout
        self.assertRegex(text, r"--expiry-buffer +\S.* \(40s\)")
        self.assertIn("Global flags, before or after the command: -p/--profile", text)
        self.assertIn("$XDG_CONFIG_HOME/tok/config", text)
        self.assertIn("$XDG_CACHE_HOME/tok", text)
        self.assertIn("6 'tok status --check'", text)
        self.assertNotRegex(text, r"--token-url VALUE", "bare VALUEs")
        # Only the keys get reads (the provider's are one 'tok help keys PROVIDER' away): short.
        self.assertLess(len(text.splitlines()), 40, text)
        self.assertNotIn("--git-hosts", text)
        self.assertNotIn("--token-url", text)

    # -- 9. answers without fetching -----------------------------------------------------------

    def test_status_check_answers_with_the_exit_status_and_fetches_nothing(self):
        check = lambda *a: self.run_tok("status", "--check", *self.profile_args(*a)).returncode  # noqa: E731
        self.assertEqual(check(), 6, "nothing cached")
        self.get()
        self.assertEqual(check(), 0)
        self.assertEqual(check("--min-valid", "2h"), 6, "1 h tokens do not last 2 h")
        self.edit_entry(expires_in=10)
        self.assertEqual(check(), 6, "inside the buffer: get would fetch")
        self.assertEqual(self.server.token_requests, 1)

    def test_status_check_is_one_line_and_a_token_short_of_min_valid_is_valid_not_expired(self):
        check = lambda *a: self.run_tok("status", "--check", *self.profile_args(*a))  # noqa: E731
        proc = check()
        self.assertEqual((proc.returncode, proc.stdout), (6, "default: no token cached\n"))
        self.get()
        proc = check()
        self.assertEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout, r"^default: fresh, expires in (\d+m\d*s?|1h)\n$")
        proc = check("--min-valid", "2h")
        self.assertEqual(proc.returncode, 6, "1 h tokens do not last 2 h")
        self.assertRegex(proc.stdout, r"^default: valid, but less than 2h left \(expires in (\d+m\d*s?|1h)\)\n$")
        text = self.run_tok("status", "--min-valid", "2h", *self.profile_args()).stdout
        self.assertIn("state:        fresh (valid, but less than 2h left)\n", text)
        self.assertNotIn("expired", text)
        st = self.status("--min-valid", "2h")
        self.assertEqual((st["state"], st["usable"]), ("fresh", False), "the state is the truth; usable says no")
        self.edit_entry(expires_in=-90)
        proc = check()
        self.assertEqual(proc.returncode, 6)
        self.assertRegex(proc.stdout, r"^default: expired 1m3\ds ago\n$")

    def test_a_login_profile_nobody_logged_in_to_says_so(self):
        self.write_config(self.profile() + f"[me]\nprovider = oauth\nissuer = {self.server.url}\nclient_id = cli\n"
                          "grant = device_code\n")
        text = self.tok("status", "-p", "me").stdout
        self.assertIn("state:        not logged in (run tok login -p me)\n", text)
        proc = self.tok("status", "-p", "me", "--check")
        self.assertEqual((proc.returncode, proc.stdout), (6, "me: not logged in: run tok login -p me\n"))
        st = json.loads(self.tok("status", "-p", "me", "--format", "json").stdout)
        self.assertEqual((st["state"], st["login"]), ("missing", None))
        self.assertRegex(self.tok("status", "--all").stdout, r"(?m)^  me +oauth +not logged in ")
        self.assertRegex(self.tok("status", "--all").stdout, r"(?m)^\* default +oauth +missing ")
        self.assertEqual(self.server.token_requests, 0)

    def test_status_all_rows_carry_profile_as_status_does(self):
        self.write_config(self.profile() + self.profile("work"))
        one = json.loads(self.tok("status", "-p", "work", "--format", "json").stdout)
        rows = json.loads(self.tok("status", "--all", "--format", "json").stdout)["profiles"]
        self.assertEqual([row["profile"] for row in rows], ["default", "work"])
        self.assertEqual(rows[1]["profile"], one["profile"])
        listed = json.loads(self.tok("profiles", "--format", "json").stdout)["profiles"]
        self.assertEqual([row["profile"] for row in listed], ["default", "work"])

    def test_profiles_and_status_show_provider_endpoint_client_scopes_never_a_secret(self):
        self.write_config(self.profile(scopes="api:read api:write", client_secret_env="WORK_SECRET")
                          + "[broken]\nprovider = oauth\ntoken_url = ftp://x\n\n"
                          + "[az]\nprovider = azure-cli\nresource = https://management.example.com\n\n"
                          + '[cmd]\nprovider = command\ncommand = ["/bin/echo", "s3cret-arg"]\n')
        out = json.loads(self.tok("profiles", "--format", "json").stdout)
        self.assertEqual(out["json_version"], 1)
        by_name = {p["name"]: p for p in out["profiles"]}
        self.assertEqual(by_name["default"], {"name": "default", "profile": "default", "default": True,
                                              "provider": "oauth",
                                              "endpoint": self.server.token_url, "client": "ci",
                                              "scopes": "api:read api:write", "error": None})
        self.assertIn("token_url", by_name["broken"]["error"])
        self.assertEqual(by_name["az"]["endpoint"], "az")
        self.assertEqual(by_name["cmd"]["endpoint"], "/bin/echo")
        text = self.tok("profiles").stdout
        self.assertRegex(text, r"\* default +oauth +http://127\.0\.0\.1:\d+/token")
        self.assertIn("scopes: api:read api:write", text)
        for output in (json.dumps(out), text):
            self.assertNotIn("WORK_SECRET", output)
            self.assertNotIn("s3cret-arg", output)
        st = json.loads(self.tok("status", "--format", "json").stdout)
        self.assertEqual((st["json_version"], st["provider"], st["endpoint"], st["client"], st["scopes"]),
                         (1, "oauth", self.server.token_url, "ci", "api:read api:write"))

    def test_header_says_bearer_whatever_case_the_server_used(self):
        self.server.control(fields={"token_type": "bEaReR"})
        self.assertRegex(self.get("--format", "header"), r"^Authorization: Bearer tok\d+\.")
        self.assertEqual(json.loads(self.get("--format", "json"))["token_type"], "bEaReR")

    # -- 10. cache litter ------------------------------------------------------------------------

    def test_clear_unused_removes_only_entries_no_profile_uses(self):
        self.write_config(self.profile() + self.profile("work", scopes="a"))
        self.assertEqual(self.tok("get").returncode, 0)
        self.assertEqual(self.tok("get", "-p", "work").returncode, 0)
        kept = {self.tok("status", "--format", "json").stdout, self.tok("status", "-p", "work", "--format", "json").stdout}
        kept = {json.loads(s)["cache_file"] for s in kept}
        # An old setting of `work` and an ad-hoc run leave entries behind.
        self.assertEqual(self.tok("get", "-p", "work", "--scopes", "old").returncode, 0)
        self.get("--scopes", "ad-hoc")
        before = set(os.listdir(self.cache))
        proc = self.tok("clear", "--unused")
        self.assertEqual((proc.returncode, proc.stdout), (0, "removed 2 cache entries\n"), proc.stderr)
        entries = {os.path.join(self.cache, n) for n in os.listdir(self.cache) if n.endswith(".json")}
        self.assertEqual(entries, kept, before)
        self.assertEqual(self.tok("clear", "--unused", "--all").returncode, 2, "one or the other")
        # A profile that does not resolve: nothing is removed.
        self.write_config(self.profile() + "[bad]\nprovider = oauth\n")
        proc = self.tok("clear", "--unused")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("nothing was removed", proc.stderr)
        self.assertEqual({os.path.join(self.cache, n) for n in os.listdir(self.cache) if n.endswith(".json")}, kept)


if __name__ == "__main__":
    import unittest
    unittest.main()

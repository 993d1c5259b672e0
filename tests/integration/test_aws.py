"""AWS credentials without the AWS tools (docs/aws.md): provider = command reads credential_process
JSON into a structured credential; `tok get --format credential-process` writes it back; `tok env`
and `tok exec` export AWS's three variables; a profile holding the other kind is a usage error
naming it; the helper's stdout (its secret) appears in no output of tok's, its stderr only
redacted."""
import json
import os
import subprocess
import time
import unittest

from aws_support import SECRET_ACCESS_KEY, SESSION_TOKEN, access_key_id, helper_runs, write_helper
from harness import TOK, TokCase, require_program, write_program

SECRETS = (SECRET_ACCESS_KEY, SESSION_TOKEN)


class Aws(TokCase):
    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.home, "bin")
        os.mkdir(self.bin)
        self.helper = write_helper(self.bin)
        self.config = os.path.join(self.home, "config")
        self.write_config()
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache})

    def write_config(self, extra=""):
        with open(self.config, "w") as f:
            f.write(f"[aws]\nprovider = command\ncommand = {self.helper}\n{extra}\n"
                    f"[bearer]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n")

    def tok(self, *args, expect=0, secrets_allowed=False, env=None):
        proc = subprocess.run([TOK, *args], env=env or self.env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        for secret in SECRETS:
            self.assertNotIn(secret, proc.stderr, "a secret in tok's stderr")
            if not secrets_allowed:
                self.assertNotIn(secret, proc.stdout, "a secret in tok's stdout")
        return proc

    def credential(self, *extra):
        return json.loads(self.tok("get", "-p", "aws", "--format", "credential-process", *extra,
                                   secrets_allowed=True).stdout)

    def test_credential_process_out_is_what_the_helper_printed_and_is_cached(self):
        before = time.time()
        out = self.credential()
        self.assertEqual(set(out), {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"})
        self.assertEqual(out["Version"], 1)
        self.assertEqual(out["AccessKeyId"], access_key_id(1))
        self.assertEqual(out["SecretAccessKey"], SECRET_ACCESS_KEY)
        self.assertEqual(out["SessionToken"], SESSION_TOKEN)
        expiry = time.mktime(time.strptime(out["Expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        self.assertAlmostEqual(expiry, before + 3600, delta=5)
        self.assertEqual(self.credential(), out)
        self.assertEqual(helper_runs(self.bin), 1, "the second call is a cache hit")
        # Nothing else shows the fields: status (-v too), status --format json, the cache file's name.
        self.tok("status", "-p", "aws", "-v")
        status = json.loads(self.tok("status", "-p", "aws", "--format", "json").stdout)
        self.assertEqual(status["state"], "fresh")
        self.tok("get", "-p", "aws", "--format", "credential-process", "-v", secrets_allowed=True)
        for name in os.listdir(self.cache):
            for secret in SECRETS:
                self.assertNotIn(secret, name)

    def test_a_credential_near_its_end_is_refreshed_before_aws_would_refuse_it(self):
        # botocore refuses credentials within 10 minutes of their expiry: tok renews at 11.
        write_helper(self.bin, lifetime=15 * 60)  # 15 minutes, the shortest STS gives
        first = self.credential()
        self.assertEqual(first["AccessKeyId"], access_key_id(1))
        self.edit_entry_aws(expires_in=10 * 60 + 30)
        self.assertEqual(self.credential()["AccessKeyId"], access_key_id(2))
        self.assertEqual(self.credential("--min-valid", "1m")["AccessKeyId"], access_key_id(2))

    def edit_entry_aws(self, expires_in):
        status = json.loads(self.tok("status", "-p", "aws", "--format", "json").stdout)
        with open(status["cache_file"]) as f:
            entry = json.load(f)
        entry["token"]["expiry_ms"] = int((time.time() + expires_in) * 1000)
        tmp = status["cache_file"] + ".test"
        with open(tmp, "w") as f:
            json.dump(entry, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, status["cache_file"])

    def test_the_wrong_kind_for_the_format_is_a_usage_error_naming_the_profile(self):
        for fmt in ("token", "header", "json"):
            proc = self.tok("get", "-p", "aws", "--format", fmt, expect=2)
            self.assertIn("profile 'aws' holds an AWS credential", proc.stderr)
            self.assertIn("credential-process", proc.stderr)
        proc = self.tok("get", "-p", "bearer", "--format", "credential-process", expect=2)
        self.assertIn("profile 'bearer' holds a token, not an AWS credential", proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_front_ends_of_bearer_tokens_refuse_an_aws_credential(self):
        # git, Docker and kubectl would take the access key id for a password: a usage error
        # naming the profile, no credential answered, no secret anywhere. Docker's protocol puts
        # a helper's error on stdout with exit 1; the others use stderr and 2.
        for args, stdin, code in ((["git-credential", "get"], "protocol=https\nhost=example.com\n\n", 2),
                                  (["docker-credential", "get"], "https://registry.example.com\n", 1),
                                  (["kube-credential"], "", 2)):
            proc = subprocess.run([TOK, "-p", "aws", *args], env=self.env, input=stdin, capture_output=True,
                                  text=True, timeout=60)
            self.assertEqual(proc.returncode, code, f"{args}: stdout={proc.stdout!r} stderr={proc.stderr!r}")
            message = proc.stdout if code == 1 else proc.stderr
            if code != 1:
                self.assertEqual(proc.stdout, "", args)
            self.assertIn("profile 'aws' holds an AWS credential, not a bearer token", message, args)
            for secret in SECRETS:
                self.assertNotIn(secret, proc.stderr)
            self.assertNotIn(access_key_id(1), proc.stdout)

    def test_env_and_exec_export_the_three_variables(self):
        out = self.tok("env", "-p", "aws", secrets_allowed=True).stdout
        self.assertEqual(out, f"export AWS_ACCESS_KEY_ID='{access_key_id(1)}'\n"
                              f"export AWS_SECRET_ACCESS_KEY='{SECRET_ACCESS_KEY}'\n"
                              f"export AWS_SESSION_TOKEN='{SESSION_TOKEN}'\n")
        github_env = os.path.join(self.home, "github_env")
        out = self.tok("env", "-p", "aws", "--shell", "github", env=dict(self.env, GITHUB_ENV=github_env),
                       secrets_allowed=True).stdout
        self.assertEqual(out.splitlines(), [f"::add-mask::{v}" for v in (access_key_id(1), SECRET_ACCESS_KEY,
                                                                          SESSION_TOKEN)])
        with open(github_env) as f:
            self.assertEqual(f.read(), f"AWS_ACCESS_KEY_ID={access_key_id(1)}\n"
                                       f"AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY}\nAWS_SESSION_TOKEN={SESSION_TOKEN}\n")
        proc = self.tok("exec", "-p", "aws", "--", "sh", "-c",
                        'printf "%s|%s|%s|%s" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" '
                        '"${TOK_TOKEN-unset}"', secrets_allowed=True)
        self.assertEqual(proc.stdout, f"{access_key_id(1)}|{SECRET_ACCESS_KEY}|{SESSION_TOKEN}|unset")
        self.assertEqual(helper_runs(self.bin), 1)
        proc = self.tok("env", "-p", "aws", "--env-name", "X", expect=2)
        self.assertIn("AWS_ACCESS_KEY_ID", proc.stderr)

    def test_long_term_keys_need_default_lifetime_and_drop_a_stale_session_token(self):
        write_helper(self.bin, lifetime=None)
        proc = self.tok("get", "-p", "aws", "--format", "credential-process", expect=4)
        self.assertIn("without Expiration", proc.stderr)
        self.assertIn("default_lifetime", proc.stderr)
        with open(self.helper) as f:
            body = f.read().replace(', "SessionToken": "' + SESSION_TOKEN + '"', "")
        write_program(self.bin, "aws-helper", body.split("\n", 1)[1])
        self.write_config("default_lifetime = 2h")
        out = self.credential()
        self.assertNotIn("SessionToken", out)
        self.assertIn("Expiration", out)
        proc = self.tok("exec", "-p", "aws", "--", "sh", "-c", 'printf %s "${AWS_SESSION_TOKEN-unset}"',
                        env=dict(self.env, AWS_SESSION_TOKEN="left-over"))
        self.assertEqual(proc.stdout, "unset")
        # tok env too: each shell drops the old session token, evaluated by the shell itself.
        left_over = dict(self.env, AWS_SESSION_TOKEN="left-over")
        for shell, program, script in (("sh", "/bin/sh", 'eval "$(tok env -p aws)"; printf %s "${AWS_SESSION_TOKEN-unset}"'),
                                       ("fish", require_program("fish"),
                                        'tok env -p aws --shell fish | source; '
                                        'set -q AWS_SESSION_TOKEN; and printf %s $AWS_SESSION_TOKEN; or printf unset')):
            proc = subprocess.run([program, "-c", script], env=dict(left_over, PATH=os.path.dirname(TOK) + ":" + self.env.get("PATH", "/usr/bin:/bin")),
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual((proc.returncode, proc.stdout), (0, "unset"), f"{shell}: {proc.stderr}")
        github_env = os.path.join(self.home, "github_env_long_term")
        self.tok("env", "-p", "aws", "--shell", "github", env=dict(left_over, GITHUB_ENV=github_env), secrets_allowed=True)
        with open(github_env) as f:
            self.assertTrue(f.read().endswith("\nAWS_SESSION_TOKEN=\n"), "set empty: $GITHUB_ENV cannot unset")

    def test_a_commands_stdout_is_never_quoted_and_its_stderr_only_redacted(self):
        # The case: AWS JSON where a token was expected (here: a Version tok cannot read),
        # a failing helper that printed its credential and echoes the secret on stderr, JSON
        # without an access token. Each error names what is wrong; no secret anywhere.
        cases = [
            ('printf \'{"Version": 2, "AccessKeyId": "AKIATOK", "SecretAccessKey": "%s"}\\n\' "SECRET"',
             4, "Version is 2"),
            ('printf \'{"Version": 1, "AccessKeyId": "AKIATOK", "SecretAccessKey": "%s"}\\n\' "SECRET"\n'
             'echo "denied: SECRET SESSION is not allowed" >&2\nexit 1', 3, "exit status 1: denied:"),
            ('printf \'{"SecretAccessKey": "%s", "Token": "SESSION"}\\n\' "SECRET"', 4,
             "no access_token, accessToken or AccessKeyId (the JSON has fields SecretAccessKey, Token)"),
            ('printf \'{"AccessKeyId": "AKIATOK", "SecretAccessKey": "SECRET", \\n\'', 4, "not JSON"),
        ]
        for action, code, message in cases:
            with self.subTest(message=message):
                write_program(self.bin, "aws-helper",
                              action.replace("SECRET", SECRET_ACCESS_KEY).replace("SESSION", SESSION_TOKEN) + "\n")
                for args in (("get", "-p", "aws", "--format", "credential-process"), ("refresh", "-p", "aws"),
                             ("get", "-p", "aws", "-v", "--format", "credential-process")):
                    proc = self.tok(*args, expect=code)
                    self.assertIn(message, proc.stderr)
                    self.assertNotIn("body:", proc.stderr)
                    self.assertNotIn(SECRET_ACCESS_KEY[:12], proc.stderr)
                status = self.tok("status", "-p", "aws", "--format", "json", expect=0)
                self.assertNotIn(SECRET_ACCESS_KEY[:12], status.stdout)


if __name__ == "__main__":
    unittest.main()

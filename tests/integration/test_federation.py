"""Secretless CI and key-based clients, end to end with the real binary: oidc-federation with
GitHub Actions' ID-token endpoint (a loopback stand-in that checks the job's bearer and the
audience), GitLab's id_tokens variable and a token file, exchanged by RFC 8693 or as a client
assertion; private_key_jwt's assertion as it reaches the token endpoint. Tokens from both go
through the same engine: cache hits, a stale refresh, a herd."""
import base64
import json
import os
import subprocess
import time
import unittest

from harness import SECRET, TOK, TokCase


def jwt_part(token, index):
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Federation(TokCase):
    def setUp(self):
        super().setUp()
        self.github_env = dict(self.env, ACTIONS_ID_TOKEN_REQUEST_URL=self.server.url + "/github/id-token?api-version=2.0",
                               ACTIONS_ID_TOKEN_REQUEST_TOKEN=self.server.state.id_token_bearer)
        self.env.pop("TOK_CLIENT_SECRET")  # secretless: nothing to leak, nothing needed

    def fed_args(self, *extra, source="github"):
        return ["--provider", "oidc-federation", "--token-url", self.server.token_url, "--id-token-source", source,
                "--cache-dir", self.cache, *extra]

    def fed_get(self, *extra, env=None, expect=0, source="github"):
        proc = self.run_tok("get", *self.fed_args(*extra, source=source), env=env or self.github_env)
        self.assertEqual(proc.returncode, expect, proc.stderr)
        return proc

    def test_github_token_exchange_and_the_engine(self):
        first = self.fed_get("--id-token-audience", "api://tok").stdout.strip()
        stats = self.server.state.stats()
        self.assertEqual(stats["id_token_requests"], [{"audience": "api://tok", "api-version": "2.0"}])
        exchange = stats["requests"][0]
        self.assertEqual(exchange["grant_type"], "urn:ietf:params:oauth:grant-type:token-exchange")
        self.assertEqual(exchange["subject_token_type"], "urn:ietf:params:oauth:token-type:jwt")
        id_token = exchange["subject_token"]
        # A cache hit asks neither GitHub nor the token endpoint, and needs no CI variable at all.
        proc = self.run_tok("get", *self.fed_args("--id-token-audience", "api://tok"), env=self.env)
        self.assertEqual((proc.returncode, proc.stdout.strip()), (0, first))
        self.assertEqual(self.server.token_requests, 1)
        # The ID token is a credential: nowhere in the cache or tok's output.
        for name in os.listdir(self.cache):
            with open(os.path.join(self.cache, name)) as f:
                self.assertNotIn(id_token, f.read())
        self.assertNotIn(id_token, proc.stdout + proc.stderr)
        # Stale: answered at once, one background refresh with a new ID token.
        self.edit_entry_at(self.fed_args("--id-token-audience", "api://tok"), stale_in=-1)
        self.assertEqual(self.fed_get("--id-token-audience", "api://tok").stdout.strip(), first)
        self.wait_until(lambda: self.server.token_requests == 2, what="the background refresh")
        self.assertEqual(len(self.server.state.stats()["id_token_requests"]), 2)

    def edit_entry_at(self, args, stale_in):
        proc = self.run_tok("status", "--format", "json", *args, env=self.env)
        path = json.loads(proc.stdout)["cache_file"]
        with open(path) as f:
            entry = json.load(f)
        entry["stale_after_ms"] = int(time.time() * 1000) + int(stale_in * 1000)
        with open(path + ".t", "w") as f:
            json.dump(entry, f)
        os.chmod(path + ".t", 0o600)
        os.replace(path + ".t", path)

    def test_github_herd_makes_one_id_token_request_and_one_exchange(self):
        self.server.control(latency=0.3)
        procs = [subprocess.Popen([TOK, "get", *self.fed_args()], env=self.github_env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(30)]
        outs = [p.communicate(timeout=60) for p in procs]
        self.assertEqual({p.returncode for p in procs}, {0}, outs[0][1])
        self.assertEqual(len({o[0] for o in outs}), 1)
        self.assertEqual(self.server.token_requests, 1)
        self.assertEqual(len(self.server.state.stats()["id_token_requests"]), 1)

    def test_github_missing_variables_are_named_exit_2(self):
        proc = self.fed_get(env=self.env, expect=2)
        self.assertIn("$ACTIONS_ID_TOKEN_REQUEST_URL and $ACTIONS_ID_TOKEN_REQUEST_TOKEN not set", proc.stderr)
        self.assertIn("id-token: write", proc.stderr)
        env = dict(self.github_env)
        del env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
        proc = self.fed_get(env=env, expect=2)
        self.assertIn("$ACTIONS_ID_TOKEN_REQUEST_TOKEN not set", proc.stderr)
        self.assertEqual(self.server.token_requests, 0)

    def test_github_wrong_request_bearer_is_refused_exit_3(self):
        env = dict(self.github_env, ACTIONS_ID_TOKEN_REQUEST_TOKEN="not-the-jobs-bearer")
        proc = self.fed_get(env=env, expect=3)
        self.assertIn("requesting an ID token from GitHub Actions: HTTP 401", proc.stderr)
        self.assertNotIn("not-the-jobs-bearer", proc.stderr)

    def test_gitlab_client_assertion(self):
        id_token = "eyJ" + "g" * 40 + ".payload." + "s" * 30
        self.server.control(accept_id_tokens=[id_token])
        env = dict(self.env, TOK_CI_ID_TOKEN=id_token)
        proc = self.fed_get("--id-token-env", "TOK_CI_ID_TOKEN", "--exchange", "client-assertion", "--client-id", "app",
                            "--scopes", "api://x/.default", env=env, source="gitlab")
        self.assertTrue(proc.stdout.strip())
        request = self.server.state.stats()["requests"][0]
        self.assertEqual(request["grant_type"], "client_credentials")
        self.assertEqual(request["client_assertion"], id_token)
        self.assertEqual(request["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        self.assertEqual(request["client_id"], "app")
        self.assertNotIn(id_token, proc.stderr)

    def test_gitlab_unset_variable_exit_2(self):
        proc = self.fed_get("--id-token-env", "TOK_CI_ID_TOKEN", env=self.env, expect=2, source="gitlab")
        self.assertIn("$TOK_CI_ID_TOKEN is not set", proc.stderr)

    def test_refused_exchange_is_exit_3_without_the_id_token(self):
        id_token = "eyJ" + "u" * 40 + ".untrusted." + "s" * 30
        env = dict(self.env, TOK_CI_ID_TOKEN=id_token)
        proc = self.fed_get("--id-token-env", "TOK_CI_ID_TOKEN", env=env, expect=3, source="gitlab")
        self.assertIn("invalid_grant", proc.stderr)
        self.assertNotIn(id_token, proc.stderr)

    def test_file_is_read_again_at_each_fetch(self):
        path = os.path.join(self.home, "projected-token")
        tokens = ["eyJ" + c * 40 + ".file." + "s" * 30 for c in "ab"]
        self.server.control(accept_id_tokens=tokens)
        with open(path, "w") as f:
            f.write(tokens[0] + "\n")
        os.chmod(path, 0o644)  # a projected token is the kubelet's, readable by the pod
        self.fed_get("--id-token-file", path, source="file")
        with open(path, "w") as f:
            f.write(tokens[1])
        self.fed_get("--id-token-file", path, "--force-refresh", source="file")
        subjects = [r["subject_token"] for r in self.server.state.stats()["requests"]]
        self.assertEqual(subjects, tokens)

    def test_a_file_others_may_write_is_refused_whoever_owns_it(self):
        # Another user who can replace the file hands tok their identity token
        # (docs/design.md, "Files tok trusts"); any owner is fine, as the kubelet writes it.
        path = os.path.join(self.home, "projected-token")
        token = "eyJ" + "c" * 40 + ".file." + "s" * 30
        self.server.control(accept_id_tokens=[token])
        with open(path, "w") as f:
            f.write(token)
        for mode in (0o666, 0o646):
            with self.subTest(mode=oct(mode)):
                os.chmod(path, mode)
                proc = self.fed_get("--id-token-file", path, source="file", expect=2)
                self.assertIn(f"key 'id_token_file': refusing {path}: it is writable by others", proc.stderr)
                self.assertIn(f"chmod go-w {path}", proc.stderr)
        self.assertEqual(self.server.state.stats()["requests"], [])
        os.chmod(path, 0o644)
        if os.geteuid() == 0:
            os.chown(path, 65534, 65534)  # another owner, writable by it alone: the kubelet's case
        self.fed_get("--id-token-file", path, source="file")


class PrivateKeyJwt(TokCase):
    """The assertion as the token endpoint sees it (signatures are checked by the oidc-provider
    peer test): claims of RFC 7523, a new jti at every fetch, no secret anywhere."""

    def key(self, kind):
        path = os.path.join(self.home, f"{kind}.pem")
        args = (["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] if kind == "rsa" else
                ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        subprocess.run(["openssl", *args, "-out", path], check=True, capture_output=True)
        os.chmod(path, 0o600)
        return path

    def test_claims_jti_and_no_secret(self):
        key = self.key("ec")
        env = {k: v for k, v in self.env.items() if k != "TOK_CLIENT_SECRET"}
        args = ["--auth-method", "private_key_jwt", "--private-key-file", key, "--signing-alg", "ES256",
                "--key-id", "ci-key"]
        self.assertEqual(self.run_tok("get", *self.oauth_args(*args), env=env).returncode, 0)
        self.assertEqual(self.run_tok("get", *self.oauth_args(*args, "--force-refresh"), env=env).returncode, 0)
        requests = self.server.state.stats()["requests"]
        self.assertEqual(len(requests), 2)
        for r in requests:
            self.assertEqual(r["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            self.assertNotIn("client_secret", r)
            self.assertEqual(jwt_part(r["client_assertion"], 0), {"alg": "ES256", "typ": "JWT", "kid": "ci-key"})
            claims = jwt_part(r["client_assertion"], 1)
            self.assertEqual((claims["iss"], claims["sub"], claims["aud"]), ("ci", "ci", self.server.token_url))
            self.assertLessEqual(abs(claims["iat"] - time.time()), 30)
            self.assertEqual(claims["exp"] - claims["iat"], 300)
        jtis = [jwt_part(r["client_assertion"], 1)["jti"] for r in requests]
        self.assertNotEqual(jtis[0], jtis[1])

    def test_a_readable_key_file_is_refused(self):
        key = self.key("rsa")
        os.chmod(key, 0o640)
        proc = self.get("--auth-method", "private_key_jwt", "--private-key-file", key, expect=2)
        self.assertIn("group or others may access it", proc.stderr)
        self.assertEqual(self.server.token_requests, 0)


if __name__ == "__main__":
    unittest.main()

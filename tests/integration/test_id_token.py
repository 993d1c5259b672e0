"""A login's ID token (docs/login.md, "ID tokens"): kept in the entry with the refresh token,
printed by `tok get --id-token` and handed to kubectl by `tok kube-credential --id-token`, each
time refreshed with the refresh token when it is expired or stale by its own `exp`. The entry is
seeded as `tok login` leaves it (the peers test, test_login.py, logs in for real); the loopback
token server answers refresh_token grants with an unsigned JWT id_token."""
import base64
import datetime
import json
import os
import subprocess
import time

from harness import TOK, TokCase
from token_server import unsigned_jwt

V1 = "client.authentication.k8s.io/v1"


def claims_of(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class IdToken(TokCase):
    def setUp(self):
        super().setUp()
        self.server.control(id_token_lifetime=3600)

    def profile_args(self, *extra):
        return ["--provider", "oauth", "--issuer", self.server.url, "--grant", "authorization_code",
                "--client-id", "cli", "--token-storage", "file", "--cache-dir", self.cache, *extra]

    def seed(self, id_exp_in=3600, id_iat_ago=0, access_expires_in=3600, id_token=True, kept=False):
        """The entry a login leaves: access token, refresh token and ID token in one write."""
        now = int(time.time())
        fields = {"refresh_token": "rt-seeded"}
        if id_token:
            self.seeded_id = unsigned_jwt({"iss": self.server.url, "aud": "cli", "sub": "alice",
                                           "iat": now - id_iat_ago, "exp": now + id_exp_in, "n": 0})
            fields["id_token"] = self.seeded_id
        if kept:
            fields["id_token_kept"] = "1"
        os.makedirs(self.cache, mode=0o700, exist_ok=True)
        self.write_entry({
            "schema": 1,
            "token": {"access_token": "at-seeded", "token_type": "Bearer",
                      "expiry_ms": (now + access_expires_in) * 1000, "fields": fields},
            "stale_after_ms": (now + access_expires_in // 2) * 1000, "generation": 1, "last_error": None,
            "memo": {"issuer": self.server.url, "token_endpoint": self.server.token_url,
                     "login_since": "2026-12-07T10:00:00Z"}})

    def grants(self):
        return [r for r in self.server.state.stats()["requests"] if r.get("grant_type") == "refresh_token"]

    def id_get(self, *extra, expect=0):
        proc = self.run_tok("get", "--id-token", *self.profile_args(*extra))
        self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        return proc.stdout.strip() if expect == 0 else proc

    def test_a_fresh_id_token_is_printed_from_the_cache(self):
        self.seed()
        self.assertEqual(self.id_get(), self.seeded_id)
        self.assertEqual(self.server.token_requests, 0)
        self.assertEqual(self.get(), "at-seeded", "plain tok get still prints the access token")

    def test_status_never_prints_it(self):
        self.seed()
        for fmt in ("text", "json"):
            proc = self.run_tok("status", "--format", fmt, *self.profile_args())
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertNotIn(self.seeded_id, proc.stdout + proc.stderr)
            self.assertNotIn(self.seeded_id.split(".")[1], proc.stdout + proc.stderr)
        proc = self.run_tok("get", "--format", "json", *self.profile_args())
        self.assertNotIn(self.seeded_id, proc.stdout)

    def test_json_names_the_id_tokens_own_expiry(self):
        self.seed(id_exp_in=1800)
        doc = json.loads(self.id_get("--format", "json"))
        self.assertEqual(doc["id_token"], self.seeded_id)
        self.assertNotIn("access_token", doc)
        at = datetime.datetime.fromisoformat(doc["expires_at"].replace("Z", "+00:00")).timestamp()
        self.assertEqual(int(at), claims_of(self.seeded_id)["exp"])
        self.assertEqual(self.id_get("--format", "header"), "Authorization: Bearer " + self.seeded_id)

    def test_an_expired_id_token_is_refreshed_with_the_refresh_token(self):
        # The access token has an hour left; the ID token is within the 40 s buffer.
        self.seed(id_exp_in=30)
        got = self.id_get()
        self.assertNotEqual(got, self.seeded_id)
        self.assertEqual(claims_of(got)["aud"], "cli")
        grants = self.grants()
        self.assertEqual(len(grants), 1)
        self.assertEqual(grants[0]["refresh_token"], "rt-seeded")
        # One write: the new access token, refresh token and ID token together.
        entry = self.read_entry()
        self.assertEqual(entry["token"]["fields"]["id_token"], got)
        self.assertTrue(entry["token"]["fields"]["refresh_token"].startswith("rt0001."))
        self.assertEqual(entry["token"]["access_token"], self.server.state.stats()["tokens"][-1])
        self.assertEqual(self.id_get(), got)
        self.assertEqual(self.get(), entry["token"]["access_token"])
        self.assertEqual(self.server.token_requests, 1)

    def test_a_stale_id_token_is_refreshed(self):
        # Issued 100 s ago for 160 s: its stale point (half its life before exp) has passed, its
        # expiry minus the buffer has not.
        self.seed(id_exp_in=60, id_iat_ago=100)
        got = self.id_get()
        self.assertNotEqual(got, self.seeded_id)
        self.assertEqual(len(self.grants()), 1)

    def test_twenty_parallel_callers_cost_one_refresh_token_grant(self):
        self.seed(id_exp_in=10)
        self.server.control(latency=0.3)
        procs = [subprocess.Popen([TOK, "get", "--id-token", *self.profile_args()], env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) for _ in range(20)]
        outs = set()
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
            outs.add(out.strip())
        self.assertEqual(len(outs), 1, "every caller printed the one new ID token")
        self.assertNotIn(self.seeded_id, outs)
        self.assertEqual(len(self.grants()), 1)

    def test_a_refresh_without_an_id_token_keeps_the_old_one_under_its_own_expiry(self):
        self.server.control(refresh_id_token=False)
        self.seed(id_exp_in=3600, access_expires_in=10)
        new_access = self.get()  # the access token is expired: a refresh that brings no ID token
        self.assertNotEqual(new_access, "at-seeded")
        self.assertEqual(self.read_entry()["token"]["fields"]["id_token"], self.seeded_id)
        self.assertEqual(self.id_get(), self.seeded_id)
        self.assertEqual(len(self.grants()), 1)

    def test_a_kept_id_token_is_not_refreshed_for_staleness_but_for_its_expiry(self):
        self.server.control(refresh_id_token=False)
        self.seed(id_exp_in=60, id_iat_ago=100, kept=True)  # stale, not expired
        self.assertEqual(self.id_get(), self.seeded_id)
        self.assertEqual(len(self.grants()), 0, "a refresh would bring none again")
        # Within the buffer of its exp: one refresh, which brought none; still valid, so it is
        # handed out with a warning.
        self.seed(id_exp_in=5, kept=True)
        proc = self.run_tok("get", "--id-token", *self.profile_args())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), self.seeded_id)
        self.assertIn("its refresh brought no new one: run tok login -p", proc.stderr)
        self.assertEqual(len(self.grants()), 1)
        # Past its exp: one more refresh, and then it is an ended login's token (exit 3).
        self.seed(id_exp_in=-5, kept=True)
        proc = self.id_get(expect=3)
        self.assertEqual(proc.stdout, "")
        self.assertIn("brought no new one", proc.stderr)
        self.assertIn("tok login -p", proc.stderr)
        self.assertEqual(len(self.grants()), 2)

    def test_a_profile_without_an_id_token_says_so(self):
        self.seed(id_token=False)
        proc = self.id_get(expect=2)
        self.assertEqual(proc.stdout, "")
        self.assertIn("has no ID token: its provider returned none", proc.stderr)
        self.assertEqual(self.server.token_requests, 0)
        proc = self.run_tok("kube-credential", "--id-token", *self.profile_args())
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_credential_process_is_refused(self):
        self.seed()
        proc = self.id_get("--format", "credential-process", expect=2)
        self.assertIn("--id-token", proc.stderr)

    def kube(self, *extra):
        proc = self.run_tok("kube-credential", *self.profile_args(*extra))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = json.loads(proc.stdout)
        self.assertEqual(doc["apiVersion"], V1)
        return doc["status"]

    def test_kube_credential_hands_kubectl_the_id_token_with_its_own_expiry(self):
        self.seed(id_exp_in=1800, access_expires_in=3600)
        for extra in (["--id-token"], ["--kube-token", "id_token"]):
            status = self.kube(*extra)
            self.assertEqual(status["token"], self.seeded_id)
            at = datetime.datetime.fromisoformat(status["expirationTimestamp"].replace("Z", "+00:00"))
            self.assertEqual(int(at.timestamp()), claims_of(self.seeded_id)["exp"] - 40, "exp minus the buffer")
        self.assertEqual(self.kube()["token"], "at-seeded", "kube_token defaults to access_token")
        self.assertEqual(self.server.token_requests, 0)

    def test_kube_token_is_checked(self):
        self.seed()
        proc = self.run_tok("kube-credential", *self.profile_args("--kube-token", "id-token"))
        self.assertEqual(proc.returncode, 2)
        self.assertIn("kube_token", proc.stderr)

    def test_kube_credential_refreshes_an_expired_id_token(self):
        self.seed(id_exp_in=20)
        status = self.kube("--id-token")
        self.assertNotEqual(status["token"], self.seeded_id)
        self.assertEqual(status["token"], self.read_entry()["token"]["fields"]["id_token"])
        self.assertEqual(len(self.grants()), 1)

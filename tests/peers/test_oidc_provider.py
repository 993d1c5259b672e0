#!/usr/bin/python3
"""Peer test: the real `tok` binary against a real third-party OAuth server.

The server is `oidc-provider` from the npm registry (pinned in
tests/peers/package-lock.json; install with `npm ci` in tests/peers), started
on loopback by tests/peers/oidc_server.mjs with the client_credentials grant.

Environment:
  TOK_BIN   path to the tok binary under test (required; the test fails, it
            never skips, when it is missing)
  NODE      optional path to node (default: `node` on PATH)

Run: TOK_BIN=build/tok /usr/bin/python3 -m unittest -v tests/peers/test_oidc_provider.py

Known oidc-provider facts the negative tests deliberately avoid relying on:
it accepts a secret sent in the form even for a client_secret_basic client,
and it silently drops unknown scopes. It also only accepts client ids and
secrets made of printable ASCII (RFC 6749 Appendix A VSCHAR, %x20-7E), so the
"special characters" here are every ASCII punctuation character plus space;
non-ASCII characters such as "ü" are rejected by the server itself.
"""

import base64
import datetime
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oidc_peer import OidcPeer  # noqa: E402


TTL = 600
SCOPES = ["api:read", "api:write"]

# Every character that RFC 6749 2.3.1 form-urlencoding has to deal with:
# ':' (the Basic separator), '+' (form space), '%', ' ', '/', '=', '&', '?',
# '#', quotes and a backslash.
BASIC_ID = "ci:deployer/+% &=?#\"'~"
BASIC_SECRET = "s3cr:t+/=&?% \"'#\\!$*(),;<>@[]^`{|}"
POST_ID = "poster:+/ %&=?#\"'"
POST_SECRET = "p0st:+/=&?% \"'#\\;"
WRONG_SECRET = "wr0ng:s3cr3t+/=&?% \"'#"

RUN_TIMEOUT = 30      # seconds for one tok run


def _form(s):
    return urllib.parse.quote_plus(s, safe="")


class OidcProviderPeerTest(unittest.TestCase):
    peer = None
    port = None
    tmp = None

    # ----------------------------------------------------------------- setup

    @classmethod
    def setUpClass(cls):
        cls.tok_bin = os.environ.get("TOK_BIN")
        if not cls.tok_bin:
            raise AssertionError("TOK_BIN is not set: point it at the tok binary under test")
        cls.tok_bin = os.path.abspath(cls.tok_bin)
        if not os.access(cls.tok_bin, os.X_OK):
            raise AssertionError(f"TOK_BIN={cls.tok_bin} is not an executable file")

        cls.tmp = tempfile.mkdtemp(prefix="tok-oidc-peer-")
        # private_key_jwt clients: keys made by openssl now, public halves registered as JWKs.
        if not shutil.which("openssl"):
            raise AssertionError("openssl not found (needed to make the private_key_jwt keys)")
        cls.keys = {name: cls._make_key(name, algorithm) for name, algorithm in
                    (("rsa", "RSA"), ("ec", "EC"), ("stranger", "RSA"))}
        cls.peer = OidcPeer({
            "port": 0,
            "ttl": TTL,
            "scopes": SCOPES,
            "clients": [
                {"client_id": BASIC_ID, "client_secret": BASIC_SECRET,
                 "token_endpoint_auth_method": "client_secret_basic"},
                {"client_id": POST_ID, "client_secret": POST_SECRET,
                 "token_endpoint_auth_method": "client_secret_post"},
                {"client_id": "jwt-rs256", "token_endpoint_auth_method": "private_key_jwt",
                 "public_key_pem": cls.keys["rsa"][1], "alg": "RS256"},
                {"client_id": "jwt-es256", "token_endpoint_auth_method": "private_key_jwt",
                 "public_key_pem": cls.keys["ec"][1], "alg": "ES256"},
            ],
        }, cls.tmp)
        cls.port = cls.peer.port
        cls.issuer = f"http://127.0.0.1:{cls.port}"

    @classmethod
    def _make_key(cls, name, algorithm):
        """(private key file, public key PEM)."""
        path = os.path.join(cls.tmp, f"{name}.pem")
        opts = ["-pkeyopt", "rsa_keygen_bits:2048"] if algorithm == "RSA" else ["-pkeyopt", "ec_paramgen_curve:P-256"]
        subprocess.run(["openssl", "genpkey", "-algorithm", algorithm, *opts, "-out", path], check=True,
                       capture_output=True)
        os.chmod(path, 0o600)
        public = subprocess.run(["openssl", "pkey", "-in", path, "-pubout"], check=True, capture_output=True,
                                text=True).stdout
        return path, public

    @classmethod
    def _server_log_text(cls):
        return cls.peer.log()

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "peer", None):
            cls.peer.stop()
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if not self.peer.alive():
            self.fail(f"oidc-provider peer is not running; log:\n{self._server_log_text()}")
        # Each test gets its own HOME, XDG dirs and cache dir.
        self.home = tempfile.mkdtemp(prefix="home-", dir=self.tmp)
        self.cache_dir = tempfile.mkdtemp(prefix="cache-", dir=self.tmp)  # 0700, ours

    # --------------------------------------------------------------- helpers

    def tok(self, *args, secret):
        """Run tok with an isolated environment; secret goes in TOK_CLIENT_SECRET."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TOK_") and not k.startswith("XDG_")}
        env.update({
            "HOME": self.home,
            "TOK_CONFIG": os.path.join(self.home, "no-such-dir", "config"),
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "TOK_CLIENT_SECRET": secret,
            "LC_ALL": "C.UTF-8",
        })
        argv = [self.tok_bin, *args, "--cache-dir", self.cache_dir]
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=RUN_TIMEOUT)
        out = proc.stdout.decode("utf-8", errors="replace")
        err = proc.stderr.decode("utf-8", errors="replace")
        self.assertNoSecret(out, err, secret)
        return proc.returncode, out, err

    def assertNoSecret(self, out, err, secret):
        for name, text in (("stdout", out), ("stderr", err)):
            for form in {secret, _form(secret), urllib.parse.quote(secret, safe="")}:
                self.assertNotIn(form, text, f"the client secret leaked into {name}")

    def oauth_args(self, client_id, method, *, issuer=False, scopes="api:read"):
        where = (["--issuer", self.issuer] if issuer
                 else ["--token-url", f"{self.issuer}/token"])
        return ["get", "--provider", "oauth", *where, "--client-id", client_id,
                "--auth-method", method, "--scopes", scopes]

    def stats(self):
        with urllib.request.urlopen(f"{self.issuer}/__peer/stats", timeout=10) as r:
            return json.load(r)

    def introspect(self, token):
        """Ask oidc-provider itself what the token is (authenticating as the post client)."""
        body = urllib.parse.urlencode({"token": token, "client_id": POST_ID,
                                       "client_secret": POST_SECRET}).encode()
        req = urllib.request.Request(f"{self.issuer}/token/introspection", data=body)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def assertTokenOutput(self, rc, out, err):
        self.assertEqual(rc, 0, f"tok failed: stderr={err!r}")
        self.assertTrue(out.endswith("\n") and out.count("\n") == 1,
                        f"stdout must be the token and one newline, got {out!r}")
        token = out[:-1]
        self.assertTrue(token and not any(c.isspace() for c in token), repr(out))
        return token

    def assertIssuedTo(self, token, client_id, scope="api:read"):
        info = self.introspect(token)
        self.assertTrue(info.get("active"), f"oidc-provider does not know this token: {info}")
        self.assertEqual(info.get("client_id"), client_id)
        self.assertEqual(info.get("scope"), scope)

    # ----------------------------------------------------------------- tests

    def test_basic_auth_special_characters(self):
        before = self.stats()["tokens_issued"]
        rc, out, err = self.tok(*self.oauth_args(BASIC_ID, "basic"), secret=BASIC_SECRET)
        token = self.assertTokenOutput(rc, out, err)
        self.assertEqual(self.stats()["tokens_issued"], before + 1)
        self.assertIssuedTo(token, BASIC_ID)

    def test_post_auth_special_characters(self):
        before = self.stats()["tokens_issued"]
        rc, out, err = self.tok(*self.oauth_args(POST_ID, "post"), secret=POST_SECRET)
        token = self.assertTokenOutput(rc, out, err)
        self.assertEqual(self.stats()["tokens_issued"], before + 1)
        self.assertIssuedTo(token, POST_ID)

    def test_wrong_secret_is_exit_3_invalid_client(self):
        for client_id, method in ((BASIC_ID, "basic"), (POST_ID, "post")):
            with self.subTest(method=method):
                before = self.stats()
                rc, out, err = self.tok(*self.oauth_args(client_id, method),
                                        secret=WRONG_SECRET)
                self.assertEqual(rc, 3, f"stdout={out!r} stderr={err!r}")
                self.assertIn("invalid_client", err)
                self.assertEqual(out, "", "no token may be printed on failure")
                after = self.stats()
                self.assertGreater(after["token_requests"], before["token_requests"],
                                   "tok did not reach the token endpoint")
                self.assertEqual(after["tokens_issued"], before["tokens_issued"])

    def jwt_args(self, client_id, key, alg):
        return ["get", "--provider", "oauth", "--token-url", f"{self.issuer}/token", "--client-id", client_id,
                "--auth-method", "private_key_jwt", "--private-key-file", key, "--signing-alg", alg,
                "--scopes", "api:read"]

    def test_private_key_jwt_rs256_and_es256(self):
        for client_id, key, alg in (("jwt-rs256", "rsa", "RS256"), ("jwt-es256", "ec", "ES256")):
            with self.subTest(alg=alg):
                rc, out, err = self.tok(*self.jwt_args(client_id, self.keys[key][0], alg), secret="unused")
                self.assertIssuedTo(self.assertTokenOutput(rc, out, err), client_id)
                # oidc-provider refuses a replayed jti: a second signed request that succeeds
                # proves the assertion is new each time.
                rc, out, err = self.tok(*self.jwt_args(client_id, self.keys[key][0], alg), "--force-refresh",
                                        secret="unused")
                self.assertIssuedTo(self.assertTokenOutput(rc, out, err), client_id)

    def test_private_key_jwt_with_a_key_the_server_does_not_hold_is_exit_3(self):
        before = self.stats()
        rc, out, err = self.tok(*self.jwt_args("jwt-rs256", self.keys["stranger"][0], "RS256"), secret="unused")
        self.assertEqual(rc, 3, f"stdout={out!r} stderr={err!r}")
        self.assertIn("invalid_client", err)
        self.assertEqual(out, "")
        self.assertEqual(self.stats()["tokens_issued"], before["tokens_issued"])

    def test_status_claims_of_a_jwt_access_token(self):
        resource = "https://api.example.com/"
        args = [*self.oauth_args(BASIC_ID, "basic"), "--resource", resource]
        rc, out, err = self.tok(*args, secret=BASIC_SECRET)
        token = self.assertTokenOutput(rc, out, err)
        self.assertEqual(token.count("."), 2, "a resource gets a JWT access token")
        status = ["status", *args[1:]]
        rc, text, err = self.tok(*status, "--claims", secret=BASIC_SECRET)
        self.assertEqual(rc, 0, err)
        self.assertIn("UNVERIFIED", text)
        self.assertRegex(text, rf"iss: +{re.escape(self.issuer)}\n")
        self.assertRegex(text, rf"aud: +{re.escape(resource)}")
        self.assertRegex(text, r"scope: +api:read")
        self.assertRegex(text, r"exp: +\d+ = ")
        rc, out, err = self.tok(*status, "--claims", "--format", "json", secret=BASIC_SECRET)
        claims = json.loads(out)["claims"]
        self.assertEqual((claims["verified"], claims["format"]), (False, "jwt"))
        self.assertEqual(claims["claims"]["iss"], self.issuer)
        self.assertEqual(claims["header"]["typ"], "at+jwt")
        for part in token.split("."):
            self.assertNotIn(part, text + out, "no part of the token is printed")
        # Without a resource the token is opaque, and says so.
        rc, out, err = self.tok(*self.oauth_args(POST_ID, "post"), secret=POST_SECRET)
        self.assertTokenOutput(rc, out, err)
        rc, text, err = self.tok("status", *self.oauth_args(POST_ID, "post")[1:], "--claims", secret=POST_SECRET)
        self.assertIn("opaque token", text)

    def test_discovery_via_issuer(self):
        before = self.stats()["tokens_issued"]
        rc, out, err = self.tok(*self.oauth_args(BASIC_ID, "basic", issuer=True),
                                secret=BASIC_SECRET)
        token = self.assertTokenOutput(rc, out, err)
        self.assertEqual(self.stats()["tokens_issued"], before + 1)
        self.assertIssuedTo(token, BASIC_ID)

    def test_second_get_is_served_from_cache(self):
        args = self.oauth_args(BASIC_ID, "basic")
        start = time.time()
        rc, out, err = self.tok(*args, "--format", "json", secret=BASIC_SECRET)
        self.assertEqual(rc, 0, f"tok failed: stderr={err!r}")
        first = json.loads(out)
        for key in ("access_token", "token_type", "expires_at", "expires_in", "state",
                    "profile"):
            self.assertIn(key, first)
        self.assertEqual(first["token_type"].lower(), "bearer")
        self.assertIsInstance(first["expires_in"], int)
        self.assertTrue(0 < first["expires_in"] <= TTL, first)
        self.assertTrue(first["expires_at"].endswith("Z"), first["expires_at"])
        expires_at = datetime.datetime.strptime(
            first["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertAlmostEqual(expires_at, start + TTL, delta=30)
        self.assertIssuedTo(first["access_token"], BASIC_ID)

        requests_after_first = self.stats()["token_requests"]
        rc, out, err = self.tok(*args, "--format", "json", secret=BASIC_SECRET)
        self.assertEqual(rc, 0, f"tok failed: stderr={err!r}")
        second = json.loads(out)
        self.assertEqual(second["access_token"], first["access_token"])
        self.assertEqual(second["state"], "fresh")
        # Plain format too, still from the cache.
        rc, out, err = self.tok(*args, secret=BASIC_SECRET)
        self.assertEqual(self.assertTokenOutput(rc, out, err), first["access_token"])
        self.assertEqual(self.stats()["token_requests"], requests_after_first,
                         "a cached token must not cost a request to the token endpoint")

    def test_other_scope_is_not_served_from_cache(self):
        rc, out, err = self.tok(*self.oauth_args(BASIC_ID, "basic"), secret=BASIC_SECRET)
        first = self.assertTokenOutput(rc, out, err)
        before = self.stats()["tokens_issued"]
        rc, out, err = self.tok(*self.oauth_args(BASIC_ID, "basic", scopes="api:read api:write"),
                                secret=BASIC_SECRET)
        second = self.assertTokenOutput(rc, out, err)
        self.assertNotEqual(second, first)
        self.assertEqual(self.stats()["tokens_issued"], before + 1)
        self.assertIssuedTo(second, BASIC_ID, scope="api:read api:write")


if __name__ == "__main__":
    unittest.main(verbosity=2)

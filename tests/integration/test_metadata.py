"""provider = metadata end to end, against loopback servers per flavor that enforce the protocol
(metadata_server.py): they refuse a missing header, a wrong X-Databricks-Host, a missing
api-version. IMDS 410-then-200 and 400; GCP without the answer header; Databricks with a
non-loopback URL (exit 2); App Service; the documented environment variables. Each flavor behind
the engine: a cache hit and one background refresh."""
import base64
import json
import time
import unittest
import urllib.error
import urllib.request

from harness import EngineChecks, TokCase
from metadata_server import MetadataServer

WORKSPACE = "https://ws.cloud.databricks.com"
RESOURCE = "https://vault.azure.net"


def http_get(url, headers=None):
    """(status, body) of a plain request: how the servers treat a client that breaks the rules."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class MetadataCase(TokCase):
    flavor = None

    def setUp(self):
        super().setUp()
        self.md = MetadataServer(self.flavor).start()
        self.addCleanup(self.md.stop)

    def calls(self):
        return self.md.token_requests

    def last(self):
        return self.md.requests[-1]


class Databricks(EngineChecks, MetadataCase):
    flavor = "databricks"

    def profile_args(self, *extra):
        return ["--provider", "metadata", "--flavor", "databricks", "--url", self.md.url, "--host", WORKSPACE,
                "--cache-dir", self.cache, *extra]

    def test_the_server_enforces_the_protocol(self):
        self.assertEqual(http_get(self.md.url)[0], 400)
        self.assertEqual(http_get(self.md.url, {"X-Databricks-Metadata-Version": "1",
                                                "X-Databricks-Host": "https://other.example"})[0], 403)
        self.assertEqual(http_get(self.md.url, {"X-Databricks-Metadata-Version": "1",
                                                "X-Databricks-Host": WORKSPACE})[0], 200)

    def test_get_sends_both_headers(self):
        out = self.get_json()
        self.assertTrue(out["access_token"].startswith("databricks0001."))
        self.assertTrue(3590 <= out["expires_in"] <= 3600)
        self.assertEqual(self.last()["headers"]["x-databricks-metadata-version"], "1")
        self.assertEqual(self.last()["headers"]["x-databricks-host"], WORKSPACE)

    def test_a_wrong_host_is_refused_with_the_server_message(self):
        proc = self.get("--host", "https://other.cloud.databricks.com", expect=3)
        self.assertIn("X-Databricks-Host does not match this workspace", proc.stderr)

    def test_url_and_host_from_the_environment(self):
        env = {**self.env, "DATABRICKS_METADATA_SERVICE_URL": self.md.url, "DATABRICKS_HOST": WORKSPACE}
        proc = self.run_tok("get", "--provider", "metadata", "--flavor", "databricks", "--cache-dir", self.cache,
                            env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.calls(), 1)

    def test_a_url_off_this_machine_is_a_configuration_error(self):
        # TEST-NET-1: never routed, and never contacted: the check happens before any I/O.
        proc = self.run_tok("get", "--provider", "metadata", "--flavor", "databricks", "--url",
                            "http://192.0.2.1:8789/token", "--host", WORKSPACE, "--cache-dir", self.cache)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("localhost, 127.0.0.1 or [::1]", proc.stderr)

    def test_404_is_exit_4(self):
        proc = self.get("--url", self.md.base + "/elsewhere", expect=4)
        self.assertIn("metadata service not available at", proc.stderr)


class AzureImds(EngineChecks, MetadataCase):
    flavor = "azure-imds"

    def profile_args(self, *extra):
        return ["--provider", "metadata", "--flavor", "azure-imds", "--url", self.md.url, "--resource", RESOURCE,
                "--cache-dir", self.cache, *extra]

    def test_the_server_enforces_the_protocol(self):
        query = "?api-version=2018-02-01&resource=r"
        self.assertEqual(http_get(self.md.url + query)[0], 400)  # no Metadata: true
        status, body = http_get(self.md.url + "?resource=r", {"Metadata": "true"})
        self.assertEqual(status, 400)
        self.assertIn("api-version", body)
        self.assertEqual(http_get(self.md.url + query, {"Metadata": "true", "X-Forwarded-For": "1.2.3.4"})[0], 400)
        self.assertEqual(http_get(self.md.url + query, {"Metadata": "true"})[0], 200)

    def test_get_sends_api_version_resource_identity_and_header(self):
        out = self.get_json("--client-id", "11111111-2222-3333-4444-555555555555")
        self.assertTrue(out["access_token"].startswith("azureimds0001."))
        self.assertEqual(self.last()["query"], {"api-version": "2018-02-01", "resource": RESOURCE,
                                                "client_id": "11111111-2222-3333-4444-555555555555"})
        self.assertEqual(self.last()["headers"]["metadata"], "true")

    def test_410_while_starting_then_200(self):
        self.md.fault(times=2, status=410, json={"error": "starting"})
        out = self.get_json()
        self.assertTrue(out["access_token"].startswith("azureimds"))
        self.assertEqual(self.calls(), 3)

    def test_400_is_exit_3_at_once(self):
        self.md.fault(times=3, status=400, json={"error": "invalid_request",
                                                 "error_description": "Identity not found"})
        proc = self.get(expect=3)
        self.assertIn("no managed identity", proc.stderr)
        self.assertIn("Identity not found", proc.stderr)
        self.assertEqual(self.calls(), 1)

    def test_5xx_is_retried(self):
        self.md.fault(times=2, status=503, body="busy")
        self.get()
        self.assertEqual(self.calls(), 3)

    def test_the_pod_identity_host_replaces_the_authority(self):
        env = {**self.env, "AZURE_POD_IDENTITY_AUTHORITY_HOST": self.md.base + "/"}
        proc = self.run_tok("get", "--provider", "metadata", "--flavor", "azure-imds", "--resource", RESOURCE,
                            "--cache-dir", self.cache, env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.last()["path"], "/metadata/identity/oauth2/token")


class AppService(EngineChecks, MetadataCase):
    flavor = "app-service"

    def setUp(self):
        super().setUp()
        self.secret = self.md.state.identity_header
        self.env = {**self.env, "IDENTITY_ENDPOINT": self.md.url, "IDENTITY_HEADER": self.secret}

    def profile_args(self, *extra):
        return ["--provider", "metadata", "--flavor", "azure-imds", "--resource", RESOURCE,
                "--cache-dir", self.cache, *extra]

    def test_the_server_enforces_the_protocol(self):
        query = "?api-version=2019-08-01&resource=r"
        self.assertEqual(http_get(self.md.url + query)[0], 401)
        self.assertEqual(http_get(self.md.url + "?resource=r", {"X-IDENTITY-HEADER": self.secret})[0], 400)
        self.assertEqual(http_get(self.md.url + query, {"X-IDENTITY-HEADER": self.secret})[0], 200)

    def test_the_app_service_endpoint_and_its_secret_header(self):
        proc = self.run_tok("get", "-v", *self.profile_args("--object-id", "oid"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.last()["query"], {"api-version": "2019-08-01", "resource": RESOURCE,
                                                "principal_id": "oid"})
        self.assertEqual(self.last()["headers"]["x-identity-header"], self.secret)
        self.assertNotIn(self.secret, proc.stderr)
        with open(self.entry_path("--object-id", "oid")) as f:
            self.assertNotIn(self.secret, f.read())

    def test_a_wrong_header_is_refused_and_not_shown(self):
        proc = self.get(env={**self.env, "IDENTITY_HEADER": "wrong-header-value-0123456789"}, expect=3)
        self.assertIn("HTTP 401", proc.stderr)
        self.assertNotIn("wrong-header-value", proc.stderr)


class Gcp(EngineChecks, MetadataCase):
    flavor = "gcp"

    def profile_args(self, *extra):
        return ["--provider", "metadata", "--flavor", "gcp", "--url", self.md.base, "--cache-dir", self.cache,
                *extra]

    def test_the_server_enforces_the_protocol(self):
        url = self.md.base + "/computeMetadata/v1/instance/service-accounts/default/token"
        self.assertEqual(http_get(url)[0], 403)
        self.assertEqual(http_get(url, {"Metadata-Flavor": "Google"})[0], 200)

    def test_get_asks_for_the_account_and_scopes(self):
        out = self.get_json("--account", "tok@localhost", "--scopes", "https://www.googleapis.com/auth/cloud-platform")
        self.assertTrue(out["access_token"].startswith("gcp0001."))
        self.assertEqual(self.last()["path"], "/computeMetadata/v1/instance/service-accounts/tok@localhost/token")
        self.assertEqual(self.last()["query"], {"scopes": "https://www.googleapis.com/auth/cloud-platform"})
        self.assertEqual(self.last()["headers"]["metadata-flavor"], "Google")

    def test_an_unknown_account_is_exit_3(self):
        proc = self.get("--account", "nobody@example.iam.gserviceaccount.com", expect=3)
        self.assertIn("no service account", proc.stderr)

    def test_an_answer_without_metadata_flavor_is_exit_4(self):
        self.md.state.flavor_header = False
        proc = self.get(expect=4)
        self.assertIn("Metadata-Flavor: Google", proc.stderr)
        self.assertIn("not a GCP metadata server", proc.stderr)

    def test_gce_metadata_host_and_root(self):
        for variable in ("GCE_METADATA_HOST", "GCE_METADATA_ROOT"):
            with self.subTest(variable=variable):
                env = {**self.env, variable: f"127.0.0.1:{self.md.port}"}
                proc = self.run_tok("get", "--force-refresh", "--provider", "metadata", "--flavor", "gcp",
                                    "--cache-dir", self.cache, env=env)
                self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.calls(), 2)


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class GcpIdentity(MetadataCase):
    """flavor = gcp with id_token_audience: identity tokens from .../identity?audience=...&format=full
    (gcloud auth print-identity-token's request), a JWT whose exp is the expiry, cached per
    audience."""
    flavor = "gcp"
    AUDIENCE = "https://api.example.com/run?x=1&y=a b+c/é"

    def profile_args(self, *extra):
        return ["--provider", "metadata", "--flavor", "gcp", "--url", self.md.base, "--cache-dir", self.cache,
                *extra]

    def test_two_audiences_two_entries_each_cached(self):
        a1 = self.get("--id-token-audience", "https://a.example.com")
        b1 = self.get("--id-token-audience", "https://b.example.com")
        self.assertEqual(self.calls(), 2)
        self.assertEqual(self.get("--id-token-audience", "https://a.example.com"), a1)
        self.assertEqual(self.get("--id-token-audience", "https://b.example.com"), b1)
        self.assertEqual(self.calls(), 2, "each audience's token is cached")
        self.assertNotEqual(a1, b1)
        self.assertEqual(jwt_claims(a1)["aud"], "https://a.example.com")
        self.assertEqual(jwt_claims(b1)["aud"], "https://b.example.com")
        self.assertNotEqual(self.entry_path("--id-token-audience", "https://a.example.com"),
                            self.entry_path("--id-token-audience", "https://b.example.com"),
                            "the audience is part of the cache key")
        out = self.get_json("--id-token-audience", "https://a.example.com")
        self.assertEqual(out["access_token"], a1)
        self.assertEqual(out["expires_at"][:19], time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(jwt_claims(a1)["exp"])))
        self.assertEqual(self.md.requests[0]["path"],
                         "/computeMetadata/v1/instance/service-accounts/default/identity")
        self.assertEqual(self.md.requests[0]["headers"]["metadata-flavor"], "Google")

    def test_the_audience_is_url_encoded(self):
        token = self.get("--id-token-audience", self.AUDIENCE)
        self.assertEqual(self.last()["query"], {"audience": self.AUDIENCE, "format": "full"})
        self.assertEqual(self.last()["raw_query"],
                         "audience=https%3A%2F%2Fapi.example.com%2Frun%3Fx%3D1%26y%3Da%20b%2Bc%2F%C3%A9&format=full")
        self.assertEqual(jwt_claims(token)["aud"], self.AUDIENCE)

    def test_a_non_jwt_answer_is_a_clear_error(self):
        for body in ("<html>not a token</html>", '{"access_token": "x", "expires_in": 3600}', "abc.def"):
            with self.subTest(body=body):
                self.md.state.identity_answer = body
                proc = self.get("--id-token-audience", "https://a.example.com", "--force-refresh", expect=4)
                self.assertIn("not an identity token", proc.stderr)
                self.assertNotIn("not a token</html>", proc.stderr)

    def test_scopes_with_an_audience_is_a_usage_error(self):
        proc = self.get("--id-token-audience", "https://a.example.com", "--scopes", "openid", expect=2)
        self.assertIn("scopes", proc.stderr)
        self.assertEqual(self.calls(), 0)


if __name__ == "__main__":
    unittest.main()

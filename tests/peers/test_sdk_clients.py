"""tok serve against the vendors' own clients, from Debian's packages and run with
/usr/bin/python3: azure-identity's ManagedIdentityCredential (python3-azure) and google-auth's
compute_engine.Credentials (python3-google-auth), plus a Databricks client that follows the
Databricks SDKs' metadata-service rules; azure-identity also through the App Service protocol
with its per-run secret, and google.auth.default() through the metadata server's root probe.
Each client runs in its own process, because both libraries read their environment variables
when they are imported."""
import json
import os
import subprocess
import textwrap
import time
import unittest
import urllib.parse
import urllib.request

from serve_harness import HOST, RESOURCE, ServeCase

PYTHON = "/usr/bin/python3"


def run_client(code, env):
    proc = subprocess.run([PYTHON, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"client failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class SdkClients(ServeCase):
    def setUp(self):
        super().setUp()
        for module in ("azure.identity", "google.auth", "requests"):
            probe = subprocess.run([PYTHON, "-c", f"import {module}"], capture_output=True, text=True)
            if probe.returncode != 0:
                self.fail(f"{PYTHON} cannot import {module}: run scripts/install-deps.sh "
                          "(python3-azure, python3-google-auth, python3-requests)")
        self.start_serve()
        # The clients' environment: nothing of the caller's proxies or cloud settings.
        self.client_env = {k: v for k, v in os.environ.items()
                           if not k.lower().endswith("_proxy") and not k.startswith(("AZURE_", "GCE_", "IDENTITY_",
                                                                                        "MSI_", "DATABRICKS_"))}

    def token_now(self):
        """What `tok serve` hands out now, via its own Databricks endpoint."""
        req = urllib.request.Request(self.databricks_url, headers={
            "X-Databricks-Metadata-Version": "1", "X-Databricks-Host": HOST})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def test_azure_identity_managed_identity_credential(self):
        env = dict(self.client_env, AZURE_POD_IDENTITY_AUTHORITY_HOST=self.base)
        got = run_client(f"""
            import json
            from azure.identity import ManagedIdentityCredential
            token = ManagedIdentityCredential().get_token({RESOURCE.rstrip('/') + '/.default'!r})
            print(json.dumps({{"token": token.token, "expires_on": token.expires_on}}))
            """, env)
        expected = self.token_now()
        self.assertEqual(got["token"], expected["access_token"])
        self.assertEqual(got["expires_on"], expected["expires_on"])
        self.assertEqual(self.server.token_requests, 1, "one fetch serves every protocol and client")

    def test_azure_identity_app_service_with_its_secret_header(self):
        # ManagedIdentityCredential prefers App Service when IDENTITY_ENDPOINT and IDENTITY_HEADER
        # are set: it sends the header's value back as X-IDENTITY-HEADER on every request.
        code = f"""
            import json
            from azure.identity import ManagedIdentityCredential
            from azure.core.exceptions import ClientAuthenticationError
            try:
                token = ManagedIdentityCredential().get_token({RESOURCE.rstrip('/') + '/.default'!r})
                print(json.dumps({{"token": token.token, "expires_on": token.expires_on}}))
            except ClientAuthenticationError as e:
                print(json.dumps({{"refused": str(e)[:200]}}))
            """
        env = dict(self.client_env, IDENTITY_ENDPOINT=self.identity_endpoint, IDENTITY_HEADER=self.identity_header)
        got = run_client(code, env)
        expected = self.token_now()
        self.assertEqual(got.get("token"), expected["access_token"], got)
        self.assertEqual(got["expires_on"], expected["expires_on"])
        # Any other secret (a process that did not get the printed one) gets no token.
        env["IDENTITY_HEADER"] = "0" * len(self.identity_header)
        got = run_client(code, env)
        self.assertIn("refused", got)
        self.assertNotIn(expected["access_token"], json.dumps(got))

    def test_google_auth_default_finds_the_metadata_server(self):
        # google.auth.default() decides it runs on GCE when GET / (GCE_METADATA_IP) answers 200 with
        # Metadata-Flavor: Google; no gcloud configuration or key file may answer first.
        empty = os.path.join(self.home, "empty-home")
        os.makedirs(empty, exist_ok=True)
        env = dict(self.client_env, GCE_METADATA_IP=self.authority, GCE_METADATA_ROOT=self.authority,
                   GCE_METADATA_HOST=self.authority, HOME=empty, CLOUDSDK_CONFIG=empty)
        env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
        got = run_client("""
            import json
            import google.auth
            import google.auth.transport.requests
            from google.auth import compute_engine
            credentials, project = google.auth.default()
            assert isinstance(credentials, compute_engine.Credentials), type(credentials)
            credentials.refresh(google.auth.transport.requests.Request())
            print(json.dumps({"token": credentials.token}))
            """, env)
        self.assertEqual(got["token"], self.token_now()["access_token"])

    def test_google_auth_compute_engine_credentials(self):
        env = dict(self.client_env, GCE_METADATA_ROOT=self.authority, GCE_METADATA_HOST=self.authority)
        got = run_client("""
            import json
            import google.auth.transport.requests
            from google.auth import compute_engine
            credentials = compute_engine.Credentials()
            credentials.refresh(google.auth.transport.requests.Request())
            print(json.dumps({"token": credentials.token, "email": credentials.service_account_email,
                              "expiry": credentials.expiry.isoformat()}))
            """, env)
        expected = self.token_now()
        self.assertEqual(got["token"], expected["access_token"])
        self.assertEqual(got["email"], "tok@localhost")
        self.assertEqual(self.server.token_requests, 1)

    def test_databricks_metadata_service_client(self):
        # The rules of the Databricks SDKs' metadata-service credentials: the URL must be on
        # localhost, the request carries the version and host headers, expires_on is epoch seconds,
        # and the token goes out as "<token_type> <access_token>".
        env = dict(self.client_env, DATABRICKS_METADATA_SERVICE_URL=self.databricks_url,
                   DATABRICKS_HOST=HOST)
        got = run_client("""
            import json, os, time, urllib.parse
            import requests
            url, host = os.environ["DATABRICKS_METADATA_SERVICE_URL"], os.environ["DATABRICKS_HOST"]
            if urllib.parse.urlparse(url).hostname not in ("localhost", "127.0.0.1"):
                raise SystemExit("metadata service URL must be on localhost")
            resp = requests.get(url, timeout=10, proxies={"http": None, "https": None},
                                headers={"X-Databricks-Metadata-Version": "1", "X-Databricks-Host": host})
            resp.raise_for_status()
            body = resp.json()
            expires_on = float(body["expires_on"])
            assert expires_on > time.time(), "expired token"
            print(json.dumps({"authorization": f"{body['token_type']} {body['access_token']}",
                              "expires_on": expires_on}))
            """, env)
        expected = self.token_now()
        self.assertEqual(got["authorization"], "Bearer " + expected["access_token"])
        self.assertEqual(got["expires_on"], expected["expires_on"])


if __name__ == "__main__":
    unittest.main()

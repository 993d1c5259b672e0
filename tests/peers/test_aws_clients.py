"""AWS's own clients against tok (docs/aws.md): the real AWS CLI v2 (Debian's awscli, always
/usr/bin/aws: another `aws` may come first on PATH) with `credential_process = tok get ...
--format credential-process`, and botocore (Debian's python3-botocore, /usr/bin/python3) through
`tok serve --aws-ecs`. Every aws run has its own config files, us-east-1, no instance metadata,
and no endpoint but the test's loopback STS stand-in."""
import json
import os
import shlex
import subprocess
import textwrap
import time
import unittest

from aws_support import (ACCOUNT, SECRET_ACCESS_KEY, SESSION_TOKEN, StsStandIn, access_key_id, helper_runs,
                         write_helper)
from harness import TOK, TokCase
from serve_harness import ServeCase

AWS = "/usr/bin/aws"
PYTHON = "/usr/bin/python3"


def aws_env(home, config, **extra):
    """Only what the run needs: nothing of the caller's AWS or tok settings."""
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "AWS_CONFIG_FILE": config,
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "aws-credentials"), "AWS_REGION": "us-east-1",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "", "AWS_CLI_AUTO_PROMPT": "off"}
    for name in ("TOK_BIN", "TOK_BUILD_DIR", "TOK_TEST_SANITIZE", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS",
                 "LSAN_OPTIONS"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


class AwsCli(TokCase):
    def setUp(self):
        super().setUp()
        if not os.access(AWS, os.X_OK):
            self.fail(f"{AWS} is missing: scripts/install-deps.sh installs Debian's awscli")
        self.bin = os.path.join(self.home, "bin")
        os.mkdir(self.bin)
        self.helper = write_helper(self.bin)
        self.tok_config = os.path.join(self.home, "tok-config")
        with open(self.tok_config, "w") as f:
            f.write(f"[aws]\nprovider = command\ncommand = {self.helper}\n")
        self.aws_config = os.path.join(self.home, "aws-config")
        with open(self.aws_config, "w") as f:
            f.write("[profile dev]\nregion = us-east-1\n"
                    f"credential_process = {shlex.quote(TOK)} get -p aws --format credential-process\n")
        with open(os.path.join(self.home, "aws-credentials"), "w"):
            pass
        self.env.update({"TOK_CONFIG": self.tok_config, "TOK_CACHE_DIR": self.cache})
        self.aws_env = aws_env(self.home, self.aws_config, TOK_CONFIG=self.tok_config, TOK_CACHE_DIR=self.cache)

    def profile_args(self, *extra):
        return ["-p", "aws", *extra]

    def aws(self, *args):
        proc = subprocess.run([AWS, "--profile", "dev", *args], env=self.aws_env, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, f"aws {args}: {proc.stderr}")
        return proc.stdout

    def test_export_credentials_returns_the_cached_fields(self):
        for _ in range(2):
            out = json.loads(self.aws("configure", "export-credentials", "--format", "process"))
            self.assertEqual(out["AccessKeyId"], access_key_id(1))
            self.assertEqual(out["SecretAccessKey"], SECRET_ACCESS_KEY)
            self.assertEqual(out["SessionToken"], SESSION_TOKEN)
            self.assertIn("Expiration", out)
        self.assertEqual(helper_runs(self.bin), 1, "the second aws run took tok's cached credential")

    def test_sts_get_caller_identity_signs_with_the_cached_credential(self):
        sts = StsStandIn(lambda: access_key_id(1)).start()
        self.addCleanup(sts.stop)
        out = json.loads(self.aws("sts", "get-caller-identity", "--endpoint-url", sts.url, "--output", "json"))
        self.assertEqual(out["Account"], ACCOUNT)
        self.assertEqual(out["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/tok-test/{access_key_id(1)}")
        self.assertEqual(sts.seen, [(access_key_id(1), SESSION_TOKEN)])

    def fifty(self):
        procs = [subprocess.Popen([AWS, "--profile", "dev", "configure", "export-credentials"], env=self.aws_env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) for _ in range(50)]
        results = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err)
            results.append(json.loads(out)["AccessKeyId"])
        return results

    def test_fifty_aws_runs_run_the_helper_once_on_a_stale_and_on_an_expired_entry(self):
        started = time.monotonic()
        self.aws("configure", "export-credentials")
        self.assertEqual(helper_runs(self.bin), 1)
        # Stale: each gets the cached credential at once, or the new one when it started after the
        # one background refresh committed it; that refresh is the helper's only run.
        self.edit_entry(stale_in=-1)
        self.assertLessEqual(set(self.fifty()), {access_key_id(1), access_key_id(2)})
        self.wait_until(lambda: self.status()["generation"] == 2, what="the background refresh to commit")
        time.sleep(0.3)
        self.assertEqual(helper_runs(self.bin), 2, "one background refresh for 50 aws runs")
        # Expired: all 50 wait for one blocking refresh and get its credential.
        self.edit_entry(expires_in=-1, stale_in=-1)
        self.assertEqual(set(self.fifty()), {access_key_id(3)})
        self.assertEqual(helper_runs(self.bin), 3, "one blocking refresh for 50 aws runs")
        print(f"\n101 aws runs in {time.monotonic() - started:.1f}s", flush=True)


class Botocore(ServeCase):
    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.home, "bin")
        os.mkdir(self.bin)
        write_helper(self.bin)
        with open(self.config, "a") as f:
            f.write(f"[aws]\nprovider = command\ncommand = {os.path.join(self.bin, 'aws-helper')}\n")
        probe = subprocess.run([PYTHON, "-c", "import botocore"], capture_output=True, text=True)
        if probe.returncode != 0:
            self.fail(f"{PYTHON} cannot import botocore: scripts/install-deps.sh installs python3-botocore")

    def botocore(self, code, **variables):
        env = aws_env(self.home, os.path.join(self.home, "no-aws-config"), **variables)
        proc = subprocess.run([PYTHON, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def test_botocore_gets_the_credential_from_tok_serve_and_is_refused_without_the_token(self):
        self.start_serve(protocols=("--aws-ecs", "aws"))
        variables = dict(kv.split("=", 1) for kv in self.banner.split() if kv.startswith("AWS_CONTAINER_"))
        self.assertEqual(variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"], self.base + "/aws/ecs/credentials")
        self.assertRegex(variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"], r"^[0-9a-f]{32}$")
        sts = StsStandIn(lambda: access_key_id(1)).start()
        self.addCleanup(sts.stop)
        # The SDK's own resolution: the environment variables, then a signed request with them.
        out = self.botocore(f"""
            import json
            import botocore.session
            session = botocore.session.Session()
            credentials = session.get_credentials()
            frozen = credentials.get_frozen_credentials()
            client = session.create_client("sts", region_name="us-east-1", endpoint_url={sts.url!r})
            identity = client.get_caller_identity()
            print(json.dumps({{"method": credentials.method, "access_key": frozen.access_key,
                               "secret_key": frozen.secret_key, "token": frozen.token,
                               "arn": identity["Arn"]}}))
            """, **variables)
        self.assertEqual(out, {"method": "container-role", "access_key": access_key_id(1),
                               "secret_key": SECRET_ACCESS_KEY, "token": SESSION_TOKEN,
                               "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/tok-test/{access_key_id(1)}"})
        self.assertEqual(sts.seen, [(access_key_id(1), SESSION_TOKEN)])
        # Without the token, or with another: botocore's ContainerProvider gets 401 (its own
        # retries, without their one-second sleeps) and no credential.
        refused = f"""
            import json, os
            from botocore.credentials import ContainerProvider
            from botocore.exceptions import CredentialRetrievalError
            from botocore.utils import ContainerMetadataFetcher
            try:
                ContainerProvider(fetcher=ContainerMetadataFetcher(sleep=lambda seconds: None)).load()
                print(json.dumps("served"))
            except CredentialRetrievalError as e:
                print(json.dumps(str(e)))
            """
        uri = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"]}
        for extra in ({}, {"AWS_CONTAINER_AUTHORIZATION_TOKEN": "0" * 32}):
            message = self.botocore(refused, **uri, **extra)
            self.assertIn("Received non 200 response (401)", message)
            self.assertNotIn(SECRET_ACCESS_KEY, message)
        self.assertEqual(helper_runs(self.bin), 1)

    def test_botocore_through_tok_serve_gets_the_credential_tok_get_cached(self):
        # One engine per host: the credential `tok get` cached is the one botocore is handed, and
        # a restart of serve keeps its variables and runs the helper (an MFA prompt) no more.
        cached = self.run_tok("get", "-p", "aws", "--format", "credential-process")
        self.assertEqual(cached.returncode, 0, cached.stderr)
        self.assertEqual(json.loads(cached.stdout)["AccessKeyId"], access_key_id(1))
        code = """
            import json
            import botocore.session
            print(json.dumps(botocore.session.Session().get_credentials().get_frozen_credentials().access_key))
            """
        for _ in range(2):
            proc = self.start_serve(protocols=("--aws-ecs", "aws"))
            variables = dict(kv.split("=", 1) for kv in self.banner.split() if kv.startswith("AWS_CONTAINER_"))
            self.assertEqual(self.botocore(code, **variables), access_key_id(1))
            self.stop_serve(proc)
        self.assertEqual(helper_runs(self.bin), 1, "the helper ran once, for tok get")


if __name__ == "__main__":
    unittest.main()

"""Peer: the real Azure CLI (Debian's azure-cli, installed by scripts/install-deps.sh), not logged
in (HOME is an empty directory), behind `tok get --provider azure-cli`: exit 3, with az's own
advice on stderr.

az must not reach the network from a test: its telemetry is off, and every proxy variable points
at a closed loopback port, so its update check fails at once instead of calling out."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import TOK, tok_env

AZ = "/usr/bin/az"
RESOURCE = "https://management.azure.com/"
DEAD_PROXY = "http://127.0.0.1:9"


class RealAzureCli(unittest.TestCase):
    def setUp(self):
        if not TOK or not os.access(TOK, os.X_OK):
            raise AssertionError("TOK_BIN must point at the tok binary under test")
        if not os.access(AZ, os.X_OK):
            raise AssertionError(f"the real Azure CLI is needed at {AZ}: run scripts/install-deps.sh "
                                 "(Debian package azure-cli)")
        self.home = tempfile.mkdtemp(prefix="tok-az-peer-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.env = tok_env(self.home, AZURE_CORE_COLLECT_TELEMETRY="false", AZURE_CORE_NO_COLOR="true",
                           HTTPS_PROXY=DEAD_PROXY, HTTP_PROXY=DEAD_PROXY, https_proxy=DEAD_PROXY,
                           http_proxy=DEAD_PROXY, PATH="/usr/bin:/bin")
        for name in ("AZURE_CONFIG_DIR", "NO_PROXY", "no_proxy"):
            self.env.pop(name, None)
        self.cache = os.path.join(self.home, "cache")

    def az_own_error(self):
        proc = subprocess.run([AZ, "account", "get-access-token", "--output", "json", "--resource", RESOURCE],
                              env=self.env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertNotEqual(proc.returncode, 0, "az is logged in here: HOME should have made it a fresh install")
        lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
        self.assertTrue(lines, f"az printed no ERROR line: {proc.stderr!r}")
        return lines[0].strip()

    def tok_get(self, *extra):
        # az_timeout 90 s, not the default 30: a fresh az has taken over 30 s to start on a loaded
        # 2-core machine, and these tests are about az's advice, not the timeout (unit-tested).
        return subprocess.run([TOK, "get", "--provider", "azure-cli", "--resource", RESOURCE, "--cache-dir",
                               self.cache, "--az-timeout", "90s", *extra], env=self.env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    def test_not_logged_in_is_exit_3_with_az_own_advice(self):
        advice = self.az_own_error()
        self.assertIn("az login", advice)
        proc = self.tok_get("--az-path", AZ)
        self.assertEqual(proc.returncode, 3, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn(f"tok: default: az account get-access-token: {advice}", proc.stderr)
        self.assertIn("tok: hint: run 'az login'", proc.stderr)

    def test_az_found_on_path(self):
        proc = self.tok_get()
        self.assertEqual(proc.returncode, 3, proc.stderr)
        self.assertIn("az login", proc.stderr)


if __name__ == "__main__":
    unittest.main()

"""provider = azure-cli end to end, with stand-in `az` programs the tests write: expires_on;
expiresOn only, in local time under several TZ values, for tokens whose life crosses a daylight
saving change; "Please run 'az login'"; a hang (killed at the deadline, no zombie: checked in
/proc); garbage; az missing. Behind the engine: a cache hit and one background refresh."""
import calendar
import json
import os
import time
import unittest
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from harness import EngineChecks, TokCase, process_state, set_child_subreaper, write_program

RESOURCE = "https://management.azure.com/"

# Records each call and its argv, then does what the test put in ACTION.
AZ = """# stand-in az
printf '%s\\n' "$*" >> "DIR/calls"
printf '%s\\0' "$@" > "DIR/args"
n=$(wc -l < "DIR/calls" | tr -d ' ')
ACTION
"""


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class AzureCli(EngineChecks, TokCase):
    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.home, "bin")
        os.mkdir(self.bin)
        self.expires_on = int(time.time()) + 3600
        self.answer_json(f'"expiresOn": "2000-01-01 00:00:00.000000", "expires_on": {self.expires_on}')

    def stand_in(self, action):
        self.az = write_program(self.bin, "az", AZ.replace("DIR", self.bin).replace("ACTION", action))

    def answer_json(self, expiry_fields):
        self.stand_in('cat <<EOF\n{"accessToken": "aztoken$n.standin", ' + expiry_fields +
                      ', "subscription": "00000000-0000-0000-0000-000000000000", "tenant": "t", '
                      '"tokenType": "Bearer"}\nEOF')

    def profile_args(self, *extra):
        return ["--provider", "azure-cli", "--resource", RESOURCE, "--az-path", self.az, "--cache-dir", self.cache,
                *extra]

    def calls(self):
        try:
            with open(os.path.join(self.bin, "calls")) as f:
                return len(f.readlines())
        except FileNotFoundError:
            return 0

    def args(self):
        with open(os.path.join(self.bin, "args")) as f:
            return f.read().split("\0")[:-1]

    def test_runs_az_with_an_argv_and_reads_expires_on(self):
        out = self.get_json("--tenant", "contoso; rm -rf ~", "--subscription", "my sub")
        self.assertEqual(out["access_token"], "aztoken1.standin")
        self.assertEqual(out["token_type"], "Bearer")
        self.assertEqual(out["expires_at"], rfc3339(self.expires_on))  # expires_on wins over expiresOn
        self.assertEqual(self.args(), ["account", "get-access-token", "--output", "json", "--resource", RESOURCE,
                                       "--tenant", "contoso; rm -rf ~", "--subscription", "my sub"])

    def test_scope_instead_of_resource(self):
        proc = self.run_tok("get", "--provider", "azure-cli", "--scope", "https://graph.microsoft.com/.default",
                            "--az-path", self.az, "--cache-dir", self.cache)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.args()[-2:], ["--scope", "https://graph.microsoft.com/.default"])

    def test_expires_on_in_local_time_under_several_time_zones(self):
        # For each zone, an expiry just after its next daylight saving change (the token's life
        # crosses it), printed the way older az does: local wall time, no offset.
        now = datetime.now(timezone.utc).replace(microsecond=0)
        for zone in ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]:
            with self.subTest(zone=zone):
                tz = ZoneInfo(zone)
                expiry, crossing = now + timedelta(hours=2), None
                t = now
                while t < now + timedelta(days=360):
                    if (t + timedelta(hours=1)).astimezone(tz).utcoffset() != t.astimezone(tz).utcoffset():
                        crossing = t + timedelta(hours=1)
                        expiry = crossing + timedelta(hours=6)
                        break
                    t += timedelta(hours=1)
                if zone != "UTC":
                    self.assertIsNotNone(crossing, f"{zone} has no DST change within a year: pick another zone")
                    # Converting with today's offset instead of the one at that date is wrong:
                    self.assertNotEqual(now.astimezone(tz).utcoffset(), expiry.astimezone(tz).utcoffset())
                local = expiry.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S.000000")
                self.answer_json(f'"expiresOn": "{local}"')
                cache = os.path.join(self.home, "cache-" + zone.replace("/", "-"))
                proc = self.run_tok("get", "--format", "json", "--provider", "azure-cli", "--resource", RESOURCE,
                                    "--az-path", self.az, "--cache-dir", cache, env={**self.env, "TZ": zone})
                self.assertEqual(proc.returncode, 0, proc.stderr)

                self.assertEqual(json.loads(proc.stdout)["expires_at"], rfc3339(calendar.timegm(expiry.timetuple())),
                                 f"az printed {local} in {zone}")

    def test_not_logged_in_is_exit_3_with_az_advice(self):
        self.stand_in("echo \"WARNING: a warning comes first\" >&2\n"
                      "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1")
        proc = self.get(expect=3)
        self.assertIn("az account get-access-token: ERROR: Please run 'az login' to setup account.", proc.stderr)
        self.assertIn("tok: hint: run 'az login'", proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(self.status()["state"], "missing")

    def test_other_failures_are_exit_4_quoted(self):
        self.stand_in("echo \"ERROR: (ResourceNotFound) The subscription 'x' could not be found.\" >&2\nexit 1")
        proc = self.get(expect=4)
        self.assertIn("ERROR: (ResourceNotFound) The subscription 'x' could not be found.", proc.stderr)

    def test_a_hang_is_killed_at_the_deadline_and_reaped(self):
        set_child_subreaper(True)
        self.addCleanup(set_child_subreaper, False)
        self.stand_in('echo $$ > "DIR/pid"\nsleep 60 &\necho $! > "DIR/grandchild"\nwait'.replace("DIR", self.bin))
        started = time.monotonic()
        proc = self.get("--az-timeout", "1s", expect=4)
        elapsed = time.monotonic() - started
        self.assertIn("no answer within 1s; killed", proc.stderr)
        self.assertGreaterEqual(elapsed, 1.0)
        self.assertLess(elapsed, 6.0)
        with open(os.path.join(self.bin, "pid")) as f:
            az = int(f.read())
        with open(os.path.join(self.bin, "grandchild")) as f:
            grandchild = int(f.read())
        # tok reaped az: had it not, az would have come to us as a zombie when tok exited.
        self.assertIsNone(process_state(az), "az was left behind (a zombie, or still running)")
        # The group was killed: the orphaned sleep came to us dead (a zombie we now reap).
        self.assertIn(process_state(grandchild), ("Z", None), "az's child survived the kill")
        if process_state(grandchild) == "Z":
            os.waitpid(grandchild, 0)

    def test_the_refresh_timeout_also_bounds_az(self):
        self.stand_in("sleep 60")
        started = time.monotonic()
        self.get("--refresh-timeout", "1s", expect=4)
        self.assertLess(time.monotonic() - started, 6.0)

    def test_garbage_is_exit_4_quoted(self):
        self.stand_in("echo 'Traceback (most recent call last):'\necho '  File \"/usr/bin/az\", line 1'")
        proc = self.get(expect=4)
        self.assertIn("not JSON", proc.stderr)
        self.assertIn("Traceback (most recent call last):", proc.stderr)

    def test_az_missing_is_exit_4_saying_how_to_fix_it(self):
        proc = self.run_tok("get", "--provider", "azure-cli", "--resource", RESOURCE, "--az-path",
                            os.path.join(self.bin, "no-such-az"), "--cache-dir", self.cache)
        self.assertEqual(proc.returncode, 4)
        self.assertIn("Azure CLI not found; install it or set az_path", proc.stderr)
        # The default: `az` looked up on PATH, here a directory without it.
        empty = os.path.join(self.home, "empty")
        os.mkdir(empty)
        proc = self.run_tok("get", "--provider", "azure-cli", "--resource", RESOURCE, "--cache-dir", self.cache,
                            env={**self.env, "PATH": empty})
        self.assertEqual(proc.returncode, 4)
        self.assertIn("Azure CLI not found; install it or set az_path", proc.stderr)
        self.assertIn("tok: hint:", proc.stderr)


if __name__ == "__main__":
    unittest.main()

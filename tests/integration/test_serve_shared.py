"""tok serve on the shared cache and as a service: every served protocol hands out the entry
`tok get` reads and refreshes (either order, one request to the token source, a refresh committed
by `tok get` served next, 50 `tok get` and 50 served requests across a stale point and an expiry);
the token is fetched at start; the secrets are kept per user in a 0600 file, reused by a restart,
changed by --rotate-secrets and refused when the file is not private; --print-env evaluated by
real sh and fish; socket activation under systemd-socket-activate; the shipped systemd units."""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from aws_support import access_key_id, helper_runs, write_helper
from harness import ROOT, SECRET, TOK, require_program
from serve_harness import HOST, RESOURCE, ServeCase
from test_serve import DATABRICKS, GCP_TOKEN, GOOGLE, fetch

PROTOCOLS = ("--databricks", "--azure-imds", "--gcp", "--aws-ecs")
APP_SERVICE_QUERY = "api-version=2019-08-01&resource=" + urllib.parse.quote(RESOURCE, safe="")


def variables_of(banner):
    """NAME=value pairs of the start-up lines."""
    return dict(kv.split("=", 1) for kv in banner.split() if re.match(r"^[A-Z_]+=", kv))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SharedCase(ServeCase):
    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.home, "bin")
        os.mkdir(self.bin)
        write_helper(self.bin)
        with open(self.config, "a") as f:
            f.write(f"[aws]\nprovider = command\ncommand = {os.path.join(self.bin, 'aws-helper')}\n")

    def profile_args(self, *extra):
        return ["-p", "ws", *extra]

    def served(self, flag, variables=None):
        """What a client of protocol `flag` is handed, through the variables the banner gave:
        the bearer token, or for AWS the access key id."""
        v = variables or variables_of(self.banner)
        if flag == "--databricks":
            status, _, body = fetch(v["DATABRICKS_METADATA_SERVICE_URL"], DATABRICKS)
        elif flag == "--azure-imds":
            status, _, body = fetch(f"{v['IDENTITY_ENDPOINT']}?{APP_SERVICE_QUERY}",
                                    {"X-IDENTITY-HEADER": v["IDENTITY_HEADER"]})
        elif flag == "--gcp":
            status, _, body = fetch(f"http://{v['GCE_METADATA_HOST']}{GCP_TOKEN}", GOOGLE)
        else:
            status, _, body = fetch(v["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                                    {"Authorization": v["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
        self.assertEqual(status, 200, body)
        answer = json.loads(body)
        return answer["AccessKeyId"] if flag == "--aws-ecs" else answer["access_token"]

    def cached(self, flag, *extra):
        """What `tok get` prints for the profile `flag` is served from."""
        if flag == "--aws-ecs":
            out = self.run_tok("get", "-p", "aws", "--format", "credential-process", *extra)
            self.assertEqual(out.returncode, 0, out.stderr)
            return json.loads(out.stdout)["AccessKeyId"]
        out = self.run_tok("get", "-p", "ws", *extra)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.strip()

    def requests(self, flag):
        """What the profile's token source has seen."""
        return helper_runs(self.bin) if flag == "--aws-ecs" else self.server.token_requests

    def profile_of(self, flag):
        return "aws" if flag == "--aws-ecs" else "ws"


class SharedCache(SharedCase):
    def test_tok_get_first_then_each_protocol_serves_the_cached_token(self):
        for flag in PROTOCOLS:
            with self.subTest(flag=flag):
                token = self.cached(flag)
                self.assertEqual(self.requests(flag), 1)
                proc = self.start_serve(protocols=(flag, self.profile_of(flag)))
                self.assertEqual(self.served(flag), token, "the SDK gets the token tok get cached")
                self.assertEqual(self.requests(flag), 1, "no second request: serve read the shared cache")
                self.stop_serve(proc)

    def test_serve_first_then_tok_get_prints_the_served_token(self):
        for flag in PROTOCOLS:
            with self.subTest(flag=flag):
                self.run_tok("clear", "--all")
                before = self.requests(flag)
                proc = self.start_serve(protocols=(flag, self.profile_of(flag)))
                token = self.served(flag)
                self.assertEqual(self.cached(flag), token, "tok get prints the token serve fetched")
                self.assertEqual(self.requests(flag), before + 1)
                self.stop_serve(proc)

    def test_a_refresh_committed_by_tok_get_is_what_serve_hands_out_next(self):
        self.start_serve(protocols=("--gcp", "ws", "--aws-ecs", "aws"))
        for flag in ("--gcp", "--aws-ecs"):
            with self.subTest(flag=flag):
                old = self.served(flag)
                new = self.cached(flag, "--force-refresh")
                self.assertNotEqual(new, old)
                self.assertEqual(self.served(flag), new, "never a token older than the cache's")
                self.assertEqual(self.served(flag), new)

    def test_the_token_is_fetched_at_start_before_any_client_asks(self):
        self.start_serve(protocols=("--gcp", "ws", "--aws-ecs", "aws"))
        self.wait_until(lambda: self.server.token_requests == 1 and helper_runs(self.bin) == 1, what="the warm-up")
        self.assertEqual(self.served("--gcp"), self.cached("--gcp"))
        self.assertEqual(self.served("--aws-ecs"), access_key_id(1))
        self.assertEqual((self.server.token_requests, helper_runs(self.bin)), (1, 1))

    def hundred_callers(self):
        """50 `tok get` and 50 served requests at once: the tokens they got."""
        results, lock = [], threading.Lock()

        def client():
            token = self.served("--gcp")
            with lock:
                results.append(token)

        threads = [threading.Thread(target=client) for _ in range(50)]
        procs = [subprocess.Popen([TOK, "get", "-p", "ws"], env=self.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) for _ in range(50)]
        for t in threads:
            t.start()
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
            results.append(out.strip())
        for t in threads:
            t.join()
        self.assertEqual(len(results), 100)
        return results

    def test_fifty_gets_and_fifty_served_requests_across_a_stale_point_and_an_expiry(self):
        self.start_serve(protocols=("--gcp", "ws"))
        first = self.served("--gcp")
        self.assertEqual(self.server.token_requests, 1)
        # Stale: every caller is served the cached token at once; one background refresh in all.
        self.edit_entry(stale_in=-1)
        self.server.control(latency=1.0)
        stale = set(self.hundred_callers())
        self.wait_until(lambda: self.read_entry()["generation"] == 2, what="the one background refresh")
        self.assertEqual(self.server.token_requests, 2, "one refresh for 100 callers of two kinds")
        self.assertIn(first, stale, "stale tokens are served at once")
        self.assertLessEqual(stale, set(self.server.state.stats()["tokens"]))
        self.assertEqual(self.served("--gcp"), self.cached("--gcp"))
        # Expired: one blocking refresh, whose token every caller gets.
        self.server.control(latency=0.5)
        self.edit_entry(expires_in=-1, stale_in=-1)
        self.assertEqual(set(self.hundred_callers()), {self.server.state.stats()["tokens"][2]})
        self.assertEqual(self.server.token_requests, 3)


class Secrets(SharedCase):
    def start_all(self, *args):
        proc = self.start_serve(*args, protocols=("--databricks", "ws", "--azure-imds", "ws", "--gcp", "ws",
                                                  "--aws-ecs", "aws"))
        return proc, variables_of(self.banner)

    @staticmethod
    def secrets_of(v):
        return (urllib.parse.urlparse(v["DATABRICKS_METADATA_SERVICE_URL"]).path, v["IDENTITY_HEADER"],
                v["AWS_CONTAINER_AUTHORIZATION_TOKEN"])

    def test_a_restart_keeps_the_secrets_and_rotate_secrets_changes_them(self):
        proc, first = self.start_all()
        secrets_file = os.path.join(self.cache, "serve.secrets")
        self.assertEqual(stat.S_IMODE(os.stat(secrets_file).st_mode), 0o600)
        self.stop_serve(proc)
        proc, second = self.start_all()
        self.assertEqual(self.secrets_of(second), self.secrets_of(first), "a restart keeps every secret")
        for flag in PROTOCOLS:
            self.served(flag, second)
        self.stop_serve(proc)

        proc, rotated = self.start_all("--rotate-secrets")
        for old, new in zip(self.secrets_of(first), self.secrets_of(rotated)):
            self.assertNotEqual(old, new)
            self.assertRegex(new.replace("/databricks/", "").replace("/token", ""), r"^[0-9a-f]{32}$")
        for flag in PROTOCOLS:
            self.served(flag, rotated)
        old_path = self.secrets_of(first)[0]
        self.assertEqual(fetch(self.base + old_path, DATABRICKS)[0], 404)
        self.assertEqual(fetch(f"{self.base}/msi/token?{APP_SERVICE_QUERY}",
                               {"X-IDENTITY-HEADER": first["IDENTITY_HEADER"]})[0], 401)
        self.assertEqual(fetch(self.base + "/aws/ecs/credentials",
                               {"Authorization": first["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})[0], 401)
        self.stop_serve(proc)
        _, after = self.start_all()
        self.assertEqual(self.secrets_of(after), self.secrets_of(rotated), "the rotated secrets are kept")

    def test_a_secrets_file_others_can_read_or_write_is_refused(self):
        proc, _ = self.start_all()
        self.stop_serve(proc)
        secrets_file = os.path.join(self.cache, "serve.secrets")
        for mode in (0o640, 0o604, 0o620):
            with self.subTest(mode=oct(mode)):
                os.chmod(secrets_file, mode)
                for args in (["--gcp", "ws"], ["--print-env", "--gcp", "ws"]):
                    out = self.run_tok("serve", "--listen", "127.0.0.1:8789", *args)
                    self.assertEqual(out.returncode, 5, out.stderr)
                    self.assertIn(f"refusing to use {secrets_file}", out.stderr)
                    self.assertEqual(out.stdout, "")
        os.chmod(secrets_file, 0o600)
        os.unlink(secrets_file)
        os.symlink(os.path.join(self.home, "elsewhere"), secrets_file)
        out = self.run_tok("serve", "--listen", "127.0.0.1:0", "--gcp", "ws")
        self.assertEqual(out.returncode, 5, out.stderr)
        self.assertIn("symlink", out.stderr)

    def test_a_damaged_secrets_file_is_replaced_with_a_warning(self):
        os.makedirs(self.cache, mode=0o700, exist_ok=True)
        secrets_file = os.path.join(self.cache, "serve.secrets")
        with open(secrets_file, "w") as f:
            f.write('{"databricks": "x"}')
        os.chmod(secrets_file, 0o600)
        self.start_all()
        self.assertIn("serve.secrets is damaged", self.serve_log())
        with open(secrets_file) as f:
            kept = json.load(f)
        self.assertEqual(kept["aws_ecs"], variables_of(self.banner)["AWS_CONTAINER_AUTHORIZATION_TOKEN"])


class PrintEnv(SharedCase):
    ALL = ("--databricks", "ws", "--azure-imds", "ws", "--gcp", "ws", "--aws-ecs", "aws")

    def print_env_in(self, shell_argv, script, port):
        """Runs the shell with `script` (TOK and PORT filled in) and returns the environment it
        prints (env -0)."""
        env = dict(self.env, TOK=TOK, PORT=str(port))
        proc = subprocess.run([*shell_argv, script], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return dict(line.split("=", 1) for line in proc.stdout.split("\0") if "=" in line)

    def test_variables_evaluated_by_sh_and_fish_are_accepted_by_a_running_serve(self):
        self.start_serve(protocols=self.ALL)
        port = self.authority.rsplit(":", 1)[1]
        flags = " ".join(self.ALL)
        shells = {
            "sh": ([require_program("sh"), "-c"],
                   f'eval "$("$TOK" serve --print-env --listen 127.0.0.1:$PORT {flags})" && env -0'),
            "fish": ([require_program("fish"), "--no-config", "-c"],
                     f'$TOK serve --print-env --shell fish --listen 127.0.0.1:$PORT {flags} | source; and env -0'),
        }
        banner = variables_of(self.banner)
        for name, (argv, script) in shells.items():
            with self.subTest(shell=name):
                got = self.print_env_in(argv, script, port)
                for variable, value in banner.items():
                    self.assertEqual(got.get(variable), value, variable)
                for flag in PROTOCOLS:
                    self.served(flag, got)

    def test_print_env_starts_no_server_and_needs_a_fixed_port(self):
        out = self.run_tok("serve", "--print-env", "--listen", "127.0.0.1:0", "--gcp", "ws")
        self.assertEqual(out.returncode, 2)
        self.assertIn("fixed port", out.stderr)
        port = free_port()
        out = self.run_tok("serve", "--print-env", "--listen", f"127.0.0.1:{port}", "--gcp", "ws", timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, f"export GCE_METADATA_HOST='127.0.0.1:{port}'\n"
                                     f"export GCE_METADATA_ROOT='127.0.0.1:{port}'\n"
                                     f"export GCE_METADATA_IP='127.0.0.1:{port}'\n")
        self.assertEqual(self.server.token_requests, 0, "--print-env fetches nothing")
        with socket.socket() as s:
            self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0, "and listens nowhere")
        out = self.run_tok("serve", "--shell", "fish", "--gcp", "ws")
        self.assertEqual(out.returncode, 2, "--shell without --print-env")

    def test_github_lines_go_to_github_env_with_the_secrets_masked(self):
        github_env = os.path.join(self.home, "github_env")
        out = self.run_tok("serve", "--print-env", "--shell", "github", "--aws-ecs", "aws",
                           env=dict(self.env, GITHUB_ENV=github_env))
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(os.path.join(self.cache, "serve.secrets")) as f:
            secret = json.load(f)["aws_ecs"]
        self.assertEqual(out.stdout, f"::add-mask::{secret}\n")
        with open(github_env) as f:
            self.assertEqual(f.read(), "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:8789/aws/ecs/credentials\n"
                                       f"AWS_CONTAINER_AUTHORIZATION_TOKEN={secret}\n")


class SocketActivation(SharedCase):
    def test_serve_answers_on_the_socket_systemd_passes(self):
        activate = require_program("systemd-socket-activate")
        port = free_port()
        passed = [f"--setenv={k}={v}" for k, v in self.env.items()]
        err = open(os.path.join(self.home, "activate.err"), "w+")
        self.addCleanup(err.close)
        proc = subprocess.Popen([activate, "--listen", f"127.0.0.1:{port}", *passed, TOK, "serve",
                                 "--listen", "127.0.0.1:1", "--gcp", "ws", "-v"],
                                stdout=subprocess.PIPE, stderr=err, text=True, stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait(), proc.stdout.close()))

        def listening():
            err.seek(0)
            return "Listening on" in err.read()

        self.wait_until(listening, what="systemd-socket-activate to listen")
        # tok starts at the first connection, with the listening socket as descriptor 3.
        status, headers, body = fetch(f"http://127.0.0.1:{port}{GCP_TOKEN}", GOOGLE)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["access_token"], self.cached("--gcp"))
        self.assertEqual(proc.stdout.readline(), f"tok serve: listening on http://127.0.0.1:{port}\n")
        self.assertEqual(fetch(f"http://127.0.0.1:{port}{GCP_TOKEN}", {"Host": "evil.example", **GOOGLE})[0], 403)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=20), 0)
        err.seek(0)
        self.assertIn("serving on the socket passed by socket activation (127.0.0.1:", err.read())

    def test_a_passed_socket_for_another_process_is_not_taken(self):
        # LISTEN_PID names someone else: the variables are not ours, --listen is used.
        proc = self.start_serve(protocols=("--gcp", "ws"), env=dict(self.env, LISTEN_PID="1", LISTEN_FDS="1"))
        self.assertEqual(self.served("--gcp"), self.cached("--gcp"))
        self.stop_serve(proc)


class Units(SharedCase):
    def test_systemd_analyze_verify_accepts_the_shipped_units(self):
        analyze = require_program("systemd-analyze")
        units = tempfile.mkdtemp(prefix="tok-units-")
        self.addCleanup(shutil.rmtree, units, True)
        with open(os.path.join(ROOT, "packaging", "tok-serve.service.in")) as f:
            service = f.read()
        self.assertIn("ExecStart=@TOK_BINDIR@/tok serve $TOK_SERVE_ARGS", service)
        with open(os.path.join(units, "tok-serve.service"), "w") as f:
            f.write(service.replace("@TOK_BINDIR@", os.path.dirname(TOK)))
        shutil.copy(os.path.join(ROOT, "packaging", "tok-serve.socket"), units)
        runtime = os.path.join(units, "run")
        os.mkdir(runtime, 0o700)
        proc = subprocess.run([analyze, "verify", "--user", "--man=no", "tok-serve.socket", "tok-serve.service"],
                              cwd=units, env=dict(os.environ, XDG_RUNTIME_DIR=runtime, HOME=self.home),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))
        with open(os.path.join(units, "tok-serve.socket")) as f:
            self.assertIn("ListenStream=127.0.0.1:8789", f.read(), "the default --listen, for --print-env")


if __name__ == "__main__":
    unittest.main()

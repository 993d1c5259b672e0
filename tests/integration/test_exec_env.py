"""tok exec and tok env: the token for CI steps and scripts.

exec replaces itself with the command (its exit status, signals and stdio are the caller's; no
token, no command); env prints what each shell or CI system reads back exactly, GitHub's mask
first. The README's CI snippets are run here as written."""
import json
import os
import re
import select
import subprocess
import unittest

from harness import SECRET, TOK, TokCase, path_with_tok, readme_block, require_program

# Every character RFC 6750's b64token allows besides letters and digits.
FANCY_TOKEN = "t0k-._~+/en=="


class ExecEnv(TokCase):
    def setUp(self):
        super().setUp()
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w") as f:
            f.write(f"[ci]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n")
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache})
        self.work = os.path.join(self.home, "work")
        os.mkdir(self.work)

    def tok(self, *args, expect=None, env=None, stdin=None, cwd=None):
        proc = subprocess.run([TOK, *args], env=env or self.env, capture_output=True, text=True, timeout=60,
                              input=stdin, cwd=cwd or self.work)
        for stream in (proc.stdout, proc.stderr):
            self.assertNotIn(SECRET, stream)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        return proc

    def token(self):
        return self.tok("get", "-p", "ci", expect=0).stdout.strip()

    # -- exec -----------------------------------------------------------------------------------

    def test_exec_passes_the_exit_status_and_sets_the_variable(self):
        proc = self.tok("exec", "-p", "ci", "--", "sh", "-c", 'printf %s "$TOK_TOKEN"; exit 7', expect=7)
        self.assertEqual(proc.stdout, self.token())
        self.assertEqual(proc.stderr, "")
        self.assertEqual(self.server.token_requests, 1)
        proc = self.tok("exec", "-p", "ci", "--env-name", "API_TOKEN", "--", "sh", "-c",
                        'printf "%s|%s" "$API_TOKEN" "${TOK_TOKEN-unset}"', expect=0)
        self.assertEqual(proc.stdout, f"{self.token()}|unset")

    def test_exec_replaces_tok_so_signals_and_stdin_are_the_commands(self):
        p = subprocess.Popen([TOK, "exec", "-p", "ci", "--", "sh", "-c", 'echo $$; kill -TERM $$'], env=self.env,
                             stdout=subprocess.PIPE, text=True)
        out, _ = p.communicate(timeout=60)
        self.assertEqual(int(out), p.pid, "the command runs in tok's own process")
        self.assertEqual(p.returncode, -15, "the caller sees the signal that killed the command")
        self.assertEqual(self.tok("exec", "-p", "ci", "--", "cat", stdin="from the caller\n", expect=0).stdout,
                         "from the caller\n")

    def test_exec_keeps_the_token_out_of_argv_and_leaves_the_commands_arguments_alone(self):
        proc = self.tok("exec", "-p", "ci", "--", "sh", "-c", 'tr "\\0" " " </proc/$$/cmdline; echo; echo "$@"', "sh",
                        "-p", "x", "--token-url", "y", "--", expect=0)
        cmdline, args = proc.stdout.splitlines()
        self.assertNotIn(self.token(), cmdline)
        self.assertEqual(args, "-p x --token-url y --")

    def test_no_token_no_command(self):
        marker = os.path.join(self.home, "ran")
        self.server.fault(status=401, json={"error": "invalid_client"})
        proc = self.tok("exec", "-p", "ci", "--", "touch", marker, expect=3)
        self.assertFalse(os.path.exists(marker))
        self.assertTrue(proc.stderr.startswith("tok: ci: "), proc.stderr)
        for bad in (["--env-name", "1BAD"], ["--env-name", "A-B"]):
            self.tok("exec", "-p", "ci", *bad, "--", "touch", marker, expect=2)
        self.tok("exec", "-p", "ci", expect=2)
        self.assertFalse(os.path.exists(marker))

    def test_a_command_that_cannot_be_found_or_run(self):
        proc = self.tok("exec", "-p", "ci", "--", "no-such-command-anywhere", expect=127)
        self.assertIn("cannot run 'no-such-command-anywhere'", proc.stderr)
        script = os.path.join(self.work, "not-executable")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n")
        proc = self.tok("exec", "-p", "ci", "--", script, expect=126)
        self.assertIn("Permission denied", proc.stderr)

    # -- env ------------------------------------------------------------------------------------

    def use_fancy_token(self):
        self.server.control(fields={"access_token": FANCY_TOKEN})

    def test_env_sh_is_read_back_exactly_by_sh_dash_and_bash(self):
        self.use_fancy_token()
        out = self.tok("env", "-p", "ci", expect=0).stdout
        self.assertEqual(out, f"export TOK_TOKEN='{FANCY_TOKEN}'\n")
        for shell in ("sh", "dash", "bash"):
            require_program(shell)
            proc = subprocess.run([shell, "-c", f'eval "$("{TOK}" env -p ci --env-name MY_TOKEN)"; '
                                                'printf %s "$MY_TOKEN"'],
                                  env=self.env, capture_output=True, text=True, timeout=60)
            self.assertEqual((proc.returncode, proc.stdout), (0, FANCY_TOKEN), f"{shell}: {proc.stderr}")

    def test_env_fish(self):
        self.use_fancy_token()
        fish = require_program("fish")
        self.assertEqual(self.tok("env", "-p", "ci", "--shell", "fish", expect=0).stdout,
                         f"set -gx TOK_TOKEN '{FANCY_TOKEN}'\n")
        proc = subprocess.run([fish, "--no-config", "-c", f"{TOK} env -p ci --shell fish | source; "
                                                          "printf %s $TOK_TOKEN"],
                              env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.stdout, FANCY_TOKEN, proc.stderr)

    def test_env_gitlab_is_a_dotenv_line(self):
        self.use_fancy_token()
        self.assertEqual(self.tok("env", "-p", "ci", "--shell", "gitlab", expect=0).stdout,
                         f"TOK_TOKEN={FANCY_TOKEN}\n")

    def test_env_github_masks_first_then_appends_to_github_env(self):
        token = self.token()
        path = os.path.join(self.home, "github_env")
        with open(path, "w") as f:
            f.write("EARLIER=1\n")
        proc = self.tok("env", "-p", "ci", "--shell", "github", env={**self.env, "GITHUB_ENV": path}, expect=0)
        self.assertEqual(proc.stdout, f"::add-mask::{token}\n")
        with open(path) as f:
            self.assertEqual(f.read(), f"EARLIER=1\nTOK_TOKEN={token}\n")

    def test_env_github_prints_the_mask_before_it_touches_github_env(self):
        # $GITHUB_ENV is a FIFO nobody reads yet: opening it for writing blocks. The mask must
        # already be on stdout by then, so it reaches the log before the value can.
        fifo = os.path.join(self.home, "github_env")
        os.mkfifo(fifo)
        p = subprocess.Popen([TOK, "env", "-p", "ci", "--shell", "github"], env={**self.env, "GITHUB_ENV": fifo},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            ready, _, _ = select.select([p.stdout], [], [], 30)
            self.assertTrue(ready, "no mask on stdout while $GITHUB_ENV was not open yet")
            first = p.stdout.readline().decode()
            self.assertTrue(first.startswith("::add-mask::"), first)
            with open(fifo) as f:
                line = f.read()
            self.assertEqual(line, f"TOK_TOKEN={first[len('::add-mask::'):].strip()}\n")
            self.assertEqual(p.wait(timeout=30), 0)
            self.assertEqual(p.stdout.read(), b"")
        finally:
            if p.poll() is None:
                p.kill()
            p.communicate()

    def test_env_usage_errors(self):
        env = {k: v for k, v in self.env.items() if k != "GITHUB_ENV"}
        proc = self.tok("env", "-p", "ci", "--shell", "github", env=env, expect=2)
        self.assertEqual(proc.stdout, "")
        self.assertIn("$GITHUB_ENV", proc.stderr)
        self.tok("env", "-p", "ci", "--shell", "csh", expect=2)
        self.tok("env", "-p", "ci", "--env-name", "TOK TOKEN", expect=2)
        self.tok("env", "-p", "ci", "--env-name", "X=Y", expect=2)
        self.assertEqual(self.server.token_requests, 0, "checked before any fetch")

    def test_exec_and_env_take_min_valid_and_force_refresh(self):
        first = self.token()
        # The token lives an hour: a deploy that needs 10 minutes keeps it, one that needs two
        # hours gets a new one before it starts.
        self.assertEqual(self.tok("exec", "-p", "ci", "--min-valid", "10m", "--", "sh", "-c", 'printf %s "$TOK_TOKEN"',
                                  expect=0).stdout, first)
        self.assertEqual(self.server.token_requests, 1)
        second = self.tok("exec", "-p", "ci", "--min-valid", "2h", "--", "sh", "-c", 'printf %s "$TOK_TOKEN"',
                          expect=0).stdout
        self.assertNotEqual(second, first)
        self.assertEqual(self.server.token_requests, 2)
        self.tok("env", "-p", "ci", "--force-refresh", expect=0)
        self.assertEqual(self.server.token_requests, 3)
        self.tok("env", "-p", "ci", "--min-valid", "30m", expect=0)
        self.assertEqual(self.server.token_requests, 3)
        proc = self.tok("exec", "-p", "ci", "--min-valid", "later", "--", "true", expect=2)
        self.assertIn("--min-valid", proc.stderr)
        self.assertEqual(self.server.token_requests, 3)

    def test_exec_keeps_the_profiles_secret_variables_from_the_command(self):
        # The command (often a third party's script in CI) gets the token, not what mints it: every
        # variable the profile reads a secret from goes, the rest of the environment stays.
        with open(self.config, "a") as f:
            f.write(f"\n[own]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n"
                    "client_secret_env = CI_DEPLOYER_SECRET\n")
        env = dict(self.env, CI_DEPLOYER_SECRET=SECRET, UNRELATED="kept")
        show = 'echo "${CI_DEPLOYER_SECRET+secret-set} ${TOK_CLIENT_SECRET+tok-secret-set} $UNRELATED ${TOK_TOKEN+token}"'
        proc = self.tok("exec", "-p", "own", "--", "sh", "-c", show, env=env, expect=0)
        self.assertEqual(proc.stdout, "  kept token\n")
        # $TOK_CLIENT_SECRET (the default client_secret_env) goes too, for a profile that reads it.
        proc = self.tok("exec", "-p", "ci", "--", "sh", "-c", show, env=env, expect=0)
        self.assertEqual(proc.stdout, "secret-set  kept token\n")
        # --keep-secret-env: the command gets them, as before.
        proc = self.tok("exec", "-p", "own", "--keep-secret-env", "--", "sh", "-c", show, env=env, expect=0)
        self.assertEqual(proc.stdout, "secret-set tok-secret-set kept token\n")

    def test_exec_keeps_a_federated_ci_id_token_from_the_command(self):
        self.server.control(accept_id_tokens=["eyJ.fake.jwt"])
        with open(self.config, "a") as f:
            f.write(f"\n[fed]\nprovider = oidc-federation\ntoken_url = {self.server.token_url}\n"
                    "id_token_source = gitlab\nid_token_env = GITLAB_OIDC_TOKEN\n")
        env = dict(self.env, GITLAB_OIDC_TOKEN="eyJ.fake.jwt")
        proc = self.tok("exec", "-p", "fed", "--", "sh", "-c", 'echo "${GITLAB_OIDC_TOKEN-unset} ${TOK_TOKEN+token}"',
                        env=env)
        self.assertEqual((proc.returncode, proc.stdout), (0, "unset token\n"), proc.stderr)

    # -- the README's snippets ------------------------------------------------------------------

    def deploy_script(self):
        """A ./deploy.sh that records the variables it was given."""
        record = os.path.join(self.home, "deploy.json")
        path = os.path.join(self.work, "deploy.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nprintf '{\"TOK_TOKEN\": \"%s\", \"API_TOKEN\": \"%s\"}\\n' "
                    f"\"$TOK_TOKEN\" \"$API_TOKEN\" >> {record}\n")
        os.chmod(path, 0o755)
        return record

    def records(self, path):
        with open(path) as f:
            return [json.loads(line) for line in f]

    def test_readme_exec_and_env_lines(self):
        record = self.deploy_script()
        block = readme_block("tok exec and tok env") + 'printf %s "$TOK_TOKEN"\n'
        proc = subprocess.run(["sh", "-ec", block], env=path_with_tok(self.env), cwd=self.work, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        token = self.token()
        self.assertEqual(proc.stdout, token)
        self.assertEqual(self.records(record), [{"TOK_TOKEN": token, "API_TOKEN": ""},
                                                {"TOK_TOKEN": "", "API_TOKEN": token}])

    def test_readme_github_actions_steps(self):
        record = self.deploy_script()
        steps = re.findall(r"^\s*run: (.+)$", readme_block("GitHub Actions steps"), re.M)
        self.assertEqual(len(steps), 3, steps)
        github_env = os.path.join(self.home, "github_env")
        open(github_env, "w").close()
        env = path_with_tok({**self.env, "GITHUB_ENV": github_env})
        outputs = []
        for step in steps:
            # What the runner does between steps: $GITHUB_ENV's lines join the environment.
            with open(github_env) as f:
                step_env = {**env, **dict(line.rstrip("\n").split("=", 1) for line in f if line.strip())}
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step], env=step_env,
                                  cwd=self.work, capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, f"{step}: {proc.stderr}")
            outputs.append(proc.stdout)
        token = self.token()
        self.assertEqual(outputs[0], f"::add-mask::{token}\n")
        self.assertEqual([r["TOK_TOKEN"] for r in self.records(record)], [token, token])

    def test_readme_gitlab_ci_jobs(self):
        record = self.deploy_script()
        block = readme_block("GitLab CI jobs")
        jobs = re.findall(r"^(\w+):\n  script:\n((?:    - .+\n)+)", block, re.M)
        self.assertEqual([name for name, _ in jobs], ["deploy", "token"])
        env = path_with_tok(self.env)
        for name, script in jobs:
            for line in re.findall(r"^    - (.+)$", script, re.M):
                proc = subprocess.run(["sh", "-ec", line], env=env, cwd=self.work, capture_output=True, text=True,
                                      timeout=60)
                self.assertEqual(proc.returncode, 0, f"{name}: {line}: {proc.stderr}")
        self.assertIn("dotenv: token.env", block)
        token = self.token()
        self.assertEqual([r["TOK_TOKEN"] for r in self.records(record)], [token])
        # A later job gets the dotenv report's variables; sourcing the file is the same reading.
        proc = subprocess.run(["sh", "-c", 'set -a; . ./token.env; printf %s "$TOK_TOKEN"'], cwd=self.work,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.stdout, token)


if __name__ == "__main__":
    unittest.main()

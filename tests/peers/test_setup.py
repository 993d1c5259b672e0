"""Peer test: `tok setup git|docker|kube|aws` (docs/integrations.md, "tok setup"), each read back
by the real program: `git credential fill`, the Docker CLI against a loopback registry, kubectl
(`config view` and a request to a loopback API server), the AWS CLI's `configure
export-credentials`. Each is run twice (the second changes nothing, byte for byte) and removed
(the file as it was before). Everything lives in a throw-away home whose path has a blank, and
the tok that writes is a copy in a directory with a blank ("my bin"), so every path written has
to be quoted for its reader."""
import json
import os
import shutil
import stat
import subprocess
import unittest

import test_docker
import test_kubectl
from aws_support import SECRET_ACCESS_KEY, SESSION_TOKEN, access_key_id, helper_runs, write_helper
from harness import TOK, TokCase, require_program
from tls import Pki

AWS = "/usr/bin/aws"  # Debian's AWS CLI v2 (another aws may come first on PATH)


class SetupCase(TokCase):
    def setUp(self):
        super().setUp()
        self.git = require_program("git")
        self.root = os.path.join(self.home, "my home")
        os.makedirs(os.path.join(self.root, ".config", "tok"))
        # A copy of tok in a directory with a blank, its modules beside it (core/module.cpp
        # looks next to the real program), docker-credential-tok a link to it.
        self.bin = os.path.join(self.home, "my bin")
        os.mkdir(self.bin)
        self.tok = os.path.join(self.bin, "tok")
        shutil.copy2(TOK, self.tok)
        build = os.path.dirname(os.path.abspath(TOK))
        for name in os.listdir(build):
            if name.startswith("tok-") and name.endswith(".so"):
                os.symlink(os.path.join(build, name), os.path.join(self.bin, name))
        os.symlink("tok", os.path.join(self.bin, "docker-credential-tok"))
        self.helper_dir = os.path.join(self.home, "helper")
        os.mkdir(self.helper_dir)
        write_helper(self.helper_dir)
        self.registry_host = "registry.example.com"
        self.write_tok_config()
        self.system_path = "/usr/local/bin:/usr/bin:/bin"
        base = {k: v for k, v in self.env.items()
                if k not in ("KUBECONFIG", "DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CONTEXT", "GIT_CONFIG_GLOBAL",
                             "GIT_CONFIG_SYSTEM") and not k.startswith(("AWS_", "GIT_CONFIG"))}
        base.update({"HOME": self.root, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                     "AWS_CONFIG_FILE": os.path.join(self.root, "aws files", "config"),
                     "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.root, "aws-credentials"),
                     "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
                     "DOCKER_CONFIG": os.path.join(self.root, "docker config"),
                     "KUBECONFIG": os.path.join(self.root, "kube files", "config")})
        # Without tok on PATH: tok setup writes the copy's absolute path.
        self.env = dict(base, PATH=self.system_path)
        # With it first on PATH: tok setup writes `tok`.
        self.env_on_path = dict(base, PATH=self.bin + os.pathsep + self.system_path)

    def write_tok_config(self, extra=""):
        with open(os.path.join(self.root, ".config", "tok", "config"), "w") as f:
            f.write(f"[work]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = setup\n"
                    f"git_hosts = git.example.com, code.example.com/org\n"
                    f"docker_registries = {self.registry_host}\n{extra}\n"
                    f"[aws]\nprovider = command\ncommand = {os.path.join(self.helper_dir, 'aws-helper')}\n")

    def setup(self, *args, env=None, expect=0):
        proc = subprocess.run([self.tok, "setup", *args], env=env or self.env, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, expect, f"tok setup {args}: {proc.stdout}{proc.stderr}")
        return proc

    def token(self, profile="work"):
        proc = subprocess.run([self.tok, "get", "-p", profile], env=self.env, capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def twice_then_remove(self, path, args, before, env=None, check=None):
        """Sets up, checks with `check`, sets up again (no change, same bytes), removes (the bytes
        of `before`, or no file when it is None) and removes again (no change)."""
        first = self.setup(*args, env=env)
        self.assertIn("changed", first.stdout)
        self.assertIn("undo: tok setup", first.stdout)
        written = self.read(path)
        if check:
            check()
        second = self.setup(*args, env=env)
        self.assertIn("no change", second.stdout)
        self.assertEqual(self.read(path), written, "a second run changed the file")
        removed = self.setup(*args, "--remove", env=env)
        self.assertIn("changed", removed.stdout)
        self.assertEqual(self.read(path), before, "--remove gave back another file")
        self.assertIn("no change", self.setup(*args, "--remove", env=env).stdout)
        return first


class SetupGit(SetupCase):
    def gitconfig(self):
        return os.path.join(self.root, ".gitconfig")

    def fill(self, host, path=None):
        request = f"protocol=https\nhost={host}\n" + (f"path={path}\n" if path else "") + "\n"
        return subprocess.run([self.git, "credential", "fill"], input=request, env=self.env, capture_output=True,
                              text=True, timeout=60)

    def test_git_credential_fill_asks_tok_for_each_host_and_remove_restores_the_file(self):
        before = b"# mine\n[user]\n\tname = Someone\n[credential]\n\thelper = cache --timeout 60\n"
        with open(self.gitconfig(), "wb") as f:
            f.write(before)

        def check():
            token = self.token()
            for host, path in (("git.example.com", None), ("code.example.com", "org/repo.git")):
                proc = self.fill(host, path)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn(f"password={token}\n", proc.stdout)
                self.assertIn("username=x-access-token\n", proc.stdout)
            # Outside the prefix, tok is not asked (git has no other helper that answers here).
            self.assertNotIn(token, self.fill("code.example.com", "other/repo.git").stdout)
            # The copy's path, with its blank, quoted for the shell git runs the helper with.
            values = subprocess.run([self.git, "config", "--global", "-z", "--get-all",
                                     "credential.https://git.example.com.helper"], env=self.env, capture_output=True,
                                    text=True, check=True).stdout.split("\0")
            self.assertEqual(values, ["", f"!'{self.tok}' git-credential -p work", ""])

        first = self.twice_then_remove(self.gitconfig(), ("git", "-p", "work"), before, check=check)
        self.assertIn("credential.https://code.example.com/org.useHttpPath true", first.stdout)
        self.assertEqual(self.server.token_requests, 1, "git's token is tok get's: one cache")

    def test_dry_run_writes_nothing_and_another_helper_is_left_alone(self):
        path = os.path.join(self.home, "other gitconfig")
        proc = self.setup("git", "-p", "work", "--file", path, "--dry-run")
        self.assertIn("would change", proc.stdout)
        self.assertIn("--add credential.https://git.example.com.helper", proc.stdout)
        self.assertFalse(os.path.exists(path))
        subprocess.run([self.git, "config", "--file", path, "credential.https://git.example.com.helper", "store"],
                       check=True)
        before = self.read(path)
        proc = self.setup("git", "-p", "work", "--file", path, expect=2)
        self.assertIn("tok leaves it", proc.stderr)
        self.assertEqual(self.read(path), before)


class SetupDocker(SetupCase):
    def setUp(self):
        super().setUp()
        self.docker = require_program("docker")
        pki = Pki(os.path.join(self.home, "pki"))
        self.registry = test_docker.Registry(pki.context("good"))
        self.addCleanup(self.registry.stop)
        self.registry_host = self.registry.host
        self.write_tok_config()
        self.docker_dir = self.env["DOCKER_CONFIG"]
        os.makedirs(self.docker_dir)
        self.config = os.path.join(self.docker_dir, "config.json")
        for env in (self.env, self.env_on_path):
            env["SSL_CERT_FILE"] = pki.ca

    def test_docker_reads_the_merged_credhelpers_and_remove_restores_the_file(self):
        existing = {"auths": {"other.example.com": {"auth": "dXNlcjpwYXNz"}},
                    "credHelpers": {"gcr.io": "gcloud"}, "psFormat": "table {{.ID}}",
                    "x-unknown": {"nested": [1, True, None]}}
        before = (json.dumps(existing, indent="\t") + "\n").encode()
        with open(self.config, "wb") as f:
            f.write(before)
        os.chmod(self.config, 0o640)

        def check():
            merged = json.loads(self.read(self.config))
            self.assertEqual(merged["credHelpers"], {"gcr.io": "gcloud", self.registry.host: "tok"})
            self.assertEqual({k: v for k, v in merged.items() if k != "credHelpers"},
                             {k: v for k, v in existing.items() if k != "credHelpers"})
            self.assertEqual(stat.S_IMODE(os.stat(self.config).st_mode), 0o640, "the file's mode is kept")
            proc = subprocess.run([self.docker, "manifest", "inspect", f"{self.registry.host}/team/app:1"],
                                  env=self.env_on_path, capture_output=True, text=True, timeout=60)
            self.assertIn("no such manifest", proc.stderr + proc.stdout)
            self.assertIn(f"oauth2accesstoken:{self.token()}", self.registry.credentials)

        self.twice_then_remove(self.config, ("docker", "-p", "work"), before, env=self.env_on_path, check=check)
        self.assertEqual(sorted(os.listdir(self.docker_dir)), ["config.json"], "no temporary file left")

    def test_a_file_docker_cannot_read_is_left_alone(self):
        for text in (b'{"auths": {', b'{"credHelpers": ["x"]}'):
            with open(self.config, "wb") as f:
                f.write(text)
            proc = self.setup("docker", "-p", "work", env=self.env_on_path, expect=2)
            self.assertIn(self.config, proc.stderr)
            self.assertIn("left as it is", proc.stderr)
            self.assertEqual(self.read(self.config), text)

    def test_a_new_file_is_made_with_mode_0600(self):
        self.setup("docker", "-p", "work", env=self.env_on_path)
        self.assertEqual(json.loads(self.read(self.config)), {"credHelpers": {self.registry.host: "tok"}})
        self.assertEqual(stat.S_IMODE(os.stat(self.config).st_mode), 0o600)


class SetupKube(SetupCase):
    def setUp(self):
        super().setUp()
        self.kubectl = require_program("kubectl")
        openssl = require_program("openssl")
        cert, key = os.path.join(self.home, "cert.pem"), os.path.join(self.home, "key.pem")
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.api = test_kubectl.ApiServer(cert, key)
        self.addCleanup(self.api.stop)
        self.kubeconfig = self.env["KUBECONFIG"]
        os.makedirs(os.path.dirname(self.kubeconfig))
        # A kubeconfig with other users and contexts, written by kubectl itself.
        for args in (("set-cluster", "loopback", f"--server={self.api.url}", "--insecure-skip-tls-verify=true"),
                     ("set-credentials", "someone", "--token=not-tok"),
                     ("set-context", "loopback", "--cluster=loopback", "--user=someone"),
                     ("set-context", "elsewhere", "--cluster=loopback", "--user=someone"),
                     ("use-context", "loopback")):
            self.kubectl_run("config", *args)

    def kubectl_run(self, *args, check=True):
        proc = subprocess.run([self.kubectl, *args], env=self.env_on_path, capture_output=True, text=True,
                              timeout=60)
        if check:
            self.assertEqual(proc.returncode, 0, f"kubectl {args}: {proc.stderr}")
        return proc

    def view(self):
        return json.loads(self.kubectl_run("config", "view", "--raw", "-o", "json").stdout)

    def test_kubectl_reads_the_user_and_remove_restores_the_file(self):
        before = self.read(self.kubeconfig)

        def check():
            config = self.view()
            users = {u["name"]: u["user"] for u in config["users"]}
            self.assertEqual(users["someone"], {"token": "not-tok"})
            exec_ = users["tok-work"]["exec"]
            self.assertEqual((exec_["apiVersion"], exec_["command"], exec_["args"], exec_["interactiveMode"]),
                             ("client.authentication.k8s.io/v1", "tok", ["kube-credential", "-p", "work"], "Never"))
            self.assertEqual(sorted(c["name"] for c in config["contexts"]), ["elsewhere", "loopback"])

        self.twice_then_remove(self.kubeconfig, ("kube", "-p", "work"), before, env=self.env_on_path, check=check)

    def test_context_points_at_the_user_and_kubectl_gets_tok_token(self):
        before = self.read(self.kubeconfig)
        # Without tok on PATH: the copy's absolute path, a blank in it, as kubectl's command.
        first = self.setup("kube", "-p", "work", "--context", "loopback", "--name", "tok user")
        self.assertIn("context loopback named the user someone before", first.stdout)
        users = {u["name"]: u["user"] for u in self.view()["users"]}
        self.assertEqual(users["tok user"]["exec"]["command"], self.tok)
        self.api.accepted = self.token()
        proc = self.kubectl_run("get", "--raw", "/version", check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["gitVersion"], test_kubectl.VERSION["gitVersion"])
        self.assertIn(f"Bearer {self.api.accepted}", self.api.authorizations)
        written = self.read(self.kubeconfig)
        self.assertIn("no change", self.setup("kube", "-p", "work", "--context", "loopback", "--name", "tok user").stdout)
        self.assertEqual(self.read(self.kubeconfig), written)
        self.setup("kube", "-p", "work", "--context", "loopback", "--name", "tok user", "--remove")
        config = self.view()
        self.assertNotIn("tok user", [u["name"] for u in config["users"]])
        # The context's user before tok, as the first run said, gives back the file.
        self.kubectl_run("config", "set-context", "loopback", "--user=someone")
        self.assertEqual(self.read(self.kubeconfig), before)

    def test_a_user_tok_did_not_write_and_a_missing_context_are_refused(self):
        before = self.read(self.kubeconfig)
        proc = self.setup("kube", "-p", "work", "--name", "someone", expect=2)
        self.assertIn("tok setup did not write", proc.stderr)
        proc = self.setup("kube", "-p", "work", "--context", "nowhere", expect=2)
        self.assertIn("no context nowhere", proc.stderr)
        self.assertEqual(self.read(self.kubeconfig), before)


class SetupAws(SetupCase):
    def setUp(self):
        super().setUp()
        if not os.access(AWS, os.X_OK):
            self.fail(f"{AWS} is missing: scripts/install-deps.sh installs Debian's awscli")
        self.config = self.env["AWS_CONFIG_FILE"]
        os.makedirs(os.path.dirname(self.config))
        with open(self.env["AWS_SHARED_CREDENTIALS_FILE"], "w"):
            pass

    def export(self, name):
        proc = subprocess.run([AWS, "configure", "export-credentials", "--profile", name, "--format", "process"],
                              env=self.env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def test_the_aws_cli_runs_tok_for_the_profile_and_remove_restores_the_file(self):
        before = (b"# my AWS settings ; keep\n[default]\nregion = us-east-1\n; a comment\n\n"
                  b"[profile prod]\nregion = eu-west-1 # inline\n")
        with open(self.config, "wb") as f:
            f.write(before)

        def check():
            out = self.export("my dev")
            self.assertEqual((out["AccessKeyId"], out["SecretAccessKey"], out["SessionToken"]),
                             (access_key_id(1), SECRET_ACCESS_KEY, SESSION_TOKEN))
            self.assertEqual(self.export("my dev")["AccessKeyId"], access_key_id(1))
            self.assertEqual(helper_runs(self.helper_dir), 1, "the second aws run took tok's cached credential")

        first = self.twice_then_remove(self.config, ("aws", "-p", "aws", "--name", "my dev"), before, check=check)
        self.assertIn(f"credential_process = '{self.tok}' get -p aws --format credential-process", first.stdout)
        self.assertIn('[profile "my dev"]', first.stdout)

    def test_a_newline_is_refused_and_another_credential_source_is_left_alone(self):
        proc = self.setup("aws", "-p", "aws", "--name", "a\nb", expect=2)
        self.assertFalse(os.path.exists(self.config))
        before = b"[profile dev]\nsso_session = corp\n"
        with open(self.config, "wb") as f:
            f.write(before)
        proc = self.setup("aws", "-p", "aws", "--name", "dev", expect=2)
        self.assertIn("another way (sso_session)", proc.stderr)
        self.assertEqual(self.read(self.config), before)


if __name__ == "__main__":
    unittest.main()

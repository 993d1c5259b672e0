"""Peer test: real git with tok as its credential helper, set up with the README's own lines.

`git credential fill/approve/reject` and a real clone and ls-remote over HTTP from a loopback
server (git's own `git http-backend` behind tests/support/git_http_server.py) that accepts only
the token the test says is current."""
import json
import os
import subprocess
import unittest

from git_http_server import GitHttpServer
from harness import TOK, TokCase, path_with_tok, readme_block, require_program


class GitPeer(TokCase):
    def setUp(self):
        super().setUp()
        self.git = require_program("git")
        self.config = os.path.join(self.home, "config")
        env = {k: v for k, v in self.env.items() if not k.startswith(("GIT_", "SSH_ASKPASS"))}
        env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache, "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_TERMINAL_PROMPT": "0"})
        self.env = path_with_tok(env)
        self.tok = TOK

    def write_config(self, **profiles):
        with open(self.config, "w") as f:
            for name, keys in profiles.items():
                f.write(f"[{name}]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = {name}\n")
                for k, v in keys.items():
                    f.write(f"{k} = {v}\n")

    def sh(self, script):
        proc = subprocess.run(["sh", "-ec", script], env=self.env, cwd=self.home, capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def git_run(self, *args, stdin=None, expect=0, cwd=None):
        proc = subprocess.run([self.git, *args], input=stdin, env=self.env, cwd=cwd or self.home,
                              capture_output=True, text=True, timeout=60)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, f"git {' '.join(args)}: {proc.stderr}")
        return proc

    def fill(self, host, protocol="https"):
        out = self.git_run("credential", "fill", stdin=f"protocol={protocol}\nhost={host}\n\n").stdout
        return dict(line.split("=", 1) for line in out.splitlines())

    def tok_get(self, profile):
        proc = self.run_tok("get", "-p", profile)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def test_fill_is_cached_and_reject_makes_the_next_fill_fetch_a_new_token(self):
        self.write_config(work={})
        self.sh(readme_block("git: one profile for one host"))
        first = self.fill("git.example.com")
        self.assertEqual(first["username"], "x-access-token")
        self.assertEqual(first["password"], self.tok_get("work"), "git and tok get share one cache")
        self.assertEqual(self.fill("git.example.com")["password"], first["password"])
        self.assertEqual(self.server.token_requests, 1, "the second fill is a cache hit")
        # The server said no: git rejects the credential, every helper is told to erase it.
        answer = "".join(f"{k}={v}\n" for k, v in first.items()) + "\n"
        self.git_run("credential", "reject", stdin=answer)
        second = self.fill("git.example.com")
        self.assertNotEqual(second["password"], first["password"])
        self.assertEqual(self.server.token_requests, 2)
        # approve (git's store) changes nothing.
        self.git_run("credential", "approve", stdin="".join(f"{k}={v}\n" for k, v in second.items()) + "\n")
        self.assertEqual(self.fill("git.example.com")["password"], second["password"])
        self.assertEqual(self.server.token_requests, 2)

    def test_hosts_no_profile_names_fall_through_to_the_next_helper(self):
        self.write_config(work={"git_hosts": "git.example.com, code.example.com/org"})
        self.sh(readme_block("git: one helper for every host in git_hosts"))
        self.git_run("config", "--global", "--add", "credential.helper",
                     "!f() { test \"$1\" = get && echo username=next && echo password=from-the-next-helper; }; f")
        self.assertEqual(self.fill("git.example.com")["password"], self.tok_get("work"))
        self.assertEqual(self.fill("elsewhere.example.com")["password"], "from-the-next-helper")
        # The README turns on useHttpPath, so git sends the path the prefix needs.
        out = self.git_run("credential", "fill", stdin="url=https://code.example.com/org/repo.git\n\n").stdout
        self.assertIn(f"password={self.tok_get('work')}", out)
        out = self.git_run("credential", "fill", stdin="url=https://code.example.com/other/repo.git\n\n").stdout
        self.assertIn("password=from-the-next-helper", out)

    def test_a_user_name_with_a_line_break_never_reaches_git(self):
        # git reads the answer line by line: a line break in git_username would give git a line
        # of tok's choosing (here a second username). tok refuses the value; git gets no answer.
        self.write_config(work={})
        wrapper = os.path.join(self.home, "helper.sh")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nexec tok -p work git-credential --git-username "$(printf \'x\\nusername=evil\')" "$@"\n')
        os.chmod(wrapper, 0o755)
        proc = self.git_run("-c", "credential.helper=", "-c", f"credential.helper={wrapper}", "credential", "fill",
                            stdin="protocol=https\nhost=git.example.com\n\n", expect=None)
        self.assertNotIn("evil", proc.stdout)
        self.assertNotIn("password=", proc.stdout, "git got an answer from a helper that should have refused")
        self.assertIn("git_username", proc.stderr)
        self.assertIn("line break", proc.stderr)
        self.assertEqual(self.server.token_requests, 0)
        # A config file cannot hold a line break, but a CR or a NUL in a value is refused as well.
        for value in ("x\rusername=evil", "x\0evil"):
            with self.subTest(value=repr(value)):
                with open(self.config, "a") as f:
                    f.write(f"[other]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = o\n"
                            f"git_hosts = git.example.com\ngit_username = {value}\n")
                proc = self.git_run("-c", "credential.helper=", "-c", "credential.helper=!tok git-credential",
                                    "credential", "fill", stdin="protocol=https\nhost=git.example.com\n\n", expect=None)
                self.assertNotIn("evil", proc.stdout)
                self.assertNotIn("password=", proc.stdout)
                self.assertIn("key 'git_username'", proc.stderr)
                self.write_config(work={})

    def make_repository(self):
        root = os.path.join(self.home, "srv")
        work = os.path.join(self.home, "work")
        os.makedirs(root)
        self.git_run("init", "-q", "--bare", "-b", "main", os.path.join(root, "repo.git"))
        self.git_run("init", "-q", "-b", "main", work)
        with open(os.path.join(work, "README"), "w") as f:
            f.write("hello from the loopback forge\n")
        self.git_run("add", "README", cwd=work)
        self.git_run("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first", cwd=work)
        self.git_run("push", "-q", os.path.join(root, "repo.git"), "main", cwd=work)
        return root

    def test_clone_and_ls_remote_over_http_with_the_current_token_only(self):
        with GitHttpServer(self.make_repository()) as forge:
            self.write_config(work={"git_hosts": forge.host})
            self.sh(readme_block("git: one helper for every host in git_hosts"))
            token = self.tok_get("work")
            forge.accept(token)
            self.git_run("clone", "-q", f"{forge.url}/repo.git", "clone")
            with open(os.path.join(self.home, "clone", "README")) as f:
                self.assertEqual(f.read(), "hello from the loopback forge\n")
            self.assertIn(token, forge.passwords_seen)

            # The forge stops accepting that token: git fails cleanly, and its reject expires it.
            forge.accept("a-token-tok-never-had")
            proc = self.git_run("ls-remote", f"{forge.url}/repo.git", expect=128)
            self.assertIn("Authentication failed", proc.stderr)
            self.assertNotIn(token, proc.stderr)
            self.assertEqual(self.status_state("work"), "expired")

            # The next use fetches a new token, which the forge accepts once it is current.
            forge.accept(self.tok_get("work"))
            proc = self.git_run("ls-remote", f"{forge.url}/repo.git")
            self.assertIn("refs/heads/main", proc.stdout)
            self.assertEqual(self.server.token_requests, 2)

    def test_an_https_entry_never_yields_a_token_to_an_http_remote(self):
        with GitHttpServer(self.make_repository()) as forge:
            # A remote host name that is not loopback, reached over plain http: curl resolves it
            # to the loopback forge (http.curloptResolve), git asks the helpers for that name.
            name = "git.example.com:" + forge.host.rsplit(":", 1)[1]
            resolve = ["-c", f"http.curloptResolve={name}:127.0.0.1"]
            remote = f"http://{name}/repo.git"
            self.sh(readme_block("git: one helper for every host in git_hosts"))
            for entry in (name, f"https://{name}"):
                self.write_config(work={"git_hosts": entry})
                forge.accept(self.tok_get("work"))
                proc = self.git_run(*resolve, "ls-remote", remote, expect=128)
                self.assertEqual(forge.passwords_seen, [], f"{entry}: a token went out over http")
                self.assertNotIn(self.tok_get("work"), proc.stderr)
            # With -p (the README's one-profile form) the scheme rule holds too.
            self.git_run("config", "--global", "--unset-all", "credential.helper")
            self.git_run("config", "--global", f"credential.http://{name}.helper", "!tok git-credential -p work")
            self.git_run(*resolve, "ls-remote", remote, expect=128)
            self.assertEqual(forge.passwords_seen, [])
            # An entry that says http:// is the user's choice: served.
            self.git_run("config", "--global", "--remove-section", f"credential.http://{name}")
            self.git_run("config", "--global", "credential.helper", "!tok git-credential")
            self.write_config(work={"git_hosts": f"http://{name}"})
            token = self.tok_get("work")
            proc = self.git_run(*resolve, "ls-remote", remote)
            self.assertIn("refs/heads/main", proc.stdout)
            self.assertEqual(set(forge.passwords_seen), {token})

    def test_git_and_tok_read_the_same_host_from_each_tricky_url(self):
        self.write_config(work={"git_hosts": "git.example.com/org, git.example.com:8443"})
        recorded = os.path.join(self.home, "recorded")
        urls = ["https://evil.test#@git.example.com/", "https://evil.test?@git.example.com/",
                "https://evil.test\\@git.example.com/", "https://evil.test/@git.example.com/",
                "https://git.example.com/org/../evil/repo.git", "https://git.example.com/org/%2e%2e/evil/repo.git",
                "https://git.example.com/org/./repo.git", "https://u%40x@git%2eexample.com/org/repo.git",
                "https://git%2eexample.com:8443/org/repo.git", "https://user@git.example.com:8443/x",
                "https://[::1]:8443/org/repo.git", "https://a@b@git.example.com/", "http://git.example.com/org/repo.git"]
        token = self.tok_get("work")
        for url in urls:
            with self.subTest(url=url):
                # git's reading: what it sends a helper that records its request.
                if os.path.exists(recorded):
                    os.unlink(recorded)
                self.git_run("-c", "credential.helper=", "-c", f"credential.helper=!f() {{ cat > '{recorded}'; }}; f",
                             "-c", "credential.useHttpPath=true", "credential", "fill", stdin=f"url={url}\n\n",
                             expect=None)
                with open(recorded) as f:
                    sent = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
                # tok's reading of the very same url= line.
                proc = subprocess.run([self.tok, "git-credential", "-v", "get"], input=f"url={url}\n\n", env=self.env,
                                      capture_output=True, text=True, timeout=60)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                line = next(l for l in proc.stderr.splitlines() if "request: protocol" in l)
                self.assertIn(f"protocol '{sent.get('protocol', '')}' host '{sent.get('host', '')}' "
                              f"path '{sent.get('path', '')}'", line)
                # And tok as git's helper: a token exactly where git's host is one of the profile's.
                out = self.git_run("-c", "credential.helper=", "-c", "credential.helper=!tok git-credential",
                                   "-c", "credential.useHttpPath=true", "credential", "fill", stdin=f"url={url}\n\n",
                                   expect=None).stdout
                host, segments = sent.get("host"), [p for p in sent.get("path", "").split("/") if p not in ("", ".")]
                ours = sent.get("protocol") == "https" and (
                    host == "git.example.com:8443" or
                    (host == "git.example.com" and segments[:1] == ["org"] and ".." not in segments))
                self.assertEqual(f"password={token}" in out, ours, out)

    def status_state(self, profile):
        proc = self.run_tok("status", "-p", profile, "--format", "json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)["state"]


if __name__ == "__main__":
    unittest.main()

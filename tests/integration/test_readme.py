"""The README is true: a test walks its code blocks.

- The transcript is what tok prints today: scripts/transcript.py runs the story again against a
  loopback token server and compares, blanking only times, durations, ports and tokens.
- Every other block has a title (its first line `# title`, or `<!-- title -->` just above it) and
  is run, either here (install, the first profile and token, every day, ...) or by the test that
  names it with readme_block("title") (git, Docker, kubectl, CI, completions).
- Every `tok` command line in a shell block uses a command and flags tok has.
"""
import os
import re
import shlex
import subprocess
import sys
import unittest

from harness import README, ROOT, TOK, TokCase, path_with_tok, readme_block

BEGIN = "<!-- transcript: begin"
END = "<!-- transcript: end -->"
# Blocks this file runs itself; every other titled block must be named by some test.
RUN_HERE = {"install", "first profile", "first token", "without a config file", "every day"}
# Blocks whose tok lines are only checked against the help here: `tok serve` runs in the
# foreground (tests/integration/test_serve.py and tests/peers/test_sdk_clients.py run it with
# the same flags and variables).
CHECKED_HERE = {"tok serve for the SDKs"}


def blocks(path):
    """[(title or None, info string, body, line number)] of a Markdown file's fenced blocks, the
    transcript (between its markers) left out."""
    with open(path) as f:
        lines = f.read().split("\n")
    found = []
    i = 0
    in_transcript = False
    while i < len(lines):
        line = lines[i]
        if line.startswith(BEGIN):
            in_transcript = True
        elif line.startswith(END):
            in_transcript = False
        if line.startswith("```"):
            info = line[3:].strip()
            body = []
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                body.append(lines[j])
                j += 1
            if not in_transcript:
                title = None
                if body and body[0].startswith("# "):
                    title = body[0][2:].strip()
                elif i > 0 and re.fullmatch(r"<!-- (.+) -->", lines[i - 1].strip()):
                    title = re.fullmatch(r"<!-- (.+) -->", lines[i - 1].strip()).group(1)
                found.append((title, info, "\n".join(body), i + 1))
            i = j
        i += 1
    return found


def test_sources():
    text = []
    for folder in ("integration", "peers"):
        directory = os.path.join(ROOT, "tests", folder)
        for name in sorted(os.listdir(directory)):
            if name.endswith(".py"):
                with open(os.path.join(directory, name)) as f:
                    text.append(f.read())
    return "\n".join(text)


def shell_lines(body):
    """The block's lines with continuations joined, comments (after whitespace) and blanks dropped."""
    joined = body.replace("\\\n", " ")
    out = []
    for line in joined.split("\n"):
        line = re.split(r"\s+#\s", " " + line, maxsplit=1)[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


class ReadmeTranscript(unittest.TestCase):
    def test_the_transcript_is_current(self):
        proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "transcript.py"), "--tok", TOK,
                               "--check", README], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class ReadmeBlocks(TokCase):
    def setUp(self):
        super().setUp()
        self.env = path_with_tok(self.env)
        self.config = os.path.join(self.home, "config")
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache})

    def loopback(self, text):
        return text.replace("https://login.example.com/oauth2/token", self.server.token_url)

    def sh(self, script, expect=0):
        proc = subprocess.run(["sh", "-ec", script], env=self.env, cwd=self.home, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, expect, f"{script}\nstdout={proc.stdout}\nstderr={proc.stderr}")
        return proc

    def write_first_profile(self):
        with open(self.config, "w") as f:
            f.write(self.loopback(readme_block("first profile")))

    # -- every block is accounted for -----------------------------------------------------------

    def test_every_block_has_a_title_and_a_test_that_runs_it(self):
        sources = test_sources()
        titles = []
        for title, info, _, line in blocks(README):
            self.assertIsNotNone(title, f"README.md line {line}: a block without a title (# title or <!-- title -->)")
            titles.append(title)
            if title in RUN_HERE | CHECKED_HERE:
                continue
            self.assertIn(f'readme_block("{title}")', sources, f"README.md line {line}: no test runs the block {title!r}")
        self.assertEqual(len(titles), len(set(titles)), "block titles are unique")
        self.assertLessEqual(RUN_HERE | CHECKED_HERE, set(titles), "a block this test runs is gone from the README")

    def test_the_first_screen_holds_install_a_profile_and_tok_get(self):
        with open(README) as f:
            first = "\n".join(f.read().split("\n")[:60])
        self.assertIn("make install", first)
        self.assertIn("make try", first)
        self.assertIn("~/.local/bin", first, "where tok is installed, and that it must be on PATH")
        self.assertIn("provider = oauth", first)
        self.assertIn("\ntok get ", first)
        with open(README) as f:
            self.assertLess(len(f.read().split("\n")), 350, "the README stays short: details go to docs/")

    def test_links_stay_inside_the_repository(self):
        for path in [README] + [os.path.join(ROOT, "docs", n) for n in os.listdir(os.path.join(ROOT, "docs"))
                                if n.endswith(".md")]:
            with open(path) as f:
                text = f.read()
            for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
                if target.startswith(("http://", "https://")):
                    continue
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), target))
                self.assertTrue(resolved.startswith(ROOT + os.sep), f"{path} links outside the repository: {target}")
                self.assertTrue(os.path.exists(resolved), f"{path} links to a missing file: {target}")

    # -- the blocks this file runs --------------------------------------------------------------

    def test_install_block_names_real_targets(self):
        with open(os.path.join(ROOT, "Makefile")) as f:
            phony = re.search(r"^\.PHONY:(.*)$", f.read(), re.M).group(1).split()
        for line in shell_lines(readme_block("install")):
            words = shlex.split(line)
            if words[0] == "make":
                targets = [w for w in words[1:] if "=" not in w]
                self.assertTrue(targets and all(t in phony for t in targets), line)
            else:
                self.assertEqual(words[0], "scripts/install-deps.sh", line)
                proc = subprocess.run([os.path.join(ROOT, words[0]), *words[1:], "--list"], capture_output=True,
                                      text=True, timeout=60)
                self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_first_profile_and_first_token(self):
        self.write_first_profile()
        proc = self.sh(readme_block("first token"))
        lines = proc.stdout.splitlines()
        self.assertRegex(lines[0], r"^\S+$", "tok get: the token and a newline")
        self.assertEqual(lines[1], f"Authorization: Bearer {lines[0]}")
        self.assertRegex(proc.stdout, r"\* default\s+oauth\s+fresh\s+in ")
        self.assertEqual(self.server.token_requests, 1, "one fetch, then the cache")

    def test_without_a_config_file_and_tok_init(self):
        self.env["CI_DEPLOYER_SECRET"] = "x"
        proc = self.sh(self.loopback(readme_block("without a config file")))
        self.assertIn("wrote profile 'default'", proc.stdout)
        with open(self.config) as f:
            written = f.read()
        self.assertIn("provider = oauth", written)
        self.assertEqual(os.stat(self.config).st_mode & 0o777, 0o600)
        # What tok init wrote works as it is: listed without error, and a token from it.
        proc = self.sh("tok profiles --format json")
        self.assertIn('"error": null', proc.stdout)
        self.sh("tok clear --all")
        self.assertRegex(self.sh("tok get").stdout, r"^\S+\n$")

    def test_every_day(self):
        self.write_first_profile()
        self.env["CI_DEPLOYER_SECRET"] = "x"
        for line in shell_lines(readme_block("every day")):
            proc = self.sh(line)
            self.assertNotIn("tok: hint", proc.stderr, line)

    def test_every_tok_line_uses_real_commands_and_flags(self):
        key_flags = set(re.findall(r"(--[a-z][a-z-]*)", self.sh("tok help keys").stdout))
        global_flags = {"-p", "--profile", "--config", "--cache-dir", "-v", "--verbose", "-q", "--quiet"}
        helps = {}
        checked = 0
        for title, info, body, line in blocks(README):
            if info != "sh":
                continue
            for command_line in shell_lines(body):
                for match in re.finditer(r"(?:^|[\s'\"!(])tok\s+([^'\"|;)]*)", command_line):
                    words = match.group(1).split()
                    command = next((w for i, w in enumerate(words) if not w.startswith("-")
                                    and (i == 0 or words[i - 1] not in ("-p", "--profile", "--config", "--cache-dir"))),
                                   None)
                    self.assertIsNotNone(command, command_line)
                    if command not in helps:
                        proc = subprocess.run([TOK, command, "--help"], capture_output=True, text=True)
                        self.assertEqual(proc.returncode, 0, f"{title}: no command {command!r}")
                        helps[command] = set(re.findall(r"(--?[a-z][a-z-]*)", proc.stdout))
                    for flag in (w.split("=")[0] for w in words if w.startswith("-") and w != "--"):
                        self.assertIn(flag, helps[command] | key_flags | global_flags, f"{title}: {command_line}")
                    checked += 1
        self.assertGreater(checked, 20)


if __name__ == "__main__":
    unittest.main()
